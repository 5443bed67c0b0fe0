"""HTML from outside (remote servers, user bios) reduced to Mastodon's strict allow-list.

Mastodon lib/sanitize_ext/sanitize_config.rb (MASTODON_STRICT): these tags, these attributes, http(s)
links only, microformat and Mastodon's own classes only; links get rel="nofollow noopener noreferrer" and
open in a new tab. Relative and protocol-relative links are dropped (security.md item 30). One nh3 Cleaner
is built once: cleaning is on the inbox's hot path.
"""

from __future__ import annotations

import nh3

_TAGS = {"p", "br", "span", "a", "del", "s", "pre", "blockquote", "code", "b", "strong", "u", "i", "em",
         "ul", "ol", "li", "ruby", "rt", "rp"}
_ATTRIBUTES = {"a": {"href", "class", "translate"}, "span": {"class", "translate"}, "p": {"class"},
               "ol": {"start", "reversed"}, "li": {"value"}, "*": {"lang"}}
_CLASS_PREFIXES = ("h-", "p-", "u-", "dt-", "e-")
_CLASS_NAMES = frozenset({"mention", "hashtag", "ellipsis", "invisible", "quote-inline"})


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [c for c in value.split() if c.startswith(_CLASS_PREFIXES) or c in _CLASS_NAMES]
        return " ".join(kept) or None
    if attribute == "translate":
        return value if value in ("yes", "no") else None
    if attribute in ("start", "value"):
        return value if value.lstrip("-").isdigit() else None
    return value


_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags={"script", "style"},
    attributes=_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    url_schemes={"http", "https"},
    url_relative="deny",
    link_rel="nofollow noopener noreferrer",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)


def sanitize_html(html: str) -> str:
    """Safe to embed in our pages and API answers."""
    return _CLEANER.clean(html)
