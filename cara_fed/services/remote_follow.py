"""Following an artist from another server (the "Follow from your server" button): the visitor gives their
handle, their server's WebFinger says where it lets its users subscribe (the OStatus subscribe template,
``{"rel": "http://ostatus.org/schema/1.0/subscribe",
"template": "https://their.server/authorize_interaction?uri={uri}"}``, as Mastodon, Pleroma, Akkoma,
Misskey and GoToSocial publish), and the visitor is sent there with our actor's URI. Mastodon's own button
does the same (app/javascript/mastodon/features/interaction_modal).

The lookup goes through the federation HTTP client (SSRF-guarded, size- and time-capped, no redirect to a
private address) and refuses suspended domains, before any request."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from activitypub.fetch import FetchError, fetch_json
from cara_fed.errors import ValidationFailed
from cara_fed.federation.context import Federation
from cara_fed.federation.domains import is_suspended
from cara_fed.federation.urls import LocalUrls
from cara_fed.services import page_posts, pages
from cara_fed.services.page_posts import PostView
from cara_fed.services.pages import PageAccount, public, rows_of
from webfinger.acct import Acct, AcctError, parse_acct
from webfinger.client import webfinger_url

log = logging.getLogger(__name__)

SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
JRD_ACCEPT = "application/jrd+json, application/json;q=0.9"
JRD_MAX_BYTES = 64 * 1024  # a JRD is a few hundred bytes
JRD_DEADLINE_SECONDS = 5.0  # a person is waiting


class RemoteFollowRefused(ValidationFailed):
    """The handle cannot be used to follow from its server; the message says why, for the visitor."""


def parse_visitor_handle(text: str) -> Acct:
    try:
        return parse_acct(text.strip())
    except AcctError:
        raise RemoteFollowRefused("Enter your full handle, like @name@your.server") from None


def subscribe_template(document: Any) -> str | None:
    """The subscribe template of a JRD, if it has a usable one (http(s), with a ``{uri}`` slot)."""
    links = document.get("links") if isinstance(document, dict) else None
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == SUBSCRIBE_REL:
            template = link.get("template")
            if isinstance(template, str) and "{uri}" in template and \
                    urlsplit(template).scheme in ("https", "http") and urlsplit(template).netloc:
                return template
    return None


async def subscribe_url(federation: Federation, visitor_handle: str, target_uri: str) -> str:
    """Where to send the visitor so that their own server shows ``target_uri`` (our actor or post) with a
    follow button. Raises :class:`RemoteFollowRefused` with a message for the visitor."""
    acct = parse_visitor_handle(visitor_handle)
    urls = federation.urls
    if acct.host == federation.settings.instance.domain.lower():
        # One of our own users: our own subscribe page (sign in here).
        return urls.subscribe_template.replace("{uri}", quote(target_uri, safe=""))
    if await is_suspended(acct.host):
        raise RemoteFollowRefused(f"This server does not exchange posts with {acct.host}.")
    document = await _fetch_jrd(federation, acct)
    template = subscribe_template(document)
    if template is None:
        raise RemoteFollowRefused(
            f"{acct.host} does not offer following from another site. Search for the artist's handle in "
            f"your server's search box instead.")
    return template.replace("{uri}", quote(target_uri, safe=""))


async def _fetch_jrd(federation: Federation, acct: Acct) -> Any:
    async def fetch(scheme: str) -> Any:
        fetched = await fetch_json(federation.http, webfinger_url(acct, scheme), policy=federation.policy,
                                   accept=JRD_ACCEPT, require_activitystreams=False, check_id=False,
                                   max_bytes=JRD_MAX_BYTES, deadline_seconds=JRD_DEADLINE_SECONDS)
        return fetched.document

    try:
        try:
            return await fetch("https")
        except FetchError:
            if not federation.settings.http_allowed_for(acct.host.rsplit(":", 1)[0]):
                raise
            return await fetch("http")  # a loopback or explicitly allowed plain-http server (development)
    except FetchError as exc:
        log.info("remote follow lookup failed", extra={"host": acct.host, "error": str(exc)})
        raise RemoteFollowRefused(f"Could not find {acct.handle} on {acct.host}: check the handle.") from None


# -- our own subscribe template: /authorize_interaction?uri=... ----------------------------------------------

@dataclass(frozen=True)
class InteractionTarget:
    """What a visitor was sent here to follow or answer: an account, or a post with its author."""
    account: PageAccount
    post: PostView | None = None


async def _post_target(account_id: int, status_id: int) -> InteractionTarget | None:
    account = await pages.page_account_by_id(account_id)
    if account is None:
        return None
    posts = await page_posts.load_posts(account.id, [status_id])
    return InteractionTarget(account, posts[0]) if posts and not posts[0].deleted else None


async def _account_target(username: str, domain: str | None) -> InteractionTarget | None:
    try:
        account = await pages.page_account(username, domain)
    except LookupError:  # suspended
        return None
    return None if account is None else InteractionTarget(account)


async def interaction_target(urls: LocalUrls, local_domain: str, uri: str) -> InteractionTarget | None:
    """The account or post ``uri`` names (an ActivityPub id, a page URL or an ``acct:`` handle), if this
    server knows it. Nothing is fetched: the visitor is not signed in yet, and an anonymous page must not
    make this server fetch arbitrary URLs (the studio resolves unknown ones after sign-in)."""
    uri = uri.strip()
    if not uri.startswith(("https://", "http://")):
        try:
            acct = parse_acct(uri)
        except AcctError:
            return None
        return await _account_target(acct.username, None if acct.host == local_domain.lower() else acct.host)
    if urls.is_local(uri):
        local_status = urls.status_from_url(uri)
        path = urlsplit(uri).path
        if local_status is None and path.startswith("/@") and path.count("/") == 2:
            name, _, status_id = path[2:].partition("/")
            local_status = (name, int(status_id)) if status_id.isdigit() and len(status_id) <= 19 else None
        if local_status is not None:
            target = await _account_target(local_status[0], None)
            return None if target is None else await _post_target(target.account.id, local_status[1])
        username = urls.username_from_url(uri)
        return None if username is None else await _account_target(username, None)
    rows = await rows_of(f"SELECT id, account_id FROM statuses WHERE (uri = ? OR url = ?) "
                         f"AND deleted_at IS NULL AND {public('visibility')} AND reblog_of_id IS NULL "
                         f"ORDER BY id LIMIT 1",
                         [uri, uri])
    if rows:
        return await _post_target(int(rows[0]["account_id"]), int(rows[0]["id"]))
    rows = await rows_of("SELECT id FROM accounts WHERE uri = ? OR url = ? ORDER BY id LIMIT 1", [uri, uri])
    account = await pages.page_account_by_id(int(rows[0]["id"])) if rows else None
    return None if account is None else InteractionTarget(account)
