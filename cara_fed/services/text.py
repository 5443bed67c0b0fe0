"""What an artist typed, turned into the HTML Mastodon would make of it: paragraphs, line breaks, links,
@mentions and #hashtags (app/lib/text_formatter.rb, app/lib/extractor.rb), everything else escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

# Mastodon's Account::MENTION_RE and Tag::HASHTAG_RE, simplified to what a post can contain: the mark must
# not follow a word character or a slash, so e-mail addresses and URL fragments are not mentions or tags.
MENTION_RE = re.compile(r"(?<![\w/])@([a-z0-9_]+(?:[a-z0-9_.-]*[a-z0-9_])?)(?:@([\w.-]+\w(?::\d+)?))?",
                        re.IGNORECASE)
HASHTAG_RE = re.compile(r"(?<![\w/)&#])#(\w*[^\W\d_]\w*)", re.UNICODE)
URL_RE = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)
_TOKEN_RE = re.compile(f"{URL_RE.pattern}|{MENTION_RE.pattern}|{HASHTAG_RE.pattern}", re.IGNORECASE)


@dataclass(frozen=True)
class MentionTarget:
    username: str
    domain: str | None  # None: this instance


def find_mentions(text: str, local_domain: str) -> list[MentionTarget]:
    """Mentioned handles in order of first appearance, URLs skipped; our own domain means local."""
    found: dict[tuple[str, str | None], MentionTarget] = {}
    for match in _TOKEN_RE.finditer(text):
        if match.group(0).startswith("@"):
            username, domain = match.group(1), match.group(2)
            if domain is not None and domain.lower() == local_domain.lower():
                domain = None
            key = (username.lower(), domain.lower() if domain else None)
            found.setdefault(key, MentionTarget(username, domain.lower() if domain else None))
    return list(found.values())


def find_hashtags(text: str) -> list[str]:
    """Hashtag names, lower-cased, in order, without duplicates (URL fragments are not tags)."""
    names: dict[str, None] = {}
    for match in _TOKEN_RE.finditer(text):
        if match.group(0).startswith("#"):
            names.setdefault(match.group(0)[1:].lower()[:255], None)
    return list(names)


LinkFor = Callable[[MentionTarget], str | None]


def render(text: str, *, mention_url: LinkFor, tag_url: Callable[[str], str]) -> str:
    """Plain text to HTML: paragraphs on blank lines, ``<br>`` on single newlines; mentions that resolve
    (``mention_url`` returns their profile URL) and every hashtag and URL become links."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join("<p>" + "<br>".join(_line(line, mention_url, tag_url) for line in p.strip("\n").split("\n"))
                   + "</p>" for p in paragraphs)


def _line(line: str, mention_url: LinkFor, tag_url: Callable[[str], str]) -> str:
    out: list[str] = []
    position = 0
    for match in _TOKEN_RE.finditer(line):
        out.append(html.escape(line[position:match.start()], quote=False))
        token = match.group(0)
        if token.startswith("@"):
            username, domain = match.group(1), match.group(2)
            url = mention_url(MentionTarget(username, domain))
            if url is None:
                out.append(html.escape(token, quote=False))
            else:
                out.append(f'<span class="h-card" translate="no"><a href="{html.escape(url)}" '
                           f'class="u-url mention">@<span>{html.escape(username)}</span></a></span>')
        elif token.startswith("#"):
            name = token[1:]
            out.append(f'<a href="{html.escape(tag_url(name.lower()))}" class="mention hashtag" rel="tag">'
                       f'#<span>{html.escape(name)}</span></a>')
        else:
            out.append(f'<a href="{html.escape(token)}" target="_blank" rel="nofollow noopener noreferrer" '
                       f'translate="no">{html.escape(token)}</a>')
        position = match.end()
    out.append(html.escape(line[position:], quote=False))
    return "".join(out)
