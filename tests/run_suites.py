"""`make test`: the whole suite on SQLite, then the whole suite on PostgreSQL.

PostgreSQL must be reachable (CI has it). Locally, CARA_FED_TEST_PG=0 skips that pass, and says so loudly:
a skipped pass is not a green one.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg

from tests.support.databases import PG_ADMIN_URL


def _banner(text: str) -> None:
    line = "=" * 78
    print(f"\n{line}\n{text}\n{line}", flush=True)


async def _postgres_error() -> str | None:
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1), timeout=5)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def _pytest(backend: str, extra: list[str]) -> int:
    _banner(f"cara_fed test suite on {backend}")
    env = {**os.environ, "CARA_FED_TEST_DB": backend}
    return subprocess.call([sys.executable, "-m", "pytest", "-q", *extra], env=env)


def main() -> int:
    extra = sys.argv[1:]
    results = {"sqlite": _pytest("sqlite", extra)}
    if os.environ.get("CARA_FED_TEST_PG", "1") == "0":
        _banner("WARNING: CARA_FED_TEST_PG=0: the PostgreSQL pass was SKIPPED. CI runs it; so should you.")
    else:
        error = asyncio.run(_postgres_error())
        if error is not None:
            _banner(f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({error}).\n"
                    "Start it (or set CARA_FED_TEST_PG_URL), or set CARA_FED_TEST_PG=0 to skip that pass locally.")
            return 1
        results["postgres"] = _pytest("postgres", extra)
    _banner("summary: " + ", ".join(f"{name} {'passed' if code == 0 else 'FAILED'}" for name, code in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
