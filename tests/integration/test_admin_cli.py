"""The admin commands of `cara-fed` (issue 7 point 7), run as real processes against the test's database
(SQLite or PostgreSQL): accounts, domains, reports, jobs, media prune and stats; one clear line per item,
JSON where a script reads it, exit 0 on success and a one-line failure otherwise (2 for usage errors)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cara_fed.models import (
    Account, DomainAllow, DomainBlock, InstanceSetting, Job, MediaAttachment, Report, User,
)
from cara_fed.models.jobs import DEAD, DONE, QUEUED
from cara_fed.services.media import storage_at
from cara_fed.settings import Settings
from tests.integration.admin_data import AdminWorld, pending_user, world
from tests.support.cli import CliResult, assert_one_line_failure, run_cli, write_config

pytestmark = pytest.mark.slow


@pytest.fixture
async def w(settings: Settings, database: None) -> AdminWorld:
    return await world(settings)


@pytest.fixture
def cli(tmp_path: Path, database_url: str, settings: Settings) -> Any:
    config = write_config(tmp_path, database_url)
    assert str(tmp_path / "media") == settings.media.root  # the files world() wrote are the CLI's too

    def run(*args: str) -> CliResult:
        return run_cli(["--config", str(config), *args], cwd=tmp_path)

    return run


def ok(result: CliResult) -> list[str]:
    assert result.code == 0, result
    assert "Traceback" not in result.stderr, result
    return result.stdout.splitlines()


async def test_accounts(cli: Any, w: AdminWorld) -> None:
    listed = ok(cli("accounts", "list"))
    assert listed[-1] == "4 account(s)" and any("@pem" in line and "pending" in line for line in listed)
    pending = json.loads(cli("accounts", "list", "--pending", "--json").stdout)
    assert [(a["username"], a["approved"], a["sign_up_reason"]) for a in pending] == [
        ("pem", False, "I paint harbours and want to show them here")]
    remote = json.loads(cli("accounts", "list", "--remote", "--json").stdout)
    assert {(a["username"], a["domain"], a["email"]) for a in remote} == {("spammer", "bad.example", None),
                                                                          ("pal", "good.example", None)}
    assert ok(cli("accounts", "approve", "pem")) == [f"approved @pem (id {w.pending.account_id})"]
    assert (await User.get(id=w.pending.id)).approved
    assert ok(cli("accounts", "approve", "pem")) == ["@pem was already approved"]
    late = await pending_user("late")
    assert ok(cli("accounts", "reject", "late")) == [
        "rejected the sign-up of @late (late@example.org); the account is deleted"]
    assert not await Account.exists(id=late.account_id)
    refused = cli("accounts", "reject", "ada")
    assert_one_line_failure(refused, 1, "@ada", "not waiting for approval")
    assert ok(cli("accounts", "suspend", "spammer@bad.example")) == [
        f"suspended @spammer@bad.example (id {w.remote.id})"]
    assert (await Account.get(id=w.remote.id)).suspended_at is not None
    assert ok(cli("accounts", "unsuspend", str(w.remote.id))) == [
        f"unsuspended @spammer@bad.example (id {w.remote.id})"]
    assert ok(cli("accounts", "silence", "ada"))[0].startswith("silenced @ada")
    assert ok(cli("accounts", "silence", "ada")) == ["@ada was already silenced"]
    assert ok(cli("accounts", "unsilence", "@ada"))[0].startswith("unsilenced @ada")
    assert ok(cli("accounts", "role", "ada", "moderator")) == ["@ada is now moderator"]
    assert (await User.get(id=w.artist.user.id)).role == "moderator"
    assert_one_line_failure(cli("accounts", "role", "root_admin", "user"), 1, "last admin")
    assert (await User.get(id=w.admin.user.id)).role == "admin"
    assert_one_line_failure(cli("accounts", "suspend", "nobody"), 1, "no account 'nobody'")
    assert_one_line_failure(cli("accounts", "approve", "pal@good.example"), 1, "remote account")
    assert cli("accounts", "role", "ada", "emperor").code == 2  # usage error
    assert cli("accounts").code == 2
    # The older `user suspend` keeps working beside them.
    assert ok(cli("user", "suspend", "ada")) == ["suspended ada"]
    suspended = json.loads(cli("accounts", "list", "--suspended", "--json").stdout)
    assert [a["username"] for a in suspended] == ["ada"]
    assert ok(cli("user", "unsuspend", "ada")) == ["unsuspended ada"]


async def test_disable_and_enable_a_login(cli: Any, w: AdminWorld) -> None:
    assert ok(cli("accounts", "disable", "ada")) == [f"disabled @ada (id {w.artist.account.id})"]
    assert (await User.get(id=w.artist.user.id)).disabled
    assert ok(cli("accounts", "disable", "ada")) == ["@ada was already disabled"]
    frozen = json.loads(cli("accounts", "list", "--disabled", "--json").stdout)
    assert [(a["username"], a["state"]) for a in frozen] == [("ada", "disabled")]
    assert any("@ada" in line and "disabled" in line for line in ok(cli("accounts", "list")))
    assert_one_line_failure(cli("accounts", "disable", "spammer@bad.example"), 1, "@spammer@bad.example",
                            "only local accounts have a login to disable")
    assert ok(cli("accounts", "enable", str(w.artist.account.id))) == [f"enabled @ada (id {w.artist.account.id})"]
    assert ok(cli("accounts", "enable", "ada")) == ["@ada was not disabled"]
    assert not await User.filter(disabled=True).exists()
    assert json.loads(cli("accounts", "list", "--disabled", "--json").stdout) == []


async def test_domains(cli: Any, tmp_path: Path, w: AdminWorld) -> None:
    assert ok(cli("domains", "block", "Evil.Example", "--reject-media", "--comment", "raids",
                  "--public-comment", "harassment")) == ["blocked evil.example: suspend (reject-media)"]
    block = await DomainBlock.get(domain="evil.example")
    assert (block.severity, block.reject_media, block.private_comment, block.public_comment) == (
        "suspend", True, "raids", "harassment")
    assert ok(cli("domains", "block", "evil.example", "--severity", "silence", "--reject-reports")) == [
        "changed the block of evil.example: silence (reject-reports)"]
    assert ok(cli("domains", "block", "sub.limited.example")) == [
        "blocked sub.limited.example: suspend (inside limited.example, blocked silence)"]
    assert_one_line_failure(cli("domains", "block", "not a domain"), 1, "is not a domain name")
    listed = json.loads(cli("domains", "list", "--json").stdout)
    assert listed["allowlist_mode"] is False
    assert {b["domain"] for b in listed["blocks"]} == {"evil.example", "limited.example",
                                                       "sub.limited.example"}
    assert [a["domain"] for a in listed["allows"]] == ["friends.example"]
    text = ok(cli("domains", "list"))
    assert text[-1] == "3 blocked, 1 allowed; allow-list mode is off"
    assert ok(cli("domains", "unblock", "sub.limited.example")) == ["unblocked sub.limited.example"]
    assert_one_line_failure(cli("domains", "unblock", "never.example"), 1, "never.example is not blocked")
    assert ok(cli("domains", "allow", "Pals.Example")) == [
        "allowed pals.example; allow-list mode is off (the list applies once it is on)"]
    assert await DomainAllow.exists(domain="pals.example")
    assert ok(cli("domains", "disallow", "pals.example")) == ["took pals.example off the allow-list"]
    assert_one_line_failure(cli("domains", "disallow", "pals.example"), 1, "not on the allow-list")
    # Import a Mastodon export, export again.
    source = tmp_path / "mastodon-blocks.csv"
    source.write_text("#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
                      "spam.example,suspend,TRUE,false,spam,false\nevil.example,suspend,false,false,,false\n"
                      "bad domain!,suspend,false,false,,false\n", encoding="utf-8")
    imported = ok(cli("domains", "import", str(source)))
    assert imported[0] == "blocked spam.example: suspend (reject-media)"
    assert "skipped evil.example: already blocked" in imported and imported[-1] == "1 blocked, 2 skipped"
    imported_block = await DomainBlock.get(domain="spam.example")
    assert "Imported from mastodon-blocks.csv" in imported_block.private_comment
    assert_one_line_failure(cli("domains", "import", str(tmp_path / "missing.csv")), 1, "cannot read")
    exported = cli("domains", "export")
    lines = ok(exported)
    assert lines[0] == "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate"
    assert "spam.example,suspend,true,false,spam,false" in lines and "raids" not in exported.stdout
    target = tmp_path / "out.csv"
    assert ok(cli("domains", "export", str(target))) == [f"exported {len(lines) - 1} block(s) to {target}"]
    assert target.read_text(encoding="utf-8").splitlines() == lines
    assert_one_line_failure(cli("domains", "export", str(target)), 1, "exists")


async def test_reports_list(cli: Any, w: AdminWorld) -> None:
    await Report.filter(id=w.report_on_artist.id).update(action_taken_at=datetime.now(UTC))
    every = json.loads(cli("reports", "list", "--json").stdout)
    assert [(r["id"], r["state"]) for r in every] == [(str(w.report_on_artist.id), "resolved"),
                                                      (str(w.report.id), "open")]
    assert every[1]["target"] == "spammer@bad.example" and every[1]["reporter"] == "ada"
    assert every[1]["status_ids"] == [str(w.remote_post.id)] and every[1]["category"] == "spam"
    open_only = ok(cli("reports", "list", "--unresolved"))
    assert len(open_only) == 2 and open_only[-1] == "1 report(s)"
    assert "@spammer@bad.example" in open_only[0] and '"Selling my work as prints"' in open_only[0]


async def test_jobs(cli: Any, w: AdminWorld) -> None:
    dead = json.loads(cli("jobs", "list", "--state", "dead", "--json").stdout)
    assert [(j["id"], j["kind"], j["last_error"]) for j in dead] == [
        (str(w.dead_job.id), "federation.deliver", "HTTP 503 Service Unavailable")]
    lines = ok(cli("jobs", "list", "--kind", "federation.deliver"))
    assert lines[0].startswith(f"{w.dead_job.id} ") and "dead" in lines[0] and lines[-1] == "1 job(s)"
    assert ok(cli("jobs", "retry", str(w.dead_job.id))) == [
        f"queued job {w.dead_job.id} (federation.deliver) again"]
    assert (await Job.get(id=w.dead_job.id)).state == QUEUED
    assert_one_line_failure(cli("jobs", "retry", str(w.dead_job.id)), 1, "only dead jobs are retried")
    assert_one_line_failure(cli("jobs", "retry", "12345"), 1, "job 12345: not found")
    assert cli("jobs", "retry").code == 2
    await Job.filter(id=w.dead_job.id).update(state=DEAD)
    assert ok(cli("jobs", "retry", "--all-dead"))[-1] == "1 dead job(s) queued again"
    await Job.filter(id=w.dead_job.id).update(state=DONE, finished_at=datetime.now(UTC) - timedelta(hours=3))
    assert ok(cli("jobs", "purge", "--done", "--older-than", "5")) == ["deleted 0 done job(s) older than 5 h"]
    assert ok(cli("jobs", "purge", "--done", "--older-than", "2")) == ["deleted 1 done job(s) older than 2 h"]
    assert not await Job.exists(id=w.dead_job.id)
    assert ok(cli("jobs", "purge", "--dead")) == ["deleted 0 dead job(s)"]
    assert cli("jobs", "purge").code == 2 and cli("jobs", "list", "--state", "lost").code == 2
    # a kind registered by a module the command itself never imports is retried too (workers run it)
    purge_job = await Job.create(kind="domains.purge", payload={}, state=DEAD, max_attempts=5, run_after_ms=0,
                                 give_up_at_ms=0)
    assert ok(cli("jobs", "retry", str(purge_job.id))) == [f"queued job {purge_job.id} (domains.purge) again"]


async def test_media_prune(cli: Any, settings: Settings, w: AdminWorld) -> None:
    storage = storage_at(settings.media.root)
    old_file = storage.path(w.cached_media.file_path or "")
    forty_days_ago = datetime.now(UTC) - timedelta(days=40)
    await MediaAttachment.filter(id=w.cached_media.id).update(created_at=forty_days_ago)
    recent_name = storage.save(b"recent remote copy", "webp")
    recent = await MediaAttachment.create(account=w.remote, type="image", files={"full": recent_name},
                                          file_path=recent_name, remote_url="https://bad.example/media/2.png")
    upload_name = storage.save(b"an artist's own upload", "webp")
    upload = await MediaAttachment.create(account=w.artist.account, type="image", files={"full": upload_name},
                                          file_path=upload_name)
    await MediaAttachment.filter(id=upload.id).update(created_at=datetime.now(UTC) - timedelta(days=400))
    size = old_file.stat().st_size
    dry = ok(cli("media", "prune", "--days", "30", "--dry-run"))
    assert dry[0].startswith(f"would delete media {w.cached_media.id}: 1 file(s), {size} B")
    assert dry[-1] == f"would delete 1 file(s) of 1 remote attachment(s), {size} B"
    assert old_file.exists() and (await MediaAttachment.get(id=w.cached_media.id)).files is not None
    done = json.loads(cli("media", "prune", "--days", "30", "--json").stdout)
    assert (done["media"], done["files"], done["bytes"]) == (1, 1, size)
    assert not old_file.exists()
    pruned = await MediaAttachment.get(id=w.cached_media.id)
    assert (pruned.files, pruned.file_path, pruned.file_size) == (None, None, None)
    assert pruned.remote_url == f"{w.remote.uri}/media/1.png"  # it links the original again
    for kept, name in ((recent, recent_name), (upload, upload_name)):
        assert storage.path(name).exists() and (await MediaAttachment.get(id=kept.id)).file_path == name
    assert ok(cli("media", "prune", "--days", "0"))[-1].startswith("deleted 1 file(s) of 1 remote")
    assert not storage.path(recent_name).exists() and storage.path(upload_name).exists()
    assert cli("media", "prune").code == 2
    assert_one_line_failure(cli("media", "prune", "--days", "-1"), 2, "--days")


async def test_stats(cli: Any, w: AdminWorld) -> None:
    figures = json.loads(cli("stats", "--json").stdout)
    assert figures["accounts"] == {"local": 4, "local_active": 3, "pending": 1, "local_suspended": 0,
                                   "remote": 2, "remote_suspended": 0, "silenced": 0}
    assert figures["posts"] == {"local": 1, "remote": 1}
    assert figures["media"]["disk_files"] >= 1 and figures["media"]["remote_cached"] == 1
    assert figures["jobs"]["dead"] == 1 and figures["jobs"]["deliveries_queued"] == 0
    assert figures["hosts"] == {"failing": 1, "unreachable": 1, "unreachable_hosts": ["down.example"]}
    assert figures["reports_open"] == 2
    lines = ok(cli("stats"))
    assert lines[0] == ("accounts: 4 local (3 active, 1 pending, 0 suspended), 2 remote (0 suspended), "
                        "0 silenced")
    assert lines[-1] == "hosts: 1 failing, 1 unreachable: down.example"


async def test_a_bad_config_is_a_usage_error(tmp_path: Path, w: AdminWorld) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[instance]\ndomain = \"NOT A DOMAIN\"\n", encoding="utf-8")
    result = run_cli(["--config", str(broken), "stats"], cwd=tmp_path)
    assert_one_line_failure(result, 2, "configuration error")
    assert not await InstanceSetting.exists(key="x")


async def test_a_forked_command_answers_as_the_console_script_in_a_fresh_process(
        cli: Any, tmp_path: Path, database_url: str, w: AdminWorld) -> None:
    """run_cli forks each command from a pre-imported server (tests/support/cli_forkserver.py); here the
    same commands also run in a fresh interpreter, and must answer the same: exit code, stdout, stderr."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    purge = await Job.create(kind="domains.purge", payload={"domain": "gone.example"}, state=DEAD, attempts=3,
                             max_attempts=3, run_after_ms=now_ms, give_up_at_ms=now_ms, last_error="boom",
                             finished_at=datetime.now(UTC))
    config = str(write_config(tmp_path, database_url))
    for args, stdin in ((["jobs", "retry", str(purge.id)], None),
                        (["accounts", "list", "--json"], None),
                        (["user", "set-password", "ada"], ""),  # stdin at EOF: refused
                        (["accounts", "role", "ada", "emperor"], None)):  # argparse's usage error
        fresh = run_cli(["--config", config, *args], cwd=tmp_path, stdin=stdin, fresh=True)
        await Job.filter(id=purge.id).update(state=DEAD)  # as it was, whatever the fresh run did
        forked = run_cli(["--config", config, *args], cwd=tmp_path, stdin=stdin)
        assert (forked.code, forked.stdout, forked.stderr) == (fresh.code, fresh.stdout, fresh.stderr), \
            f"{forked}\n--- fresh:\n{fresh}"
