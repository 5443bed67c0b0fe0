"""The reader's blocks and mutes (docs: methods/blocks, methods/mutes), paged by the block or mute row id
(clients follow the Link header verbatim), and the public profile directory (docs: methods/directory)."""

from __future__ import annotations

from quart import Blueprint, Response, current_app

from cara_fed.api.auth import authorized, me, viewer
from cara_fed.api.entities.accounts import accounts_to_api
from cara_fed.api.entities.common import api_datetime
from cara_fed.api.pagination import page_params, with_link
from cara_fed.api.params import params
from cara_fed.federation.urls import LocalUrls
from cara_fed.services import account_lists
from cara_fed.services.notifications import Window
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state

bp = Blueprint("api_account_lists", __name__)

DEFAULT_LIMIT = 40  # Mastodon's DEFAULT_ACCOUNTS_LIMIT
MAX_LIMIT = 80


def _urls() -> LocalUrls:
    return LocalUrls(app_state(current_app).settings)


def _window() -> Window:
    page = page_params(DEFAULT_LIMIT, MAX_LIMIT)
    return Window(limit=page.limit, max_id=page.max_id, since_id=page.since_id, min_id=page.min_id)


@bp.get("/api/v1/blocks")
@authorized("read:blocks")
async def blocks() -> Response:
    listed = await account_lists.blocked_accounts(me(), _window())
    entities = await accounts_to_api([item.account for item in listed], _urls())
    return with_link(json_response(entities), [item.cursor for item in listed])


@bp.get("/api/v1/mutes")
@authorized("read:mutes")
async def mutes() -> Response:
    """MutedAccount: an Account plus ``mute_expires_at`` (null for a mute without an end)."""
    listed = await account_lists.muted_accounts(me(), _window())
    entities = await accounts_to_api([item.account for item in listed], _urls())
    for entity, item in zip(entities, listed, strict=True):
        entity["mute_expires_at"] = api_datetime(item.expires_at)
    return with_link(json_response(entities), [item.cursor for item in listed])


@bp.get("/api/v1/directory")
@authorized(optional=True)
async def directory() -> Response:
    """Local accounts that chose to be listed (``discoverable``); ``local`` is accepted and always true
    here: remote accounts' consent to be listed is not something we can check."""
    p = await params()
    offset = p.int("offset", 0, minimum=0, clamp=True) or 0
    limit = p.int("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT, clamp=True) or DEFAULT_LIMIT
    order = p.str("order") or "active"
    accounts = await account_lists.directory(viewer(), offset=offset, limit=limit,
                                             order="new" if order == "new" else "active")
    return json_response(await accounts_to_api(accounts, _urls()))
