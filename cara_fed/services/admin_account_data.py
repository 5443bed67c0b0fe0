"""Deleting the data of a suspended account (``DELETE /api/v1/admin/accounts/:id``, Mastodon's
Admin::AccountDeletionWorker running DeleteAccountService with ``reserve_username`` and ``reserve_email``).

Mastodon's rules (app/policies/account_policy.rb ``destroy?``: the account must be suspended; the
permission is "Delete User Data", an admin's here): its posts (and with them their works, pins, mentions,
edits and the favourites and boosts of them), media files, avatar and header, favourites, bookmarks,
follows both ways, follow requests, blocks, mutes, series and notifications go. The account row stays,
suspended, and so does a local account's login (suspended, its tokens revoked), so that the name and
the email cannot be taken by someone else: other servers may still hold the old actor's posts
and links. The ``Delete`` of a local actor was federated when it was suspended.

Work goes in batches, each in its own transaction, and the files go after each commit: a crash part-way
leaves a consistent database, and running the deletion again finishes it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from cara_fed.errors import Forbidden, NotFound
from cara_fed.models import (
    Account, Block, Bookmark, Favourite, Follow, FollowRequest, MediaAttachment, Mute, Notification,
    OAuthCode, OAuthToken, Series, Status, User,
)
from cara_fed.services.media import forget_files
from cara_fed.services.staff import require_admin, require_over
from cara_fed.settings import Settings

log = logging.getLogger(__name__)

BATCH = 200
NOT_SUSPENDED = "Only a suspended account's data can be deleted: suspend it first"


@dataclass(frozen=True)
class DeletedData:
    account_id: int
    statuses: int
    media: int
    files: int


def _names(media: MediaAttachment) -> list[str]:
    names = [n for n in (media.files or {}).values() if isinstance(n, str)]
    if media.file_path and media.file_path not in names:
        names.append(media.file_path)
    return names


async def delete_account_data(settings: Settings, by: User | None, account_id: int) -> DeletedData:
    """Delete what a suspended account left here (admins only; 403 when it is not suspended)."""
    require_admin(by)
    account = await Account.get_or_none(id=account_id)
    user = await User.get_or_none(account_id=account_id) if account is not None else None
    if account is None or (account.domain is None and user is None):
        raise NotFound("Record not found")
    require_over(by, user)
    if account.suspended_at is None:
        raise Forbidden(NOT_SUSPENDED)
    statuses = media_count = files = 0
    while True:  # posts and their media, a batch at a time
        status_ids = list(await Status.filter(account_id=account.id).limit(BATCH)
                          .values_list("id", flat=True))
        media = list(await MediaAttachment.filter(status_id__in=status_ids)) if status_ids else \
            list(await MediaAttachment.filter(account_id=account.id).limit(BATCH))
        if not status_ids and not media:
            break
        names = [n for m in media for n in _names(m)]
        async with in_transaction() as conn:
            await MediaAttachment.filter(id__in=[m.id for m in media]).using_db(conn).delete()
            if status_ids:
                await Status.filter(id__in=status_ids).using_db(conn).delete()
        await forget_files(settings, names)  # after the commit: a rolled-back batch keeps its files
        statuses += len(status_ids)
        media_count += len(media)
        files += len(names)
    images = [p for p in (account.avatar_path, account.header_path) if p]
    async with in_transaction() as conn:
        for model in (Favourite, Bookmark, Series):
            await model.filter(account_id=account.id).using_db(conn).delete()
        for model in (Follow, FollowRequest, Block, Mute):
            await model.filter(account_id=account.id).using_db(conn).delete()
            await model.filter(target_account_id=account.id).using_db(conn).delete()
        await Notification.filter(account_id=account.id).using_db(conn).delete()
        await Notification.filter(from_account_id=account.id).using_db(conn).delete()
        await Account.filter(id=account.id).using_db(conn).update(
            avatar_path=None, header_path=None, avatar_remote_url=None, header_remote_url=None,
            display_name="", note="", note_source="", profile_fields=[])
        if user is not None:
            now = datetime.now(UTC)
            await OAuthToken.filter(user_id=user.id, revoked_at=None).using_db(conn).update(revoked_at=now)
            await OAuthCode.filter(user_id=user.id).using_db(conn).delete()
    await forget_files(settings, images)
    files += len(images)
    log.info("account data deleted", extra={"account_id": account.id, "statuses": statuses,
                                            "media": media_count, "files": files,
                                            "by": by.account_id if by else None})
    return DeletedData(account_id=account.id, statuses=statuses, media=media_count, files=files)
