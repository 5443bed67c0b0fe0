"""``OrderedCollection`` and its pages, the shapes Mastodon publishes for outbox, followers, following and
featured (app/serializers/activitypub/collection_serializer.rb)."""

from __future__ import annotations

from typing import Any

from cara_fed.federation.contexts import AS_CONTEXT


def ordered_collection(collection_id: str, total: int, *, first: str | None = None,
                       items: list[Any] | None = None, context: Any = AS_CONTEXT) -> dict[str, Any]:
    document: dict[str, Any] = {"@context": context, "id": collection_id, "type": "OrderedCollection",
                                "totalItems": total}
    if first is not None:
        document["first"] = first
    if items is not None:
        document["orderedItems"] = items
    return document


def ordered_collection_page(page_id: str, part_of: str, items: list[Any], *, total: int | None = None,
                            next_page: str | None = None, prev_page: str | None = None,
                            context: Any = AS_CONTEXT) -> dict[str, Any]:
    document: dict[str, Any] = {"@context": context, "id": page_id, "type": "OrderedCollectionPage",
                                "partOf": part_of, "orderedItems": items}
    if total is not None:
        document["totalItems"] = total
    if next_page is not None:
        document["next"] = next_page
    if prev_page is not None:
        document["prev"] = prev_page
    return document
