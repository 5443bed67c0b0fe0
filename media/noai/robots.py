"""``/robots.txt`` and ``/ai.txt`` as text (noai.md sections 1, 2 and 5).

robots.txt has three kinds of group (RFC 9309: consecutive ``User-agent`` lines share the rules after them, and
a crawler follows only the most specific group naming it):

1. the AI crawlers, generated as upstream ai.robots.txt does (one ``User-agent`` line per name, then
   ``Disallow: /``), minus the bots the admin lets in;
2. the search and link-preview bots the admin lets in, with the rules of ``*`` but media allowed;
3. ``User-agent: *`` with the AI reservation (``Content-Usage``, AIPREF; ``Content-Signal``, Cloudflare) and
   the private prefixes (and media, if the admin says so) disallowed.

Rules are written most specific first and ``Allow: /`` last, so first-match parsers (Python's urllib.robotparser)
and longest-match parsers (RFC 9309, Google) read the same thing. Search indexing is each artist's choice:
``no_search_prefixes`` (all accounts' pages) carry ``search=n`` and the pages of artists who allowed indexing
(``search_paths``) ``search=y``; ``train-ai=n`` is on every rule.
"""

from __future__ import annotations

from collections.abc import Sequence

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"

CONTENT_SIGNAL = "search=yes, ai-train=no, ai-input=no"
USAGE = "train-ai=n"
USAGE_NO_SEARCH = "train-ai=n, search=n"
USAGE_SEARCH = "train-ai=n, search=y"
UPSTREAM = "https://github.com/ai-robots-txt/ai.robots.txt"

# Spawning's ai.txt generator, every media class, in its order (noai.md section 2), with the formats cara_fed
# stores and converts (AVIF, HEIC/HEIF, JPEG XL) after the image ones.
AI_TXT_EXTENSIONS: tuple[str, ...] = (
    "txt", "pdf", "doc", "docx", "odt", "rtf", "tex", "wks", "wpd", "wps", "html",
    "bmp", "gif", "ico", "jpeg", "jpg", "png", "svg", "tif", "tiff", "webp", "avif", "heic", "heif", "jxl",
    "aac", "aiff", "amr", "flac", "m4a", "mp3", "oga", "opus", "wav", "wma",
    "mp4", "webm", "ogg", "avi", "mov", "wmv", "flv", "mkv",
    "py", "js", "java", "c", "cpp", "cs", "h", "css", "php", "swift", "go", "rb", "pl", "sh", "sql",
)


def robots_txt(crawlers: Sequence[str], *, search_bots: Sequence[str] = (), disallow_media: bool = True,
               media_prefix: str = "/media/", private_prefixes: Sequence[str] = ("/api/", "/oauth/"),
               no_search_prefixes: Sequence[str] = (), search_paths: Sequence[str] = (),
               policy_page: str | None = None) -> str:
    """The robots.txt text.

    ``crawlers``: the AI-crawler list; ``search_bots``: names let in (removed from the AI group and given
    their own group that may fetch media); ``no_search_prefixes``: path prefixes whose pages are not for
    search indexing unless listed in ``search_paths`` (exact pages, e.g. ``/@mira``: the page and everything
    below it); ``policy_page``: the human-readable AI policy, named in a comment."""
    let_in = {name.lower() for name in search_bots}
    refused = [name for name in crawlers if name.lower() not in let_in]
    lines = [
        "# The works on this site may not be used to train AI, and text and data mining rights are reserved",
        "# (EU Directive 2019/790, Art. 4(3)).",
    ]
    if policy_page:
        lines.append(f"# Policy: {policy_page}")
    if refused:
        lines += ["", f"# AI crawlers: the list of ai.robots.txt ({UPSTREAM}, MIT licence)."]
        lines += [f"User-agent: {name}" for name in refused]
        lines.append("Disallow: /")
    usage = _usage_rules(no_search_prefixes, search_paths)
    if search_bots:
        lines += ["", "# Search and link-preview bots this instance lets in (the AI reservation still applies)."]
        lines += [f"User-agent: {name}" for name in _unique(search_bots)]
        lines += usage + [f"Content-Signal: {CONTENT_SIGNAL}"]
        lines += [f"Disallow: {prefix}" for prefix in private_prefixes] + ["Allow: /"]
    lines += ["", "User-agent: *", *usage, f"Content-Signal: {CONTENT_SIGNAL}"]
    lines += [f"Disallow: {prefix}" for prefix in private_prefixes]
    if disallow_media:
        lines.append(f"Disallow: {media_prefix}")
    lines.append("Allow: /")
    return "\n".join(lines) + "\n"


def _usage_rules(no_search_prefixes: Sequence[str], search_paths: Sequence[str]) -> list[str]:
    rules = [f"Content-Usage: {USAGE}"]
    rules += [f"Content-Usage: {prefix} {USAGE_NO_SEARCH}" for prefix in no_search_prefixes]
    for path in search_paths:
        # "$" ends the pattern at the page itself, so /@ann does not also cover /@anna (RFC 9309 section 2.2.3).
        rules += [f"Content-Usage: {path}$ {USAGE_SEARCH}", f"Content-Usage: {path}/ {USAGE_SEARCH}"]
    return rules


def _unique(names: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    return [n for n in names if not (n.lower() in seen or seen.add(n.lower()))]  # type: ignore[func-returns-value]


def ai_txt(policy_page: str | None = None) -> str:
    """Spawning's ai.txt: every file type disallowed for datasets, then ``/`` and ``*``."""
    lines = ["# Spawning AI", "# Prevent datasets from using the following file types"]
    if policy_page:
        lines.append(f"# Policy: {policy_page}")
    lines += ["", "User-Agent: *"]
    lines += [f"Disallow: *.{ext}" for ext in AI_TXT_EXTENSIONS]
    lines += ["Disallow: /", "Disallow: *"]
    return "\n".join(lines) + "\n"
