"""What a domain block removes from this server, as a durable job written with the block (so that a crash
cannot leave half a purge behind unnoticed): for a suspended domain, its accounts' cached posts (boosts
included), media rows and files, favourites and notifications (Mastodon's DeleteAccountService with
reserve_username, run for each account by BlockDomainService#suspend!); for reject_media, only the cached
media files (Mastodon's BlockDomainService#clear_media!): the attachments stay, as links to the original.

The accounts themselves stay, marked suspended: reports about them and their handles remain, and a lifted
block restores them. The job works in batches and is idempotent (a re-run deletes what is left). It does
nothing if the block was lifted or softened before it ran."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from cara_fed.federation.domains import domain_policy
from cara_fed.jobs.registry import JobContext, RetryPolicy, job_kind
from cara_fed.models import Account, Favourite, MediaAttachment, Notification, Status
from cara_fed.services.media import forget_files
from cara_fed.settings import Settings

log = logging.getLogger(__name__)

PURGE_JOB = "domains.purge"
BATCH = 200
_POLICY = RetryPolicy(base_seconds=30.0, max_delay_seconds=1800.0, max_attempts=12,
                      give_up_after_seconds=86400.0)


@dataclass(frozen=True)
class PurgeResult:
    statuses: int = 0
    media: int = 0
    files: int = 0


def _file_names(media: MediaAttachment) -> list[str]:
    names = [n for n in (media.files or {}).values() if isinstance(n, str)]
    if media.file_path and media.file_path not in names:
        names.append(media.file_path)
    return names


async def _account_ids(domain: str) -> list[int]:
    from cara_fed.services.domain_policy import accounts_of  # (domain_policy imports this module)

    return list(await Account.filter(accounts_of(domain)).values_list("id", flat=True))


async def purge_content(settings: Settings, domain: str) -> PurgeResult:
    """Delete the cached posts, media and interactions of ``domain``'s accounts (and its subdomains')."""
    statuses = media_count = files = 0
    ids = await _account_ids(domain)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        while True:
            status_ids = list(await Status.filter(account_id__in=chunk).limit(BATCH)
                              .values_list("id", flat=True))
            media = await MediaAttachment.filter(account_id__in=chunk).limit(BATCH) if not status_ids else \
                await MediaAttachment.filter(status_id__in=status_ids)
            if not status_ids and not media:
                break
            names = [n for m in media for n in _file_names(m)]
            async with in_transaction() as conn:
                await MediaAttachment.filter(id__in=[m.id for m in media]).using_db(conn).delete()
                if status_ids:
                    await Status.filter(id__in=status_ids).using_db(conn).delete()
            await forget_files(settings, names)  # after the commit: a rolled-back purge keeps its files
            statuses += len(status_ids)
            media_count += len(media)
            files += len(names)
        async with in_transaction() as conn:
            await Favourite.filter(account_id__in=chunk).using_db(conn).delete()
            await Notification.filter(from_account_id__in=chunk).using_db(conn).delete()
    return PurgeResult(statuses=statuses, media=media_count, files=files)


async def purge_media(settings: Settings, domain: str) -> PurgeResult:
    """Remove the cached files of ``domain``'s remote media; the rows stay, linking the original."""
    media_count = files = 0
    ids = await _account_ids(domain)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        while True:
            media = await MediaAttachment.filter(account_id__in=chunk, files__not_isnull=True).limit(BATCH)
            if not media:
                break
            names = [n for m in media for n in _file_names(m)]
            await MediaAttachment.filter(id__in=[m.id for m in media]).update(files=None, file_path=None,
                                                                             file_size=None)
            await forget_files(settings, names)
            media_count += len(media)
            files += len(names)
    return PurgeResult(media=media_count, files=files)


@job_kind(PURGE_JOB, _POLICY)
async def run_purge(ctx: JobContext) -> None:
    settings: Settings = ctx.services["settings"]
    domain: str = ctx.payload["domain"]
    policy = await domain_policy(domain)
    if ctx.payload.get("content"):
        if policy is None or not policy.suspended:
            return  # lifted or softened meanwhile: nothing to purge any more
        result = await purge_content(settings, domain)
    else:
        if policy is None or not policy.media_rejected:
            return
        result = await purge_media(settings, domain)
    log.info("domain purged", extra={"domain": domain, "statuses": result.statuses, "media": result.media,
                                     "files": result.files})
