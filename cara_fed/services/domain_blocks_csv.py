"""Mastodon's domain-block CSV, both ways (app/controllers/admin/export_domain_blocks_controller.rb,
app/models/admin/import.rb).

Export: the header ``#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate`` and one
row per block that limits anything (Mastodon's with_limitations: silence, suspend, or reject_media), with
``true``/``false`` booleans; private comments never leave the server.

Import: a file whose first cell is ``#domain`` is read by those column names (missing columns take
Mastodon's defaults: suspend, false, false, no comment, false); any other file is a plain list of domains,
one per line in the first column. Booleans are ``true``/``false`` in any case (shared lists spell them
``TRUE``). A domain already covered by a block (its own or a parent's) is skipped, as are rows that are
not valid (bad domain or severity); each skip is reported with its reason. Every new block gets the
private comment "Imported from SOURCE on DATE", as Mastodon's, and is applied as an admin's block is.
At most 20 000 rows (Mastodon's ROWS_PROCESSING_LIMIT)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cara_fed.errors import CaraError, ValidationFailed
from cara_fed.models import DomainBlock
from cara_fed.models.domain_blocks import SEVERITIES
from cara_fed.services import domain_policy
from cara_fed.services.domain_names import normalize_domain
from cara_fed.services.domain_policy import MAX_COMMENT

HEADER = ("#domain", "#severity", "#reject_media", "#reject_reports", "#public_comment", "#obfuscate")
MAX_ROWS = 20_000
_TRUE = {"true", "1", "yes", "t"}
_FALSE = {"false", "0", "no", "f", ""}


@dataclass(frozen=True)
class ImportResult:
    created: list[DomainBlock] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (domain or row text, reason)


def _bool(value: str | None, column: str) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationFailed(f"{column} is not true or false")


def _csv_value(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value or "")


async def export_csv() -> str:
    """The blocks as Mastodon exports them (CSV text with ``\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for block in await domain_policy.list_domain_blocks():
        if block.severity == "noop" and not block.reject_media:
            continue  # no limitation worth sharing (Mastodon's with_limitations)
        row = (block.domain, block.severity, block.reject_media, block.reject_reports, block.public_comment,
               block.obfuscate)
        writer.writerow([_csv_value(v) for v in row])
    return out.getvalue()


def _rows(text: str) -> list[dict[str, str]]:
    """Rows as dicts keyed by Mastodon's column names; a file without the header is a list of domains."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    lines = [row for row in reader if any(cell.strip() for cell in row)]
    if lines and lines[0] and lines[0][0].strip() == "#domain":
        names = [name.strip() for name in lines[0]]
        lines = lines[1:]
    else:
        names = ["#domain"]
    if len(lines) > MAX_ROWS:
        raise ValidationFailed(f"Validation failed: the file has more than {MAX_ROWS} rows")
    return [{name: cell for name, cell in zip(names, row, strict=False)} for row in lines]


async def import_csv(text: str, *, source: str = "an import") -> ImportResult:
    """Create a block for each new domain in a Mastodon CSV export (or a plain domain list)."""
    try:
        rows = _rows(text)
    except csv.Error as exc:
        raise ValidationFailed(f"Validation failed: this is not a CSV file ({exc})") from None
    comment = f"Imported from {source[:200]} on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
    result = ImportResult()
    seen: set[str] = set()
    for row in rows:
        raw = (row.get("#domain") or "").strip()
        try:
            domain = normalize_domain(raw)
            severity = (row.get("#severity") or "suspend").strip().lower() or "suspend"
            if severity not in SEVERITIES:
                raise ValidationFailed(f"severity {severity[:20]!r} is not one of {', '.join(SEVERITIES)}")
            options = {"severity": severity, "reject_media": _bool(row.get("#reject_media"), "reject_media"),
                       "reject_reports": _bool(row.get("#reject_reports"), "reject_reports"),
                       "obfuscate": _bool(row.get("#obfuscate"), "obfuscate"),
                       "public_comment": (row.get("#public_comment") or "").strip()[:MAX_COMMENT]}
        except CaraError as exc:
            result.skipped.append((raw[:255] or "(empty)", exc.message.removeprefix("Validation failed: ")))
            continue
        if domain in seen or await domain_policy.covering_block(domain) is not None:
            result.skipped.append((domain, "already blocked"))
            continue
        seen.add(domain)
        result.created.append(await domain_policy.block_domain(domain, private_comment=comment, **options))
    return result
