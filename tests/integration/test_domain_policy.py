"""Domain policy through its services (the admin surfaces call them) and what clients see of it over HTTP:
suspending a domain severs follows both ways and purges its cached posts and media files (a job written
with the block); silencing hides its accounts from public timelines and lifting it restores them;
reject_media removes cached files but keeps the attachments as links; the public list of blocks
(obfuscated, digested, audience settings); the instance's rules and extended description; Mastodon's CSV
of domain blocks, imported from a realistic export and exported back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp
import pytest

from activitypub.keys import KeyPair
from cara_fed.errors import ValidationFailed
from cara_fed.models import (
    Account, DomainBlock, Favourite, Follow, FollowRequest, Job, MediaAttachment, Notification, Status,
)
from cara_fed.services import domain_blocks_csv, domain_policy, instance_rules
from cara_fed.services.domain_names import normalize_domain
from cara_fed.services.domain_purge import PURGE_JOB
from cara_fed.services.media import storage_at
from cara_fed.settings import Settings
from tests.integration.api.peers import Peer, remote_account, run_jobs
from tests.support.api import Api, ApiUser, make_user
from tests.support.fakefed import FakeFediverse
from tests.support.openapi import assert_entities, assert_entity
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(instance={"contact_email": "admin@art.example"})  # the Instance entity needs one


@pytest.fixture
def api(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    return Api(http, server.url)


async def cached_image(settings: Settings, account: Account, status: Status | None
                       ) -> tuple[MediaAttachment, Path]:
    """A remote attachment whose file was cached here (as services/remote_media.py leaves it)."""
    storage = storage_at(settings.media.root)
    name = storage.save(b"RIFF....WEBPVP8 fake pixels", "webp")
    media = await MediaAttachment.create(account=account, status=status, type="image", files={"full": name},
                                         remote_url=f"{account.uri}/media/1.png", file_path=name)
    return media, storage.path(name)


async def remote_post(account: Account, n: int, **fields: object) -> Status:
    return await Status.create(account=account, uri=f"{account.uri}/statuses/{n}", local=False,
                               visibility="public", content=f"<p>post {n}</p>", **fields)


# -- suspend -------------------------------------------------------------------------------------------------

async def test_suspend_severs_follows_and_purges_content(settings: Settings, fediverse: FakeFediverse,
                                                         rsa_keypair: KeyPair) -> None:
    mira = await make_user("mira")
    eve = await remote_account(Peer(fediverse, rsa_keypair, "eve", host="bad.example"))
    sub = await remote_account(Peer(fediverse, rsa_keypair, "sam", host="sub.bad.example"))
    bob = await remote_account(Peer(fediverse, rsa_keypair, "bob", host="good.example"))
    await Follow.create(account=eve, target_account=mira.account)
    await Follow.create(account=mira.account, target_account=sub)
    await FollowRequest.create(account=mira.account, target_account=eve)
    await Follow.create(account=bob, target_account=mira.account)
    await Notification.create(account=mira.account, from_account=eve, type="follow")
    eve_post, sub_post = await remote_post(eve, 1), await remote_post(sub, 2)
    bob_post = await remote_post(bob, 3)
    media, path = await cached_image(settings, eve, eve_post)
    bob_media, bob_path = await cached_image(settings, bob, bob_post)
    mine = await Status.create(account=mira.account, local=True, visibility="public", content="<p>mine</p>")
    await Favourite.create(account=eve, status=mine)

    block = await domain_policy.block_domain("BAD.example.", severity="suspend", private_comment="spam wave")
    assert block.domain == "bad.example"

    # At once: accounts suspended (with the block's time), follows and requests gone both ways.
    for account in (eve, sub):
        assert (await Account.get(id=account.id)).suspended_at == block.created_at
    assert (await Account.get(id=bob.id)).suspended_at is None
    assert await Follow.filter(account_id__in=[eve.id, sub.id]).count() == 0
    assert await Follow.filter(target_account_id__in=[eve.id, sub.id]).count() == 0
    assert await FollowRequest.all().count() == 0
    assert await Follow.filter(account_id=bob.id).count() == 1
    assert await Job.filter(kind=PURGE_JOB).count() == 1  # the purge, queued with the block

    await run_jobs(settings, fediverse)
    assert not await Status.filter(id__in=[eve_post.id, sub_post.id]).exists()
    assert not await MediaAttachment.filter(id=media.id).exists() and not path.exists()
    assert await Status.filter(id=bob_post.id).exists() and bob_path.exists()
    assert await MediaAttachment.filter(id=bob_media.id).exists()
    assert not await Favourite.filter(account_id=eve.id).exists()
    assert not await Notification.filter(from_account_id=eve.id).exists()
    assert await Account.filter(id=eve.id).exists()  # the account stays, suspended (reports keep it)


async def test_lifting_a_suspension_restores_the_accounts_it_marked(fediverse: FakeFediverse,
                                                                    rsa_keypair: KeyPair) -> None:
    eve = await remote_account(Peer(fediverse, rsa_keypair, "eve", host="bad.example"))
    earlier = await remote_account(Peer(fediverse, rsa_keypair, "old", host="bad.example"))
    await Account.filter(id=earlier.id).update(suspended_at=eve.created_at)  # suspended on its own before
    block = await domain_policy.block_domain("bad.example")
    await domain_policy.unblock_domain(block.id)
    assert (await Account.get(id=eve.id)).suspended_at is None
    assert (await Account.get(id=earlier.id)).suspended_at == eve.created_at  # not the block's doing
    assert not await DomainBlock.exists()


async def test_a_purge_does_nothing_once_the_block_is_lifted(settings: Settings, fediverse: FakeFediverse,
                                                             rsa_keypair: KeyPair) -> None:
    eve = await remote_account(Peer(fediverse, rsa_keypair, "eve", host="bad.example"))
    post = await remote_post(eve, 1)
    block = await domain_policy.block_domain("bad.example")
    await domain_policy.unblock_domain(block.id)
    await run_jobs(settings, fediverse)
    assert await Status.filter(id=post.id).exists()


# -- silence (limit) ----------------------------------------------------------------------------------------

async def test_silence_hides_from_public_timelines_until_lifted(api: Api, fediverse: FakeFediverse,
                                                                rsa_keypair: KeyPair) -> None:
    reader = await make_user("reader")
    eve = await remote_account(Peer(fediverse, rsa_keypair, "eve", host="loud.example"))
    bob = await remote_account(Peer(fediverse, rsa_keypair, "bob", host="good.example"))
    eve_post, bob_post = await remote_post(eve, 1), await remote_post(bob, 2)

    async def public_ids(who: ApiUser | None) -> set[str]:
        response = await api.get("/api/v1/timelines/public", who)
        assert response.status == 200, response.body
        return {s["id"] for s in response.body}

    assert str(eve_post.id) in await public_ids(None)
    block = await domain_policy.block_domain("loud.example", severity="silence")
    assert (await Account.get(id=eve.id)).silenced_at == block.created_at
    for who in (None, reader):
        assert await public_ids(who) == {str(bob_post.id)}
    tagged = await api.get("/api/v1/timelines/public", params={"remote": "true"})
    assert [s["id"] for s in tagged.body] == [str(bob_post.id)]

    await domain_policy.update_domain_block(block.id, severity="noop", reject_media=True)
    assert (await Account.get(id=eve.id)).silenced_at is None
    assert str(eve_post.id) in await public_ids(None)
    await domain_policy.update_domain_block(block.id, severity="silence")
    await domain_policy.unblock_domain(block.id)
    assert (await Account.get(id=eve.id)).silenced_at is None


async def test_an_account_silenced_on_its_own_stays_silenced(fediverse: FakeFediverse,
                                                             rsa_keypair: KeyPair) -> None:
    eve = await remote_account(Peer(fediverse, rsa_keypair, "eve", host="loud.example"))
    await Account.filter(id=eve.id).update(silenced_at=eve.created_at)
    block = await domain_policy.block_domain("loud.example", severity="silence")
    await domain_policy.unblock_domain(block.id)
    assert (await Account.get(id=eve.id)).silenced_at == eve.created_at


# -- reject media ------------------------------------------------------------------------------------------

async def test_reject_media_removes_cached_files_and_keeps_links(settings: Settings, fediverse: FakeFediverse,
                                                                 rsa_keypair: KeyPair) -> None:
    eve = await remote_account(Peer(fediverse, rsa_keypair, "eve", host="pics.example"))
    post = await remote_post(eve, 1)
    media, path = await cached_image(settings, eve, post)
    await domain_policy.block_domain("pics.example", severity="noop", reject_media=True)
    await run_jobs(settings, fediverse)
    kept = await MediaAttachment.get(id=media.id)
    assert kept.files is None and kept.file_path is None and kept.remote_url == media.remote_url
    assert not path.exists()
    assert await Status.filter(id=post.id).exists()
    assert (await Account.get(id=eve.id)).suspended_at is None


# -- validation and listing ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "stored"), [
    ("Example.COM", "example.com"), ("example.com.", "example.com"),
    ("https://example.com/about", "example.com"),
    ("exämple.com", "xn--exmple-cua.com"), ("example.com:8443", "example.com:8443"),
    ("example.com:443", "example.com")])
def test_domain_names_are_normalised(typed: str, stored: str) -> None:
    assert normalize_domain(typed) == stored


@pytest.mark.parametrize("typed", ["", "  ", "exa mple.com", "-bad-.com", "a..b", "x" * 64 + ".com",
                                   "host:99999"])
def test_bad_domain_names_are_refused(typed: str) -> None:
    with pytest.raises(ValidationFailed):
        normalize_domain(typed)


async def test_block_validation() -> None:
    await domain_policy.block_domain("bad.example")
    with pytest.raises(ValidationFailed, match="already been taken"):
        await domain_policy.block_domain("BAD.example")
    with pytest.raises(ValidationFailed, match="Severity"):
        await domain_policy.block_domain("other.example", severity="ban")
    with pytest.raises(ValidationFailed, match="too long"):
        await domain_policy.block_domain("other.example", public_comment="x" * 1001)
    assert await DomainBlock.all().count() == 1


# -- the public list and the instance's texts ----------------------------------------------------------------

async def test_public_domain_blocks(api: Api) -> None:
    await domain_policy.block_domain("quiet.example", severity="noop", reject_reports=True)
    await domain_policy.block_domain("loud.example", severity="silence", public_comment="Unmoderated spam")
    await domain_policy.block_domain("hatefulplace.example", severity="suspend", obfuscate=True,
                                     private_comment="see report 12")
    response = await api.get("/api/v1/instance/domain_blocks")
    assert response.status == 200, response.body
    assert_entities("DomainBlock", response.body)
    assert response.body == [
        {"domain": "loud.example", "digest": hashlib.sha256(b"loud.example").hexdigest(),
         "severity": "silence", "comment": "Unmoderated spam"},
        {"domain": "hatefu******.**ample", "digest": hashlib.sha256(b"hatefulplace.example").hexdigest(),
         "severity": "suspend", "comment": None},
    ]
    assert "see report" not in str(response.body)

    await instance_rules.set_domain_blocks_audience("users", "disabled")
    assert (await api.get("/api/v1/instance/domain_blocks")).status == 401
    reader = await make_user("reader")
    signed_in = await api.get("/api/v1/instance/domain_blocks", reader)
    assert signed_in.status == 200 and [b["comment"] for b in signed_in.body] == [None, None]
    await instance_rules.set_domain_blocks_audience("disabled", "disabled")
    assert (await api.get("/api/v1/instance/domain_blocks", reader)).status == 404


def test_obfuscation_matches_mastodon() -> None:
    # Mastodon's DomainBlock#public_domain keeps a quarter of the length visible at each end, and the dots.
    assert domain_policy.obfuscated("example.com") == "exa****.*om"
    assert domain_policy.obfuscated("hatefulplace.example") == "hatefu******.**ample"
    assert domain_policy.obfuscated("a.b") == "a.*"


async def test_rules_and_extended_description(api: Api, settings: Settings) -> None:
    assert (await api.get("/api/v1/instance/rules")).body == []
    first = await instance_rules.add_rule("Credit the artists you share", "Link the original post.")
    second = await instance_rules.add_rule("No AI-generated images")
    await instance_rules.update_rule(first.id, position=5)
    expected = [{"id": str(second.id), "text": "No AI-generated images", "hint": ""},
                {"id": str(first.id), "text": "Credit the artists you share",
                 "hint": "Link the original post."}]
    rules = await api.get("/api/v1/instance/rules")
    assert rules.status == 200 and rules.body == expected
    assert_entities("Rule", rules.body)
    assert (await api.get("/api/v2/instance")).body["rules"] == expected
    assert (await api.get("/api/v1/instance")).body["rules"] == expected
    with pytest.raises(ValidationFailed):
        await instance_rules.add_rule("x" * 301)

    default = await api.get("/api/v1/instance/extended_description")
    assert default.status == 200
    assert_entity("ExtendedDescription", default.body)
    await instance_rules.set_extended_description("Welcome, artists.\n\nBe kind <script>alert(1)</script>")
    changed = (await api.get("/api/v1/instance/extended_description")).body
    assert_entity("ExtendedDescription", changed)
    assert "Welcome, artists." in changed["content"] and "<script>" not in changed["content"]
    await instance_rules.set_extended_description("Welcome, artists.\n\nDraw every day.\nShare kindly.")
    assert (await api.get("/api/v1/instance/extended_description")).body["content"] == (
        "<p>Welcome, artists.</p><p>Draw every day.<br>Share kindly.</p>")
    await instance_rules.set_extended_description(
        '<p>Hi</p><script>alert(1)</script><a href="/about">about</a>')
    html = (await api.get("/api/v1/instance/extended_description")).body["content"]
    assert "<script>" not in html and "<p>Hi</p>" in html


# -- Mastodon's CSV ------------------------------------------------------------------------------------------

MASTODON_EXPORT = (
    "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
    "spam.example,suspend,false,false,Spam and harassment,false\n"
    "loud.example,silence,true,false,\"Unmoderated, lots of spam\",false\n"
    "hatefulplace.example,suspend,TRUE,TRUE,iftas:hate-speech;online-harassment,TRUE\n"
    "media.example,noop,true,false,,false\n"
    "sub.spam.example,suspend,false,false,,false\n"
    "bad domain,suspend,false,false,,false\n"
    "odd.example,sometimes,false,false,,false\n"
    "\n"
)


async def test_csv_import_of_a_mastodon_export_and_export_back() -> None:
    await domain_policy.block_domain("already.example", severity="silence")
    text = MASTODON_EXPORT + "already.example,suspend,false,false,,false\n"
    result = await domain_blocks_csv.import_csv(text, source="blocklist.csv")
    assert [b.domain for b in result.created] == ["spam.example", "loud.example", "hatefulplace.example",
                                                  "media.example"]
    skipped = dict(result.skipped)
    assert skipped["sub.spam.example"] == "already blocked"  # a parent's block covers it
    assert skipped["already.example"] == "already blocked"
    assert "not a domain name" in skipped["bad domain"]
    assert "sometimes" in skipped["odd.example"]
    hateful = await DomainBlock.get(domain="hatefulplace.example")
    assert (hateful.severity, hateful.reject_media, hateful.reject_reports, hateful.obfuscate) == (
        "suspend", True, True, True)
    assert hateful.public_comment == "iftas:hate-speech;online-harassment"
    assert hateful.private_comment.startswith("Imported from blocklist.csv on ")
    loud = await DomainBlock.get(domain="loud.example")
    assert (loud.severity, loud.reject_media, loud.public_comment) == (
        "silence", True, "Unmoderated, lots of spam")

    exported = await domain_blocks_csv.export_csv()
    assert exported.splitlines() == [
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate",
        "media.example,noop,true,false,,false",
        "already.example,silence,false,false,,false",
        "loud.example,silence,true,false,\"Unmoderated, lots of spam\",false",
        "hatefulplace.example,suspend,true,true,iftas:hate-speech;online-harassment,true",
        "spam.example,suspend,false,false,Spam and harassment,false",
    ]
    assert "Imported from" not in exported  # private comments stay here

    # Round trip: the export imported on an empty server gives the same blocks.
    for block in await DomainBlock.all():
        await domain_policy.unblock_domain(block.id)
    again = await domain_blocks_csv.import_csv(exported)
    assert not again.skipped
    assert await domain_blocks_csv.export_csv() == exported


async def test_csv_import_of_a_plain_domain_list() -> None:
    result = await domain_blocks_csv.import_csv("one.example\r\ntwo.example\r\n\r\n")
    assert [(b.domain, b.severity) for b in result.created] == [
        ("one.example", "suspend"), ("two.example", "suspend")]


async def test_allow_list_services() -> None:
    assert await domain_policy.allowlist_mode() is False
    await domain_policy.set_allowlist_mode(True)
    assert await domain_policy.allowlist_mode() is True
    allowed = await domain_policy.allow_domain("Friends.Example")
    assert (await domain_policy.allow_domain("friends.example")).id == allowed.id
    assert [a.domain for a in await domain_policy.list_domain_allows()] == ["friends.example"]
    await domain_policy.remove_domain_allow(allowed.id)
    await domain_policy.set_allowlist_mode(False)
    assert await domain_policy.allowlist_mode() is False
