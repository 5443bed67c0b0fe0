"""Portfolios as ActivityStreams (issue 6; DESIGN.md section 6): the portfolio and its series as
``OrderedCollection``s of Note ids, the ``Add``/``Remove``/``Update`` activities that keep followers in step,
the pin activities of ``featured``, and what a work adds to its post's ``Note``.

Wire format (documented for other implementations in docs/portfolio-api.md, "Federation"):

- The actor links ``portfolio`` (our context term, federation/contexts.py) to ``/users/NAME/portfolio``, an
  ``OrderedCollection`` paged by number (``?page=1``...) whose items are the works' Note ids in portfolio
  order. Its ``series`` lists the series collections (``/users/NAME/portfolio/series/ID``), each with its
  ``name``, ``summary`` and ``totalItems``; a series collection is paged the same way, in series order.
- A work's Note carries ``name`` (the title), ``medium``, ``year``, ``series`` (its series collection) and a
  ``license`` link: the Creative Commons deed for CC works, else our AI-policy page, which states the
  reservation (all rights reserved, no AI training). Its images carry the same licence. ``xRobotsTag`` is
  kept on everything, CC or not: a CC licence grants reuse, not an opt-in to AI training (noai.md).
- Adding a work sends ``Add`` (object: the Note id, target: the portfolio); removing it ``Remove``;
  reordering ``Update`` of the collection (object: the collection without its items; receivers re-read
  it). The same three for a series, with the series collection as target or object.
- Pins: ``Add``/``Remove`` with target the ``featured`` collection and the Note id as object, as Mastodon
  sends them (app/serializers/activitypub/add_serializer.rb), addressed to followers so our fan-out
  reaches them. Mastodon sends no id; we send a unique one so receivers can drop repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cara_fed.federation.contexts import AS_CONTEXT, OBJECT_CONTEXT, PUBLIC
from cara_fed.federation.urls import LocalUrls
from cara_fed.ids import snowflake_id
from cara_fed.models import Account, Status, Work

PAGE_SIZE = 40  # works per collection page

# The Creative Commons 4.0 deeds (https://creativecommons.org/licenses/); "all-rights-reserved" has none.
CC_LICENCE_URLS: dict[str, str] = {
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "cc-by-sa-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "cc-by-nc-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "cc-by-nc-sa-4.0": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    "cc-by-nd-4.0": "https://creativecommons.org/licenses/by-nd/4.0/",
    "cc-by-nc-nd-4.0": "https://creativecommons.org/licenses/by-nc-nd/4.0/",
}
DEFAULT_LICENCE = "all-rights-reserved"


def licence_url(licence: str, urls: LocalUrls) -> str:
    """The ``license`` link of a work: its CC deed, or our AI-policy page (the reservation) otherwise."""
    return CC_LICENCE_URLS.get(licence, urls.ai_policy)


def licence_from_url(url: Any) -> str:
    """A remote work's licence code from its ``license`` link (http or https, with or without a trailing
    slash or a ``deed.xx`` suffix); anything else is all rights reserved."""
    if not isinstance(url, str):
        return DEFAULT_LICENCE
    text = url.strip().lower().replace("http://", "https://", 1)
    if "/deed" in text:
        text = text.split("/deed", 1)[0]
    text = text.rstrip("/") + "/"
    for code, deed in CC_LICENCE_URLS.items():
        if text == deed:
            return code
    return DEFAULT_LICENCE


def loaded_work(status: Any) -> Work | None:
    """The work of a status whose ``work`` relation was prefetched (services.statuses.with_relations);
    None for a plain post, or when the relation was not loaded (never a query here)."""
    if not isinstance(status, Status):
        return None
    value = status.__dict__.get("_work")  # tortoise keeps a prefetched reverse one-to-one here
    return value if isinstance(value, Work) else None


def apply_work(note: dict[str, Any], work: Work, username: str, urls: LocalUrls) -> None:
    """Add what a work says beyond its post to the post's Note (and its images' licence)."""
    if work.title:
        note["name"] = work.title
    if work.medium:
        note["medium"] = work.medium
    if work.year is not None:
        note["year"] = work.year
    if work.series_id is not None:
        note["series"] = urls.portfolio_series(username, work.series_id)
    link = licence_url(work.licence, urls)
    note["license"] = link
    for attachment in note.get("attachment", []):
        if isinstance(attachment, dict):
            attachment["license"] = link


# -- collections ----------------------------------------------------------------------------------------------

def series_summary(username: str, series: Any, total: int, urls: LocalUrls) -> dict[str, Any]:
    """``series``: a Series row or a services SeriesView (id, name, description)."""
    return {"id": urls.portfolio_series(username, series.id), "type": "OrderedCollection", "name": series.name,
            "summary": series.description or None, "totalItems": total}


def portfolio_collection(account: Account, total: int, series: Sequence[tuple[Any, int]], urls: LocalUrls,
                         *, with_context: bool = True) -> dict[str, Any]:
    """The portfolio's root document: its size, its first page, and its series (in their order)."""
    name = account.username
    base = urls.portfolio(name)
    document: dict[str, Any] = {
        "id": base, "type": "OrderedCollection", "name": f"{account.display_name or name}: portfolio",
        "attributedTo": urls.actor(name), "url": urls.profile(name), "totalItems": total,
        "first": f"{base}?page=1",
        "series": [series_summary(name, s, count, urls) for s, count in series],
    }
    return {"@context": OBJECT_CONTEXT, **document} if with_context else document


def series_collection(account: Account, series: Any, total: int, urls: LocalUrls, *,
                      with_context: bool = True) -> dict[str, Any]:
    name = account.username
    base = urls.portfolio_series(name, series.id)
    document: dict[str, Any] = {
        "id": base, "type": "OrderedCollection", "name": series.name, "summary": series.description or None,
        "attributedTo": urls.actor(name), "partOf": urls.portfolio(name), "totalItems": total,
        "first": f"{base}?page=1",
    }
    return {"@context": OBJECT_CONTEXT, **document} if with_context else document


def collection_page(base: str, page: int, items: list[str], total: int) -> dict[str, Any]:
    """Page ``page`` (1-based) of a portfolio or series collection: Note ids in order."""
    document: dict[str, Any] = {"@context": AS_CONTEXT, "id": f"{base}?page={page}",
                                "type": "OrderedCollectionPage", "partOf": base, "totalItems": total,
                                "startIndex": (page - 1) * PAGE_SIZE, "orderedItems": items}
    if page * PAGE_SIZE < total:
        document["next"] = f"{base}?page={page + 1}"
    if page > 1:
        document["prev"] = f"{base}?page={page - 1}"
    return document


# -- activities -------------------------------------------------------------------------------------------

def _addressed(account: Account, urls: LocalUrls) -> dict[str, Any]:
    return {"to": [PUBLIC], "cc": [urls.followers(account.username)]}


def collection_change(kind: str, account: Account, note_uri: str, target: str, urls: LocalUrls
                      ) -> dict[str, Any]:
    """``Add`` or ``Remove`` of a Note in one of the account's collections (portfolio, series, featured)."""
    assert kind in ("Add", "Remove")
    actor = urls.actor(account.username)
    return {"@context": AS_CONTEXT, "id": f"{actor}#collections/{kind.lower()}/{snowflake_id()}",
            "type": kind, "actor": actor, "object": note_uri, "target": target, **_addressed(account, urls)}


def collection_update(account: Account, collection: dict[str, Any], urls: LocalUrls) -> dict[str, Any]:
    """``Update`` of a collection whose order (or series list, or name) changed. The object is the
    collection's root document; receivers fetch the pages again."""
    actor = urls.actor(account.username)
    body = {k: v for k, v in collection.items() if k != "@context"}
    return {"@context": OBJECT_CONTEXT, "id": f"{actor}#collections/update/{snowflake_id()}", "type": "Update",
            "actor": actor, "object": body, **_addressed(account, urls)}


def note_update(note: dict[str, Any]) -> dict[str, Any]:
    """``Update`` of a work's Note whose text did not change (it just became a work, or left a series that
    was deleted): same audience as the Note, as services/posts.edit_post sends it."""
    return {"@context": OBJECT_CONTEXT, "id": f"{note['id']}#updates/{snowflake_id()}", "type": "Update",
            "actor": note["attributedTo"], "to": note["to"], "cc": note["cc"], "object": note}
