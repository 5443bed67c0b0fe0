"""``GET /api/v2/search`` (docs: methods/search): accounts, hashtags and statuses. ``/api/v1/search`` was
removed in Mastodon 3.0 and is not served. As Mastodon's Api::V2::SearchController: resolving remote
things and paging with ``offset`` need a signed-in user (401 otherwise); ``offset`` beyond the results
answers empty lists (Tusky pages until it gets nothing, superseriousbusiness/gotosocial#786)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from cara_fed.api.accounts import federation, urls
from cara_fed.api.auth import Unauthorized, authorized, viewer
from cara_fed.api.entities.accounts import accounts_to_api
from cara_fed.api.entities.statuses import statuses_to_api
from cara_fed.api.params import params
from cara_fed.errors import CaraError
from cara_fed.models import Status, Tag
from cara_fed.services import search
from cara_fed.services.statuses import load_statuses
from cara_fed.web.negotiation import json_response

bp = Blueprint("api_search", __name__)

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
TYPES = ("accounts", "hashtags", "statuses")


class MissingParameter(CaraError):
    status = 400


def tag_to_api(tag: Tag, following: bool | None) -> dict[str, Any]:
    """Tag entity (docs: entities/Tag); no usage history is kept, so ``history`` is empty."""
    entity: dict[str, Any] = {"id": str(tag.id), "name": tag.name, "url": urls().tag(tag.name), "history": []}
    if following is not None:
        entity["following"] = following
    return entity


@bp.get("/api/v2/search")
@authorized("read:search", optional=True)
async def search_v2() -> Response:
    p = await params()
    q = p.str("q")
    if q is None:
        raise MissingParameter("param is missing or the value is empty: q")
    reader = viewer()
    resolve = bool(p.bool("resolve"))
    offset = p.int("offset", 0, minimum=0, clamp=True) or 0
    if reader is None and offset > 0:
        raise Unauthorized("Search queries pagination is not supported without authentication")
    if reader is None and resolve:
        raise Unauthorized("Search queries that resolve remote resources are not supported without authentication")
    limit = p.int("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT, clamp=True) or DEFAULT_LIMIT
    kind = p.str("type")
    wanted = {kind} if kind in TYPES else set(TYPES) if not kind else set()
    result: dict[str, list[Any]] = {"accounts": [], "statuses": [], "hashtags": []}
    if "accounts" in wanted:
        accounts = await search.search_accounts(federation(), reader, q, resolve=resolve,
                                                following=bool(p.bool("following")), limit=limit, offset=offset)
        result["accounts"] = await accounts_to_api(accounts, urls())
    if "statuses" in wanted:
        found = await search.search_statuses(federation(), reader, q, resolve=resolve,
                                             account_id=p.id("account_id"), offset=offset)
        loaded = await load_statuses([s.id for s in found])
        statuses: list[Status] = [loaded[s.id] for s in found if s.id in loaded]
        result["statuses"] = await statuses_to_api(statuses, urls(), reader)
    if "hashtags" in wanted:
        tags = await search.search_tags(q, limit=limit, offset=offset)
        result["hashtags"] = [tag_to_api(t, False if reader is not None else None) for t in tags]
    return json_response(result)
