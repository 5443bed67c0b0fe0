"""The remote side of bench/inbox.py and bench/inbox_handler.py: a fake remote actor served over plain http
on loopback (aiohttp) with an RSA key, and the Mastodon-shaped Create activities it sends to the local user
``bench``, signed as Mastodon signs them. Not a benchmark itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from aiohttp import web

from activitypub.signatures import sign_request

LOCAL_USER = "bench"
AS_TYPE = "application/activity+json"


@dataclass
class Remote:
    port: int
    private_pem: str
    public_pem: str
    fetches: int = 0

    @property
    def actor(self) -> str:
        return f"http://127.0.0.1:{self.port}/users/alice"

    @property
    def key_id(self) -> str:
        return f"{self.actor}#main-key"

    def document(self) -> bytes:
        actor = self.actor
        return orjson.dumps({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor, "type": "Person", "preferredUsername": "alice", "name": "Alice",
            "summary": "<p>A remote artist.</p>", "url": f"http://127.0.0.1:{self.port}/@alice",
            "inbox": f"{actor}/inbox", "outbox": f"{actor}/outbox", "followers": f"{actor}/followers",
            "following": f"{actor}/following",
            "endpoints": {"sharedInbox": f"http://127.0.0.1:{self.port}/inbox"},
            "publicKey": {"id": self.key_id, "owner": actor, "publicKeyPem": self.public_pem},
        })

    async def start(self) -> web.AppRunner:
        body = self.document()

        async def actor(request: web.Request) -> web.Response:
            self.fetches += 1
            return web.Response(body=body, content_type=AS_TYPE)

        app = web.Application()
        app.router.add_get("/users/alice", actor)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        return runner


def create_activity(remote: Remote, base: str, n: int) -> bytes:
    """A Create as Mastodon sends it (context, ids, addressing, a mention of the local user)."""
    local_actor = f"{base}/users/{LOCAL_USER}"
    note_id = f"{remote.actor}/statuses/{n}"
    published = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    content = (f'<p><span class="h-card" translate="no"><a href="{local_actor}" class="u-url mention">'
               f'@<span>{LOCAL_USER}</span></a></span> Benchmark note number {n}: a few words about a new '
               f'painting, ink and watercolour on paper, 30 x 40 cm.</p>')
    return orjson.dumps({
        "@context": ["https://www.w3.org/ns/activitystreams", {
            "ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri",
            "inReplyToAtomUri": "ostatus:inReplyToAtomUri", "conversation": "ostatus:conversation",
            "sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#",
            "votersCount": "toot:votersCount"}],
        "id": f"{note_id}/activity", "type": "Create", "actor": remote.actor, "published": published,
        "to": [local_actor], "cc": [],
        "object": {
            "id": note_id, "type": "Note", "summary": None, "inReplyTo": None, "published": published,
            "url": f"http://127.0.0.1:{remote.port}/@alice/{n}", "attributedTo": remote.actor,
            "to": [local_actor], "cc": [], "sensitive": False, "atomUri": note_id,
            "inReplyToAtomUri": None,
            "conversation": f"tag:127.0.0.1,2024:objectId={n}:objectType=Conversation",
            "content": content, "contentMap": {"en": content},
            "attachment": [],
            "tag": [{"type": "Mention", "href": local_actor,
                     "name": f"@{LOCAL_USER}@{base.split('://')[1]}"}],
            "replies": {"id": f"{note_id}/replies", "type": "Collection",
                        "first": {"type": "CollectionPage",
                                  "next": f"{note_id}/replies?only_other_accounts=true&page=true",
                                  "partOf": f"{note_id}/replies", "items": []}},
        },
    })


@dataclass(frozen=True)
class SignedPost:
    headers: dict[str, str]
    body: bytes


def presign(remote: Remote, base: str, inbox: str, first: int, count: int) -> list[SignedPost]:
    posts = []
    for n in range(first, first + count):
        body = create_activity(remote, base, n)
        headers = sign_request("POST", inbox, {"Content-Type": AS_TYPE}, body, remote.key_id,
                               remote.private_pem)
        posts.append(SignedPost(headers, body))
    return posts
