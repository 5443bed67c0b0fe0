"""The reservation as HTTP headers and HTML ``<meta>`` tags: one set, for pages, ActivityStreams and API
documents and media alike (noai.md sections 0, 3, 4 and 5).

* ``X-Robots-Tag: noai, noimageai`` on a header line of its own (DeviantArt's directives, GoToSocial's exact
  value). img2dataset splits each X-Robots-Tag value at the first ``:`` and would read a merged
  ``noindex, max-image-preview:large, noai`` as a rule for a user agent called "noindex, max-image-preview",
  so nothing with a colon ever shares the line, and any other directive goes on a line of its own.
* ``Content-Usage: train-ai=n`` (IETF AIPREF, an RFC 9651 Dictionary).
* ``tdm-reservation: 1`` and ``tdm-policy: URL`` (W3C TDMRep; the header overrides tdmrep.json).

Search indexing is the artist's choice (Account.indexable, FEP-5feb); the AI-training reservation never is.
A page that may not be indexed also gets ``X-Robots-Tag: noindex, noimageindex, noarchive`` (its own line;
noarchive is also Bing's opt-out of its chat answers, noai.md section 1) and ``search=n`` in Content-Usage.
"""

from __future__ import annotations

from collections.abc import Sequence

X_ROBOTS_TAG = "noai, noimageai"
NO_SEARCH_ROBOTS = "noindex, noimageindex, noarchive"
CONTENT_USAGE = "train-ai=n"
CONTENT_USAGE_NO_SEARCH = "train-ai=n, search=n"
TDM_RESERVATION = "1"

# The header names, as the functions below spell them.
RESERVATION_HEADER_NAMES = ("X-Robots-Tag", "Content-Usage", "tdm-reservation", "tdm-policy")


def noai_headers(policy_url: str | None, *, search: bool = True) -> list[tuple[str, str]]:
    """The reservation headers of one response, as (name, value) pairs: X-Robots-Tag may appear twice, so
    add each pair as its own header line (werkzeug ``headers.add``, aiohttp ``headers.add``), never joined.

    ``policy_url``: the ``tdm-policy`` URL (None leaves that header out). ``search=False`` for the pages and
    files of an artist who has not allowed search indexing."""
    pairs = [("X-Robots-Tag", X_ROBOTS_TAG)]
    if not search:
        pairs.append(("X-Robots-Tag", NO_SEARCH_ROBOTS))
    pairs.append(("Content-Usage", CONTENT_USAGE if search else CONTENT_USAGE_NO_SEARCH))
    pairs.append(("tdm-reservation", TDM_RESERVATION))
    if policy_url:
        pairs.append(("tdm-policy", policy_url))
    return pairs


def meta_tags(policy_url: str | None, *, search: bool = True) -> list[tuple[str, str]]:
    """The matching HTML ``<meta name=... content=...>`` pairs (TDMRep section "HTML"; robots meta)."""
    tags = [("robots", X_ROBOTS_TAG)]
    if not search:
        tags.append(("robots", NO_SEARCH_ROBOTS))
    tags.append(("tdm-reservation", TDM_RESERVATION))
    if policy_url:
        tags.append(("tdm-policy", policy_url))
    return tags


def has_reservation(x_robots_tag_lines: Sequence[str]) -> bool:
    """Whether these X-Robots-Tag lines already carry noai and noimageai (read the way img2dataset and
    datadiligence read them: comma-separated directives, a line with a ``UA:`` prefix is for that UA only)."""
    for line in x_robots_tag_lines:
        directives = {d.strip().lower() for d in line.split(",")}
        if {"noai", "noimageai"} <= directives:
            return True
    return False
