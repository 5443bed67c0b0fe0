"""Real `cara-fed worker` processes sharing one database: crash recovery and exclusive claims."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import tests.support.job_plugin  # noqa: F401 - registers test.* kinds for enqueue
from cara_fed.jobs import queue
from cara_fed.models import Job
from cara_fed.models.jobs import DONE, RUNNING
from cara_fed.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database")]

REPO = Path(__file__).resolve().parents[2]


def write_config(settings: Settings, path: Path, *, lease_seconds: float, concurrency: int = 4) -> Path:
    path.write_text(
        f'[database]\nurl = "{settings.database.url}"\n'
        f"[jobs]\nlease_seconds = {lease_seconds}\npoll_seconds = 0.05\nconcurrency = {concurrency}\n"
        '[logging]\nformat = "text"\nlevel = "warning"\n')
    return path


def start_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARA_FED_")}
    env["PYTHONPATH"] = str(REPO)
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tests.support.plugin_worker", "--config", str(config),
                                 "worker"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


async def wait_for(predicate, what: str, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


async def test_a_job_held_by_a_killed_worker_completes_once_on_another(settings: Settings, tmp_path: Path) -> None:
    gate, started, effects = tmp_path / "gate", tmp_path / "started.log", tmp_path / "effects.log"
    job = await queue.enqueue("test.effect", {"gate": str(gate), "started": str(started), "effects": str(effects)})
    assert job is not None
    config = write_config(settings, tmp_path / "cara.toml", lease_seconds=1.0)

    first = start_worker(config, tmp_path / "worker1.log")
    try:
        async def first_holds_it() -> bool:
            return started.exists() and bool(started.read_text().strip())
        await wait_for(first_holds_it, "the first worker to start the job")
        held = await Job.get(id=job.id)
        assert held.state == RUNNING and held.locked_by is not None and str(first.pid) in held.locked_by
    finally:
        first.kill()  # SIGKILL: no cleanup, no lease release
        first.wait(timeout=10)

    gate.touch()
    second = start_worker(config, tmp_path / "worker2.log")
    try:
        async def done() -> bool:
            return (await Job.get(id=job.id)).state == DONE
        await wait_for(done, "the second worker to finish the job")
        assert stop(second) == 0, (tmp_path / "worker2.log").read_text()
    finally:
        if second.poll() is None:
            second.kill()

    starts = [line.split() for line in started.read_text().splitlines()]
    assert [(s[1], s[2]) for s in starts] == [("1", str(first.pid)), ("2", str(second.pid))]
    assert effects.read_text().splitlines() == [f"{job.id} 2 {second.pid}"]  # the effect happened once
    finished = await Job.get(id=job.id)
    assert finished.attempts == 2 and finished.last_error is None


async def test_two_workers_never_run_the_same_job_twice(settings: Settings, tmp_path: Path) -> None:
    """On PostgreSQL the claim uses FOR UPDATE SKIP LOCKED; on SQLite one writer at a time. Either way
    each job starts exactly once even with both workers polling the same rows."""
    log = tmp_path / "spans.log"
    jobs = [await queue.enqueue("test.span", {"log": str(log), "seconds": 0.02}) for _ in range(80)]
    ids = {str(j.id) for j in jobs if j is not None}
    config = write_config(settings, tmp_path / "cara.toml", lease_seconds=30.0, concurrency=4)
    workers = [start_worker(config, tmp_path / f"worker{n}.log") for n in (1, 2)]
    try:
        async def all_done() -> bool:
            return await Job.filter(state=DONE).count() == len(ids)
        await wait_for(all_done, "both workers to finish every job", seconds=90)
        assert [stop(w) for w in workers] == [0, 0]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()

    events = [line.split() for line in log.read_text().splitlines()]
    starts = Counter(e[1] for e in events if e[0] == "start")
    ends = Counter(e[1] for e in events if e[0] == "end")
    assert set(starts) == ids and set(ends) == ids
    assert set(starts.values()) == {1} and set(ends.values()) == {1}  # never twice, so never twice at once
    assert (await Job.filter(state=DONE).values_list("attempts", flat=True)) == [1] * len(ids)
    ran_by = Counter(e[2] for e in events if e[0] == "start")
    assert set(ran_by) <= {str(w.pid) for w in workers}
