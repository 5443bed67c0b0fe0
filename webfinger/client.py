"""Resolving ``@user@host`` to an actor URL with WebFinger (RFC 7033), as Mastodon does.

The HTTP request is the caller's (``fetch_jrd``): cara_fed passes its SSRF-safe client, tests a fake.
Security (security.md A12): a server may claim any actor URL in its JRD. When the actor lives on another
host than the handle, the answer is trusted only if that host's own WebFinger gives the same actor for the
subject it declares; :func:`lookup` does that second query itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from webfinger.acct import Acct, AcctError, parse_acct

FetchJrd = Callable[[str], Awaitable[Any]]
_AS_TYPES = ("application/activity+json",)
_LD_PROFILE = 'profile="https://www.w3.org/ns/activitystreams"'


class WebFingerError(Exception):
    """The JRD is unusable or does not vouch for the actor."""


@dataclass(frozen=True)
class WebFingerResult:
    subject: Acct  # the canonical handle (after any alias/redirect on the remote side)
    actor_url: str
    profile_url: str | None


def webfinger_url(acct: Acct, scheme: str = "https") -> str:
    return f"{scheme}://{acct.host}/.well-known/webfinger?resource={quote(str(acct), safe='@:')}"


async def lookup(handle: str | Acct, fetch_jrd: FetchJrd, *, scheme: str = "https") -> WebFingerResult:
    acct = handle if isinstance(handle, Acct) else parse_acct(handle)
    result = _read(await fetch_jrd(webfinger_url(acct, scheme)), acct)
    actor_host = (urlsplit(result.actor_url).netloc or "").lower()
    if actor_host == result.subject.host == acct.host:
        return result
    # The actor (or the canonical subject) is elsewhere: that host must vouch for it itself.
    confirmed = _read(await fetch_jrd(webfinger_url(result.subject, scheme)), result.subject)
    if confirmed.actor_url != result.actor_url or (urlsplit(confirmed.actor_url).netloc or "").lower() != \
            confirmed.subject.host:
        raise WebFingerError(f"{acct.handle} points to {result.actor_url}, which its own host does not confirm")
    return confirmed


def _read(document: Any, asked: Acct) -> WebFingerResult:
    if not isinstance(document, dict):
        raise WebFingerError("the WebFinger answer is not a JSON object")
    subject_text = document.get("subject")
    try:
        subject = parse_acct(subject_text) if isinstance(subject_text, str) and subject_text.startswith("acct:") \
            else asked
    except AcctError as exc:
        raise WebFingerError(str(exc)) from None
    links = document.get("links")
    if not isinstance(links, list):
        raise WebFingerError("the WebFinger answer has no links")
    actor_url = profile_url = None
    for link in links:
        if not isinstance(link, dict) or not isinstance(link.get("href"), str):
            continue
        rel, media_type = link.get("rel"), str(link.get("type", ""))
        if rel == "self" and (media_type in _AS_TYPES or (media_type.startswith("application/ld+json")
                                                          and _LD_PROFILE in media_type.replace(" ", ""))):
            actor_url = actor_url or link["href"]
        elif rel == "http://webfinger.net/rel/profile-page":
            profile_url = profile_url or link["href"]
    if actor_url is None or urlsplit(actor_url).scheme not in ("https", "http"):
        raise WebFingerError(f"no ActivityPub actor for {asked.handle}")
    return WebFingerResult(subject=subject, actor_url=actor_url, profile_url=profile_url)
