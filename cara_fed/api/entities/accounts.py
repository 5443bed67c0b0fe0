"""Account and CredentialAccount entities (docs: entities/Account)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cara_fed.api.entities.common import api_date, api_midnight
from cara_fed.db import in_list, raw_rows
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, User
from cara_fed.sanitize import sanitize_html

# Served when an account has no avatar or header: clients crash on a missing or empty one
# (tuskyapp/Tusky#1559, superseriousbusiness/gotosocial#513).
MISSING_AVATAR = "/static/avatar-missing.png"
MISSING_HEADER = "/static/header-missing.png"


@dataclass(frozen=True)
class AccountStats:
    statuses: int = 0
    followers: int = 0
    following: int = 0
    last_status_at: str | None = None


async def load_account_stats(account_ids: list[int]) -> dict[int, AccountStats]:
    """Counts for many accounts in one query."""
    ids: list[object] = list(dict.fromkeys(account_ids))
    if not ids:
        return {}
    marks = in_list(ids)
    rows = await raw_rows(
        f"SELECT 's' AS k, account_id AS id, COUNT(*) AS n, MAX(created_at) AS last FROM statuses "
        f"WHERE account_id IN ({marks}) AND deleted_at IS NULL GROUP BY account_id "
        f"UNION ALL SELECT 'r', target_account_id, COUNT(*), NULL FROM follows "
        f"WHERE target_account_id IN ({marks}) GROUP BY target_account_id "
        f"UNION ALL SELECT 'g', account_id, COUNT(*), NULL FROM follows "
        f"WHERE account_id IN ({marks}) GROUP BY account_id", ids * 3)
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(int(row["id"]), {})  # type: ignore[arg-type]
        if row["k"] == "s":
            entry["statuses"] = int(row["n"])  # type: ignore[arg-type]
            entry["last_status_at"] = api_date(row["last"])
        elif row["k"] == "r":
            entry["followers"] = int(row["n"])  # type: ignore[arg-type]
        else:
            entry["following"] = int(row["n"])  # type: ignore[arg-type]
    return {account_id: AccountStats(**found.get(account_id, {})) for account_id in ids}  # type: ignore[misc]


def acct(account: Account) -> str:
    return account.username if account.domain is None else f"{account.username}@{account.domain}"


def avatar_url(account: Account, urls: LocalUrls) -> str:
    if account.avatar_path:
        return urls.media(account.avatar_path)
    return account.avatar_remote_url or urls.base + MISSING_AVATAR


def header_url(account: Account, urls: LocalUrls) -> str:
    if account.header_path:
        return urls.media(account.header_path)
    return account.header_remote_url or urls.base + MISSING_HEADER


def _fields(account: Account) -> list[dict[str, Any]]:
    result = []
    for item in account.profile_fields or []:
        if isinstance(item, dict):
            result.append({"name": str(item.get("name", "")), "value": sanitize_html(str(item.get("value", ""))),
                           "verified_at": item.get("verified_at")})
    return result


def account_to_api(account: Account, stats: AccountStats, urls: LocalUrls) -> dict[str, Any]:
    local = account.domain is None
    avatar = avatar_url(account, urls)
    header = header_url(account, urls)
    entity: dict[str, Any] = {
        "id": str(account.id),
        "username": account.username,
        "acct": acct(account),
        "display_name": account.display_name or "",
        "locked": account.locked,
        "bot": account.bot or account.actor_type in ("Service", "Application"),
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "group": account.actor_type == "Group",
        "created_at": api_midnight(account.created_at),
        "note": account.note or "",
        "url": urls.profile(account.username) if local else (account.url or account.uri or ""),
        "uri": urls.actor(account.username) if local else (account.uri or ""),
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": stats.followers,
        "following_count": stats.following,
        "statuses_count": stats.statuses,
        "last_status_at": stats.last_status_at,
        "hide_collections": account.hide_collections,
        "noindex": not account.indexable,
        "emojis": [],
        "roles": [],
        "fields": _fields(account),
    }
    if account.suspended_at is not None:
        entity["suspended"] = True
    return entity


def credential_account_to_api(account: Account, user: User, stats: AccountStats, urls: LocalUrls,
                              follow_requests: int) -> dict[str, Any]:
    """The signed-in account, with ``source`` (plain-text bio and fields, posting defaults) and ``role``."""
    entity = account_to_api(account, stats, urls)
    entity["source"] = {
        "privacy": user.default_visibility,
        "sensitive": user.default_sensitive,
        "language": user.default_language or "",
        "note": account.note_source,
        "fields": [{"name": str(f.get("name", "")), "value": str(f.get("value", "")),
                    "verified_at": f.get("verified_at")} for f in account.profile_fields or []
                   if isinstance(f, dict)],
        "follow_requests_count": follow_requests,
        "hide_collections": account.hide_collections,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "attribution_domains": [],
        "pixels_untouched": user.pixels_untouched,  # cara_fed: the artist's upload default
    }
    entity["role"] = {"id": {"user": "-99", "moderator": "2", "admin": "3"}.get(user.role, "-99"),
                      "name": user.role if user.role != "user" else "", "permissions": "0",
                      "color": "", "highlighted": user.role != "user"}
    return entity


async def accounts_to_api(accounts: list[Account], urls: LocalUrls) -> list[dict[str, Any]]:
    """A list of accounts in two queries at most (the accounts are already loaded)."""
    stats = await load_account_stats([a.id for a in accounts])
    return [account_to_api(a, stats[a.id], urls) for a in accounts]


async def one_account_to_api(account: Account, urls: LocalUrls) -> dict[str, Any]:
    return (await accounts_to_api([account], urls))[0]
