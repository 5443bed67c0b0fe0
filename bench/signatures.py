"""HTTP signature cost: signed requests per second and verified requests per second, RSA-2048, one core.

    .venv/bin/python -m bench.signatures [--count 2000]

Prints figures; asserts nothing (benchmarks are never timed tests). Signing is ``sign_request`` for an inbox
POST (Digest + RSA signature, private key cached); verifying is ``verify_request`` for the same request with
an in-memory key resolver (parsing, Date window, Digest over the body, RSA verification), i.e. the inbox's
signature cost without any network fetch. RFC 9421 verification is printed alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timezone

from activitypub.keys import generate_rsa_keypair
from activitypub.rfc9421 import sign_request_rfc9421
from activitypub.signatures import PublicKeyRecord, sign_request, verify_request

KEY_ID = "https://remote.example/users/bob#main-key"
URL = "https://art.example/users/alice/inbox"
PATH = "/users/alice/inbox"
BODY = (b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Create",'
        b'"actor":"https://remote.example/users/bob","object":{"type":"Note","content":"'
        + b"x" * 800 + b'"}}')


def rate(count: int, work: Callable[[], object]) -> tuple[float, float]:
    """(operations per wall-clock second, CPU microseconds per operation)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, cpu / count * 1e6


async def verify_rate(count: int, headers: dict[str, str], record: PublicKeyRecord,
                      now: datetime) -> tuple[float, float]:
    async def resolve(key_id: str, refresh: bool) -> PublicKeyRecord:
        return record

    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        await verify_request("POST", PATH, headers, BODY, resolve, now=now)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, cpu / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    keys = generate_rsa_keypair()
    record = PublicKeyRecord(KEY_ID, "https://remote.example/users/bob", keys.public_pem)
    now = datetime.now(timezone.utc)
    headers = {"Content-Type": "application/activity+json"}
    print(f"RSA-2048, body {len(BODY)} bytes, {args.count} operations each, one process")

    signs, sign_cpu = rate(args.count,
                           lambda: sign_request("POST", URL, headers, BODY, KEY_ID, keys.private_pem))
    print(f"cavage   sign    {signs:8.0f} /s   {sign_cpu:7.1f} us CPU each")

    cavage = sign_request("POST", URL, headers, BODY, KEY_ID, keys.private_pem, now=now)
    verifies, verify_cpu = asyncio.run(verify_rate(args.count, cavage, record, now))
    print(f"cavage   verify  {verifies:8.0f} /s   {verify_cpu:7.1f} us CPU each")

    rfc = sign_request_rfc9421("POST", URL, headers, BODY, KEY_ID, keys.private_pem, now=now)
    verifies, verify_cpu = asyncio.run(verify_rate(args.count, rfc, record, now))
    print(f"rfc9421  verify  {verifies:8.0f} /s   {verify_cpu:7.1f} us CPU each")


if __name__ == "__main__":
    main()
