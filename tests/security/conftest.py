"""The attacker's workbench for tests/security (security.md sections A, B, D, F).

One live cara_fed instance, ``a.example`` (tests/support/instances.py), with a local user ``mira``. The
fake fediverse plays the remote servers: Eve (``remote.example``, the rsa_keypair fixture's key) and Bob
(``other.example``, a key made once per module) are served as actors and are already known to the instance
(fetched once, as after earlier interactions), so "nothing stored" can be checked strictly: after an attack
the tables must be exactly as before, apart from the fetch timestamps of those two known actors (a failed
signature may refetch the signer, security.md item 18).

Requests are signed here, with ``activitypub.signatures.sign_request`` or by hand (``forge_signature``, an
independent draft-cavage implementation, so a broken header can be built field by field), and POSTed over
real HTTPS through ``fediverse.session()``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yarl
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from activitypub.keys import KeyPair, generate_rsa_keypair
from activitypub.signatures import sign_request
from cara_fed.federation.delivery import DELIVER_JOB, FANOUT_JOB
from cara_fed.federation.inbox import INBOX_JOB
from cara_fed.models import (
    Account, ActivityTombstone, Block, Favourite, Follow, FollowRequest, Job, MediaAttachment, Mention,
    Notification, Report, Status, StatusPin, Tag,
)
from tests.support.databases import DatabaseFactory
from tests.support.fakefed import FakeFediverse
from tests.support.instances import Instance, drain, instances
from tests.support.tls import FAKE_DNS_NAMES, FakeTLS

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
LOCAL = "https://a.example"
MIRA = f"{LOCAL}/users/mira"
EVE = "https://remote.example/users/eve"
EVE_KEY = f"{EVE}#main-key"
BOB = "https://other.example/users/bob"
BOB_KEY = f"{BOB}#main-key"

# Columns that legitimately move when a known actor is refetched (a failed signature refetches the signer
# once, security.md item 18); every other column of every row must stay as it was.
REFRESH_COLUMNS = frozenset({"updated_at", "last_fetched_at"})
WATCHED = {
    "accounts": Account, "statuses": Status, "follows": Follow, "follow_requests": FollowRequest,
    "favourites": Favourite, "notifications": Notification, "mentions": Mention,
    "media_attachments": MediaAttachment, "tags": Tag, "status_pins": StatusPin, "blocks": Block,
    "reports": Report, "activity_tombstones": ActivityTombstone,
}
OUTGOING_JOBS = (DELIVER_JOB, FANOUT_JOB)

_ids = itertools.count(1)


def new_id(actor: str, kind: str = "activities") -> str:
    """A fresh id on the actor's origin (``https://remote.example/activities/7``...)."""
    origin = actor.split("/users/", 1)[0]
    return f"{origin}/{kind}/{next(_ids)}"


def actor_document(uri: str, public_pem: str, *, key_id: str | None = None, **extra: Any) -> dict[str, Any]:
    username = uri.rstrip("/").rsplit("/", 1)[-1]
    origin = uri.split("/users/", 1)[0]
    return {
        "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
        "id": uri, "type": "Person", "preferredUsername": username, "name": username.title(),
        "inbox": f"{uri}/inbox", "outbox": f"{uri}/outbox", "followers": f"{uri}/followers",
        "endpoints": {"sharedInbox": f"{origin}/inbox"},
        "publicKey": {"id": key_id or f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem},
        **extra,
    }


def note(author: str, content: str = "<p>hello</p>", *, note_id: str | None = None,
         to: Sequence[str] = (PUBLIC,), cc: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    return {"id": note_id or new_id(author, "notes"), "type": "Note", "attributedTo": author,
            "content": content, "to": list(to), "cc": list(cc), "published": "2024-05-01T12:00:00Z", **extra}


def activity(kind: str, actor: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {"@context": AS_CONTEXT, "id": new_id(actor), "type": kind, "actor": actor, "object": obj, **extra}


def create(actor: str, obj: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return activity("Create", actor, obj, to=obj.get("to", [PUBLIC]), cc=obj.get("cc", []), **extra)


def http_date(moment: datetime | None = None) -> str:
    return format_datetime(moment or datetime.now(UTC), usegmt=True)


def sha256_digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def signing_string(names: Iterable[str], method: str, target: str, headers: Mapping[str, str],
                   created: str | None = None) -> bytes:
    """draft-cavage-12 section 2.3, written independently of the code under test."""
    lowered = {k.lower(): v for k, v in headers.items()}
    lines = []
    for name in names:
        if name == "(request-target)":
            value = f"{method.lower()} {target}"
        elif name == "(created)":
            value = created or ""
        else:
            value = lowered[name]
        lines.append(f"{name}: {value}")
    return "\n".join(lines).encode("latin-1")


def rsa_sign(private_pem: str, message: bytes) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def forge_signature(*, key_id: str, names: Sequence[str], signature: str,
                    algorithm: str | None = "rsa-sha256", extra: str = "") -> str:
    params = [f'keyId="{key_id}"']
    if algorithm is not None:
        params.append(f'algorithm="{algorithm}"')
    params += [f'headers="{" ".join(names)}"', f'signature="{signature}"']
    return ",".join(params) + extra


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, dict[int, dict[str, Any]]]
    outgoing_jobs: frozenset[int]


@dataclass
class Site:
    """The instance under attack and the attacker's tools."""

    instance: Instance
    fediverse: FakeFediverse
    session: aiohttp.ClientSession
    eve_keys: KeyPair
    bob_keys: KeyPair
    mira: Account

    # -- sending ------------------------------------------------------------------------------------------

    async def post(self, body: Any, *, path: str = "/inbox", key_id: str = EVE_KEY,
                   private_pem: str | None = None, sign: bool = True) -> tuple[int, bytes]:
        """POST ``body`` (a dict is sent as JSON) to ``https://a.example{path}``, signed as Mastodon signs
        with ``key_id`` (Eve's key by default, Bob's for his key ids) unless ``sign`` is False. Broken
        signatures are built by hand and sent with ``raw_post``."""
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        url = f"{LOCAL}{path}"
        base = {"Content-Type": "application/activity+json"}
        default = self.bob_keys if key_id.startswith(BOB) else self.eve_keys
        pem = private_pem or default.private_pem
        sent = sign_request("POST", url, base, raw, key_id, pem) if sign else base
        return await self.raw_post(url, raw, sent)

    async def raw_post(self, url: str, body: Any, headers: Mapping[str, str]) -> tuple[int, bytes]:
        async with self.session.post(yarl.URL(url, encoded=True), data=body, headers=dict(headers),
                                     skip_auto_headers=("Content-Type",)) as resp:
            return resp.status, await resp.read()

    # -- the instance's side ------------------------------------------------------------------------------

    async def drain(self) -> None:
        await drain(self.instance)

    def db(self) -> Any:
        return self.instance.db()

    async def snapshot(self) -> Snapshot:
        with self.db():
            tables = {}
            for name, model in WATCHED.items():
                rows = await model.all().values()
                tables[name] = {row["id"]: row for row in rows}
            jobs = frozenset(await Job.filter(kind__in=OUTGOING_JOBS).values_list("id", flat=True))
        return Snapshot(tables, jobs)

    async def assert_unchanged(self, before: Snapshot, *, new_actors: Iterable[str] = (),
                               ignore: Mapping[str, Iterable[int]] | None = None) -> None:
        """No row added, removed or changed in the watched tables and no delivery queued. ``new_actors``:
        remote actors whose first fetch legitimately stored them; ``ignore``: new row ids per table that the
        test checked itself (say which, and why, in the test)."""
        after = await self.snapshot()
        allowed = set(new_actors)
        for name in WATCHED:
            old, new = before.tables[name], after.tables[name]
            skipped = set((ignore or {}).get(name, ()))
            added = {i: r for i, r in new.items() if i not in old and i not in skipped}
            if name == "accounts":
                added = {i: r for i, r in added.items() if r["uri"] not in allowed}
                strip = REFRESH_COLUMNS
            else:
                strip = frozenset()
            assert not added, f"{name}: rows stored by the attack: {list(added.values())}"
            removed = [r for i, r in old.items() if i not in new]
            assert not removed, f"{name}: rows removed by the attack: {removed}"
            changed = [(r, new[i]) for i, r in old.items() if i in new and
                       {k: v for k, v in r.items() if k not in strip} !=
                       {k: v for k, v in new[i].items() if k not in strip}]
            assert not changed, f"{name}: rows changed by the attack: {changed}"
        queued = after.outgoing_jobs - before.outgoing_jobs
        assert not queued, f"deliveries queued by the attack: {sorted(queued)}"
        await self.assert_no_failed_jobs()

    async def assert_no_failed_jobs(self) -> None:
        """A handler that raised is a bug whatever the input (the job would be retried for a day)."""
        with self.db():
            failed = await Job.filter(last_error__isnull=False).values_list("kind", "last_error")
        assert not failed, f"jobs failed: {failed}"

    async def inbox_jobs(self) -> int:
        with self.db():
            return await Job.filter(kind=INBOX_JOB).count()

    def requests_to(self, prefix: str, method: str = "GET") -> list[str]:
        return [r.url for r in self.fediverse.requests if r.method == method and r.url.startswith(prefix)]

    async def status(self, uri: str) -> Status | None:
        with self.db():
            return await Status.filter(uri=uri).first()


# Host names the attacks use beyond tests/support/tls.py's list (its certificate names hosts one by one).
ATTACK_DNS_NAMES = ("other.example", "sub.remote.example", "context.example", "gone.example")


@pytest.fixture(scope="session")
def test_tls(tmp_path_factory: pytest.TempPathFactory) -> FakeTLS:
    """The fake fediverse's TLS, as tests/conftest.py's, with a certificate naming the attack hosts too."""
    directory = tmp_path_factory.mktemp("security-tls")
    now = datetime.now(UTC)
    lifetime = (now - timedelta(minutes=5), now + timedelta(days=2))
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cara_fed security test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(lifetime[0]).not_valid_after(lifetime[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256()))
    names = dict.fromkeys((*FAKE_DNS_NAMES, *ATTACK_DNS_NAMES))
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake fediverse")]))
        .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(lifetime[0]).not_valid_after(lifetime[1])
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256()))
    tls = FakeTLS(ca_file=directory / "ca.pem", cert_file=directory / "leaf.pem",
                  key_file=directory / "leaf.key")
    tls.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    tls.cert_file.write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    tls.key_file.write_bytes(leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return tls


@pytest.fixture(scope="module")
def bob_keys() -> KeyPair:
    """Bob's key: a second real RSA key, generated once per module."""
    return generate_rsa_keypair()


@pytest.fixture
async def site(database_factory: DatabaseFactory, fediverse: FakeFediverse, tmp_path: Path,
               rsa_keypair: KeyPair, bob_keys: KeyPair) -> AsyncIterator[Site]:
    fediverse.serve(EVE, actor_document(EVE, rsa_keypair.public_pem))
    fediverse.serve(BOB, actor_document(BOB, bob_keys.public_pem))
    async with instances(["a.example"], database_factory, fediverse, tmp_path) as (instance,), \
            fediverse.session() as session:
        mira = await instance.user("mira")
        with instance.db():  # Eve and Bob are known already (fetched once, as after earlier interactions)
            await instance.federation.actors.get_actor(EVE)
            await instance.federation.actors.get_actor(BOB)
        fediverse.requests.clear()
        yield Site(instance=instance, fediverse=fediverse, session=session, eve_keys=rsa_keypair,
                   bob_keys=bob_keys, mira=mira)
