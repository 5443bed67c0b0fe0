"""Remote accounts for the account API tests: an actor served by the fake fediverse (actor document and
WebFinger), signing what it sends to our inbox with a real key; and running this test's queued jobs
(deliveries to the fake inboxes, incoming activities) as a worker would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import yarl

from activitypub.keys import KeyPair
from activitypub.signatures import PublicKeyRecord, sign_request, verify_request
from cara_fed.federation.context import Federation
from cara_fed.federation.http import network_policy
from cara_fed.jobs.runner import JobRunner
from cara_fed.models import Account, Job
from cara_fed.models.jobs import DEAD
from cara_fed.settings import Settings
from tests.support.fakefed import FakeFediverse
from tests.support.servers import RunningServer

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
LOCAL = "https://art.example"
_ids = itertools.count(1)


@dataclass
class Peer:
    """``@username@host`` on the fake fediverse."""
    fediverse: FakeFediverse
    keys: KeyPair
    username: str
    host: str = "remote.example"

    @property
    def uri(self) -> str:
        return f"https://{self.host}/users/{self.username}"

    @property
    def inbox(self) -> str:
        return f"{self.uri}/inbox"

    @property
    def shared_inbox(self) -> str:
        return f"https://{self.host}/inbox"

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    def document(self, **extra: Any) -> dict[str, Any]:
        return {
            "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
            "id": self.uri, "type": "Person", "preferredUsername": self.username,
            "name": self.username.title(), "summary": "<p>remote artist</p>",
            "url": f"https://{self.host}/@{self.username}",
            "inbox": self.inbox, "outbox": f"{self.uri}/outbox", "followers": f"{self.uri}/followers",
            "endpoints": {"sharedInbox": self.shared_inbox},
            "publicKey": {"id": self.key_id, "owner": self.uri, "publicKeyPem": self.keys.public_pem},
            **extra,
        }

    def serve(self, **extra: Any) -> Peer:
        """Serve the actor and its WebFinger answer."""
        self.fediverse.serve(self.uri, self.document(**extra))
        jrd = {"subject": f"acct:{self.username}@{self.host}",
               "links": [{"rel": "self", "type": "application/activity+json", "href": self.uri},
                         {"rel": "http://webfinger.net/rel/profile-page", "href": f"https://{self.host}/@{self.username}"}]}
        self.fediverse.serve(f"https://{self.host}/.well-known/webfinger?resource=acct:{self.username}@{self.host}",
                             jrd, content_type="application/jrd+json")
        return self

    def new_id(self, kind: str = "activities") -> str:
        return f"https://{self.host}/{kind}/{next(_ids)}"

    def activity(self, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
        return {"@context": AS_CONTEXT, "id": self.new_id(), "type": kind, "actor": self.uri, "object": obj, **extra}

    async def send(self, server: RunningServer, activity: dict[str, Any]) -> int:
        """POST ``activity`` to our shared inbox, signed as Mastodon signs (for https://art.example/inbox)."""
        body = orjson.dumps(activity)
        headers = sign_request("POST", f"{LOCAL}/inbox", {"Content-Type": "application/activity+json"}, body,
                               self.key_id, self.keys.private_pem)
        async with aiohttp.ClientSession() as http, http.post(
                yarl.URL(f"{server.url}/inbox", encoded=True), data=body, headers=headers,
                skip_auto_headers=("Content-Type",)) as response:
            return response.status

    def received(self) -> list[dict[str, Any]]:
        """Activities POSTed to this actor's inbox or its server's shared inbox, in order."""
        return [r.json() for r in self.fediverse.posts if r.url in (self.inbox, self.shared_inbox)]


async def stored(peer: Peer) -> Account:
    """The peer as our database knows it (tests call this after something made us fetch it)."""
    return await Account.get(uri=peer.uri)


async def remote_account(peer: Peer, *, locked: bool = False) -> Account:
    """Store the peer directly, as after an earlier fetch (its document is served too)."""
    peer.serve(manuallyApprovesFollowers=locked)
    return await Account.create(
        username=peer.username, domain=peer.host, uri=peer.uri, inbox_url=peer.inbox,
        shared_inbox_url=peer.shared_inbox, followers_url=f"{peer.uri}/followers",
        url=f"https://{peer.host}/@{peer.username}", public_key_pem=peer.keys.public_pem, key_id=peer.key_id,
        locked=locked, display_name=peer.username.title())


async def run_jobs(settings: Settings, fediverse: FakeFediverse) -> int:
    """Run every due job (and what they enqueue) on the test's database, as a worker of this instance."""
    policy = network_policy(settings)
    http = fediverse.guarded_session(policy)
    try:
        federation = Federation.create(settings, http, policy)
        runner = JobRunner(concurrency=4, lease_seconds=30, poll_seconds=0.05, keep_done_hours=24,
                           services={"settings": settings, "federation": federation})
        ran = await runner.run_until_idle()
    finally:
        await http.close()
    dead = await Job.filter(state=DEAD).values_list("kind", "last_error")
    assert not dead, f"jobs failed for good: {dead}"
    return ran


async def verify_signed_by(record: Any, account: Account) -> None:
    """The fake inbox's recorded POST carries a valid signature of ``account`` (a local one)."""
    actor = f"{LOCAL}/users/{account.username}"

    async def key(key_id: str, refresh: bool) -> PublicKeyRecord:
        assert key_id == f"{actor}#main-key"
        return PublicKeyRecord(key_id=key_id, owner=actor, public_key_pem=account.public_key_pem)

    path = yarl.URL(record.url).raw_path
    verified = await verify_request("POST", path, record.headers, record.body, resolve_key=key)
    assert verified.owner == actor
