"""A small instance for the admin tests (pages, API, CLI, browser): staff, an artist, a sign-up waiting for
approval, remote accounts, a report with a post and its image, a domain block, an allowed domain, a rule,
an invite, a failing host and a dead delivery. Written straight to the test's database."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image

from cara_fed.federation.delivery import DELIVER_JOB
from cara_fed.jobs import queue
from cara_fed.models import (
    Account, DeliveryHost, DomainAllow, DomainBlock, Job, MediaAttachment, Report, Rule, Status, User,
)
from cara_fed.models.jobs import DEAD
from cara_fed.services import invites
from cara_fed.services.media import storage_at
from cara_fed.settings import Settings
from tests.support.api import ApiUser, make_user

ADMIN_SCOPES = "read write follow admin:read admin:write"


@dataclass
class AdminWorld:
    admin: ApiUser
    moderator: ApiUser
    artist: ApiUser
    pending: User  # waiting for approval, with a reason
    remote: Account  # @spammer@bad.example
    friend: Account  # @pal@good.example
    post: Status  # the artist's, reported
    remote_post: Status
    report: Report  # by the artist about the remote account, with its post
    report_on_artist: Report  # by the moderator about the artist
    block: DomainBlock  # silence on limited.example
    dead_job: Job
    cached_media: MediaAttachment  # a remote image cached here


async def staff(name: str, role: str, scopes: str = ADMIN_SCOPES) -> ApiUser:
    person = await make_user(name, scopes=scopes)
    await User.filter(id=person.user.id).update(role=role)
    person.user = await User.get(id=person.user.id)
    return person


async def pending_user(name: str, reason: str = "I paint harbours and want to show them here") -> User:
    person = await make_user(name)
    await User.filter(id=person.user.id).update(approved=False, sign_up_reason=reason)
    return await User.get(id=person.user.id).select_related("account")


async def remote(username: str, host: str) -> Account:
    uri = f"https://{host}/users/{username}"
    return await Account.create(username=username, domain=host, uri=uri, inbox_url=f"{uri}/inbox",
                                shared_inbox_url=f"https://{host}/inbox", url=f"https://{host}/@{username}",
                                display_name=username.title(), public_key_pem="", key_id=f"{uri}#main-key")


async def world(settings: Settings) -> AdminWorld:
    admin = await staff("root_admin", "admin")
    moderator = await staff("mod_mia", "moderator")
    artist = await make_user("ada", scopes="read write follow", display_name="Ada Painter")
    pending = await pending_user("pem")
    spammer = await remote("spammer", "bad.example")
    pal = await remote("pal", "good.example")
    post = await Status.create(account=artist.account, local=True, visibility="public",
                               content="<p>My harbour at dusk</p>", text="My harbour at dusk")
    remote_post = await Status.create(account=spammer, uri=f"{spammer.uri}/statuses/1", local=False,
                                      visibility="public", content="<p>Buy cheap prints</p>")
    storage = storage_at(settings.media.root)
    picture = io.BytesIO()
    Image.new("RGB", (96, 64), (180, 90, 40)).save(picture, "WEBP")
    name = storage.save(picture.getvalue(), "webp")
    cached = await MediaAttachment.create(account=spammer, status=remote_post, type="image",
                                          files={"full": name}, remote_url=f"{spammer.uri}/media/1.png",
                                          file_path=name,
                                          file_size=len(picture.getvalue()), description="A stolen painting")
    report = await Report.create(account=artist.account, target_account=spammer, status_ids=[remote_post.id],
                                 comment="Selling my work as prints", category="spam")
    report_on_artist = await Report.create(account=moderator.account, target_account=artist.account,
                                           status_ids=[post.id], comment="check this", category="other")
    block = await DomainBlock.create(domain="limited.example", severity="silence", public_comment="spam")
    await DomainAllow.create(domain="friends.example")
    await Rule.create(text="Credit the artists you share", hint="", position=0)
    await invites.create_invite(None, max_uses=5)
    await DeliveryHost.create(domain="down.example", failure_days=7, last_failure_day="2025-01-07",
                              last_error="HTTP 503 from https://down.example/inbox",
                              unreachable_since=datetime.now(UTC))
    job = await queue.enqueue(DELIVER_JOB, {"inbox": "https://down.example/inbox", "activity": {},
                                            "signer_id": artist.account.id})
    assert job is not None
    await Job.filter(id=job.id).update(state=DEAD, attempts=3, last_error="HTTP 503 Service Unavailable",
                                       finished_at=datetime.now(UTC))
    return AdminWorld(admin=admin, moderator=moderator, artist=artist, pending=pending, remote=spammer,
                      friend=pal, post=post, remote_post=remote_post, report=report,
                      report_on_artist=report_on_artist, block=block, dead_job=await Job.get(id=job.id),
                      cached_media=cached)
