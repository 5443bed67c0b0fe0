"""A work's post text and its fields, both ways: the post of a work made in the studio or the API is its
title, description and tags (``compose_text``); a post that joins the portfolio by its hashtag, or an
existing post made a work, gives its title and description back (``fields_from_text``), so that editing
the work later rebuilds a text that reads like the original."""

from __future__ import annotations

import re

from cara_fed.errors import ValidationFailed
from cara_fed.services import text as text_format

TITLE_MAX = 255
MEDIUM_MAX = 255
DESCRIPTION_MAX = 4000  # the post holds title, description and tags within api.max_status_characters
TAG_MAX = 100
TAGS_MAX = 30
# A hashtag name as services/text.py recognises one in a post (at least one letter, word characters).
_TAG_NAME_RE = re.compile(r"\w*[^\W\d_]\w*", re.UNICODE)
_ONLY_TAGS_RE = re.compile(r"^(?:\s*#\w+)+\s*$", re.UNICODE)


def check_tags(values: list[str]) -> list[str]:
    """Tag names as given (``#`` optional), checked; in order, without repeats (whatever their case)."""
    names: dict[str, str] = {}
    for value in values:
        if not isinstance(value, str):
            raise ValidationFailed("Validation failed: tags must be strings")
        name = value.strip().lstrip("#")
        if not name:
            continue
        if len(name) > TAG_MAX or not _TAG_NAME_RE.fullmatch(name):
            raise ValidationFailed(f"Validation failed: {value[:40]!r} is not a valid tag (letters, digits and _, "
                                   "at least one letter)")
        names.setdefault(name.lower(), name)
    if len(names) > TAGS_MAX:
        raise ValidationFailed(f"Validation failed: a work has at most {TAGS_MAX} tags")
    return list(names.values())


def compose_text(title: str, description: str, tags: list[str]) -> str:
    """The post of a work: the title, a blank line, the description, a blank line, the tags that the
    title and description do not already carry (Mastodon renders each block as a paragraph)."""
    present = set(text_format.find_hashtags(f"{title}\n{description}"))
    tag_line = " ".join(f"#{t}" for t in tags if t.lower() not in present)
    return "\n\n".join(part for part in (title.strip(), description.strip(), tag_line) if part)


def fields_from_text(text: str, hashtag: str) -> tuple[str, str]:
    """(title, description) of a post that becomes a work: its first line is the title (without the
    portfolio hashtag), the rest the description; trailing lines of nothing but hashtags are left out,
    since the post's tags are the work's tags."""
    lines = text.replace("\r\n", "\n").strip().split("\n")
    while len(lines) > 1 and _ONLY_TAGS_RE.match(lines[-1]):
        lines.pop()
    first = re.sub(rf"(?<![\w/)&#])#{re.escape(hashtag)}\b", "", lines[0], flags=re.IGNORECASE)
    title = " ".join(first.split())
    if _ONLY_TAGS_RE.match(title):
        title = ""  # a first line of nothing but tags is no title
    return title[:TITLE_MAX], "\n".join(lines[1:]).strip()
