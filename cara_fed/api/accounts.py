"""Accounts (docs: methods/accounts): the signed-in account and its profile changes, any account by id or
handle, its statuses, followers and following, relationships, familiar followers and account search.
Follow/block/mute actions and follow requests are in api/follows.py, /api/v2/search in api/search.py."""

from __future__ import annotations

import dataclasses
from typing import Any

from quart import Blueprint, Response, current_app

from cara_fed.api.auth import authorized, me, my_user, viewer
from cara_fed.api.entities.accounts import (
    accounts_to_api,
    credential_account_to_api,
    load_account_stats,
    one_account_to_api,
)
from cara_fed.api.entities.relationships import relationships_to_api
from cara_fed.api.entities.statuses import statuses_to_api
from cara_fed.api.pagination import page_params, with_link
from cara_fed.api.params import Params, params, parse_id
from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.federation.context import Federation
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, FollowRequest
from cara_fed.services import account_views, media, profiles, search
from cara_fed.services.statuses import load_statuses
from cara_fed.web.negotiation import json_response
from cara_fed.web.noai import search_choices_changed
from cara_fed.web.state import app_state

bp = Blueprint("api_accounts", __name__)

ACCOUNTS_LIMIT = 40  # Mastodon's DEFAULT_ACCOUNTS_LIMIT, for followers, following, requests and search
ACCOUNTS_MAX = 80
STATUSES_LIMIT = 20
STATUSES_MAX = 40
MAX_IDS = 100  # relationships and familiar followers answer this many ids at most


# -- helpers shared with api/follows.py and api/search.py -----------------------------------------------

def federation() -> Federation:
    state = app_state(current_app)
    assert state.federation is not None, "the app has started"
    return state.federation


def urls() -> LocalUrls:
    return federation().urls


def path_id(value: str) -> int:
    """An id from the path; anything that is not one names nothing (404, as Mastodon)."""
    try:
        return parse_id(value)
    except ValidationFailed:
        raise NotFound("Record not found") from None


async def target(account_id: str) -> Account:
    return await account_views.get_account(path_id(account_id))


def ids_param(p: Params, name: str = "id") -> list[int]:
    """``id[]=1&id[]=2`` (or ``id=1``): valid ids in order, once each; anything else is ignored."""
    found: list[int] = []
    for value in p.list(name)[:MAX_IDS]:
        try:
            found.append(parse_id(value))
        except ValidationFailed:
            continue
    return list(dict.fromkeys(found))


async def relationship(account: Account, other: Account) -> Response:
    return json_response((await relationships_to_api(account, [other.id]))[0])


# -- the signed-in account ----------------------------------------------------------------------------------

async def _credential_account(account: Account) -> dict[str, Any]:
    stats = await load_account_stats([account.id])
    requests = await FollowRequest.filter(target_account_id=account.id).count()
    return credential_account_to_api(account, my_user(), stats[account.id], urls(), requests)


@bp.get("/api/v1/accounts/verify_credentials")
@authorized("read:accounts", "profile")
async def verify_credentials() -> Response:
    return json_response(await _credential_account(me()))


def _fields(p: Params) -> list[tuple[str, str]] | None:
    """``fields_attributes[0][name]=...`` (form), a list or an index-keyed object (JSON)."""
    if not p.has("fields_attributes"):
        return None
    pairs = []
    for item in p.list("fields_attributes"):
        if not isinstance(item, dict):
            raise ValidationFailed("Validation failed: fields_attributes must hold name and value pairs")
        entry = Params(item, {})
        pairs.append((entry.str("name", "") or "", entry.str("value", "") or ""))
    return pairs


def _changes(p: Params) -> profiles.ProfileChanges:
    source = Params(p.dict("source"), {})
    return profiles.ProfileChanges(
        display_name=p.str("display_name"), note=p.str("note"), locked=p.bool("locked"), bot=p.bool("bot"),
        discoverable=p.bool("discoverable"), indexable=p.bool("indexable"),
        hide_collections=p.bool("hide_collections"), fields=_fields(p), privacy=source.str("privacy"),
        sensitive=source.bool("sensitive"), language=source.str("language"),
        # cara_fed's own: keep uploads' exact pixels (Glaze/Nightshade) unless an upload says otherwise.
        pixels_untouched=p.bool("pixels_untouched") if p.has("pixels_untouched") else source.bool("pixels_untouched"))


@bp.patch("/api/v1/accounts/update_credentials")
@authorized("write:accounts")
async def update_credentials() -> Response:
    p = await params()
    changes = _changes(p)
    settings = app_state(current_app).settings
    before = (me().avatar_path, me().header_path, me().indexable)
    images: dict[str, str] = {}
    try:
        for name in ("avatar", "header"):
            upload = p.file(name)
            if upload is not None:  # through the whole media pipeline: GPS gone, no-AI marks in the file
                data = upload.read(settings.media.max_upload_bytes + 1)
                images[f"{name}_path"] = await media.store_profile_image(settings, me(), data)
        account = await profiles.update_profile(federation(), me(), my_user(),
                                                dataclasses.replace(changes, **images))
    except BaseException:
        await media.forget_files(settings, list(images.values()))  # nothing half-saved
        raise
    replaced = [old for old, new in zip(before[:2], (account.avatar_path, account.header_path), strict=True)
                if old and old != new]
    await media.forget_files(settings, replaced)
    if account.indexable != before[2]:
        search_choices_changed(current_app)  # robots.txt, tdmrep.json and page headers follow at once
    return json_response(await _credential_account(account))


# -- any account -------------------------------------------------------------------------------------------

@bp.get("/api/v1/accounts/lookup")
@authorized("read:accounts", optional=True)
async def lookup() -> Response:
    p = await params()
    account = await account_views.lookup_account(p.str("acct") or "", app_state(current_app).settings.instance.domain)
    return json_response(await one_account_to_api(account, urls()))


@bp.get("/api/v1/accounts/relationships")
@authorized("read:follows")
async def relationships() -> Response:
    """One Relationship per known, unsuspended account, in the order asked (Mastodon leaves the rest out)."""
    wanted = ids_param(await params())
    known = set(await Account.filter(account_views.visible(), id__in=wanted).values_list("id", flat=True))
    return json_response(await relationships_to_api(me(), [i for i in wanted if i in known]))


@bp.get("/api/v1/accounts/familiar_followers")
@authorized("read:follows")
async def familiar_followers() -> Response:
    wanted = ids_param(await params())
    known = set(await Account.filter(account_views.visible(), id__in=wanted).values_list("id", flat=True))
    wanted = [i for i in wanted if i in known]
    familiar = await account_views.familiar_followers(me(), wanted)
    everyone = list({a.id: a for accounts in familiar.values() for a in accounts}.values())
    rendered = {int(e["id"]): e for e in await accounts_to_api(everyone, urls())}
    return json_response([{"id": str(i), "accounts": [rendered[a.id] for a in familiar.get(i, [])]} for i in wanted])


@bp.get("/api/v1/accounts/search")
@authorized("read:accounts")
async def account_search() -> Response:
    p = await params()
    limit = p.int("limit", ACCOUNTS_LIMIT, minimum=1, maximum=ACCOUNTS_MAX, clamp=True) or ACCOUNTS_LIMIT
    offset = p.int("offset", 0, minimum=0, clamp=True) or 0
    found = await search.search_accounts(federation(), me(), p.str("q") or "", resolve=bool(p.bool("resolve")),
                                         following=bool(p.bool("following")), limit=limit, offset=offset)
    return json_response(await accounts_to_api(found, urls()))


@bp.get("/api/v1/accounts/<account_id>")
@authorized("read:accounts", optional=True)
async def show(account_id: str) -> Response:
    return json_response(await one_account_to_api(await target(account_id), urls()))


@bp.get("/api/v1/accounts/<account_id>/statuses")
@authorized("read:statuses", optional=True)
async def account_statuses(account_id: str) -> Response:
    account = await target(account_id)
    p = await params()
    page = page_params(STATUSES_LIMIT, STATUSES_MAX)
    filters = account_views.StatusFilter(
        only_media=bool(p.bool("only_media")), exclude_replies=bool(p.bool("exclude_replies")),
        exclude_reblogs=bool(p.bool("exclude_reblogs")), pinned=bool(p.bool("pinned")),
        tagged=p.str("tagged") or None)
    ids = await account_views.account_status_ids(account, viewer(), page, filters)
    loaded = await load_statuses(ids)
    statuses = [loaded[i] for i in ids if i in loaded]
    return with_link(json_response(await statuses_to_api(statuses, urls(), viewer())), ids)


@bp.get("/api/v1/accounts/<account_id>/followers")
@authorized("read:accounts", optional=True)
async def followers(account_id: str) -> Response:
    rows = await account_views.followers(await target(account_id), viewer(), page_params(ACCOUNTS_LIMIT, ACCOUNTS_MAX))
    entities = await accounts_to_api([r.account for r in rows], urls())
    return with_link(json_response(entities), [r.cursor for r in rows])


@bp.get("/api/v1/accounts/<account_id>/following")
@authorized("read:accounts", optional=True)
async def following(account_id: str) -> Response:
    rows = await account_views.following(await target(account_id), viewer(), page_params(ACCOUNTS_LIMIT, ACCOUNTS_MAX))
    entities = await accounts_to_api([r.account for r in rows], urls())
    return with_link(json_response(entities), [r.cursor for r in rows])
