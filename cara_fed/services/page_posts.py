"""Reading posts for the public pages (the profile's posts tab, a post's page, the Atom feed): four queries
for any number of posts (the posts, their images, their tags, which of them are works)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cara_fed.db import in_list
from cara_fed.services.page_works import works_of_statuses
from cara_fed.services.pages import PageImage, images_of, public, rows_of, when


@dataclass(slots=True)
class PostView:
    id: int
    account_id: int
    content: str  # sanitised HTML
    spoiler_text: str
    sensitive: bool
    language: str | None
    in_reply_to_id: int | None
    created_at: datetime | None
    edited_at: datetime | None
    deleted: bool
    images: list[PageImage] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    work: tuple[int, str] | None = None  # (work id, title) when the post is a work

    def shown(self) -> tuple[object, ...]:
        return (self.id, self.content, self.spoiler_text, self.sensitive, self.edited_at, self.deleted,
                tuple(i.shown() for i in self.images), tuple(self.tags), self.work)

    @property
    def updated(self) -> datetime | None:
        return self.edited_at or self.created_at


async def public_post_ids(account_id: int, *, max_id: int | None, limit: int,
                          replies: bool = False) -> list[int]:
    """The account's own public and unlisted posts, newest first (no boosts; replies only if asked)."""
    clauses = [f"account_id = ? AND deleted_at IS NULL AND {public('visibility')}",
               "reblog_of_id IS NULL"]
    values: list[object] = [account_id]
    if not replies:
        clauses.append("in_reply_to_id IS NULL")
    if max_id is not None:
        clauses.append("id < ?")
        values.append(max_id)
    values.append(limit)
    rows = await rows_of(f"SELECT id FROM statuses WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
                         values)
    return [int(r["id"]) for r in rows]


async def load_posts(account_id: int, ids: list[int]) -> list[PostView]:
    """The account's public or unlisted posts with these ids, in the order given (deleted ones too,
    marked)."""
    if not ids:
        return []
    values: list[object] = list(ids)
    rows = await rows_of(
        f"SELECT id, account_id, content, spoiler_text, sensitive, language, in_reply_to_id, created_at, "
        f"edited_at, deleted_at FROM statuses WHERE id IN ({in_list(values)}) AND account_id = ? "
        f"AND {public('visibility')} AND reblog_of_id IS NULL", [*values, account_id])
    found = {int(r["id"]): PostView(
        id=int(r["id"]), account_id=int(r["account_id"]), content=str(r["content"] or ""),
        spoiler_text=str(r["spoiler_text"] or ""), sensitive=bool(r["sensitive"]), language=r["language"],
        in_reply_to_id=r["in_reply_to_id"], created_at=when(r["created_at"]),
        edited_at=when(r["edited_at"]), deleted=r["deleted_at"] is not None) for r in rows}
    if not found:
        return []
    present = list(found)
    for status_id, images in (await images_of(present)).items():
        found[status_id].images = images
    tag_values: list[object] = list(present)
    for row in await rows_of(f"SELECT st.statuses_id AS status_id, t.name AS name FROM statuses_tags st "
                             f"JOIN tags t ON t.id = st.tag_id "
                             f"WHERE st.statuses_id IN ({in_list(tag_values)}) ORDER BY t.name", tag_values):
        found[int(row["status_id"])].tags.append(str(row["name"]))
    for status_id, work in (await works_of_statuses(present)).items():
        found[status_id].work = work
    return [found[i] for i in ids if i in found]
