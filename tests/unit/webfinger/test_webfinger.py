"""The webfinger library: acct: parsing, documents, and the client's round-trip check (security.md A12)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st

from webfinger.acct import Acct, AcctError, parse_acct
from webfinger.client import WebFingerError, lookup, webfinger_url
from webfinger.documents import NodeDescription, NodeStats, host_meta_xrd, nodeinfo


@pytest.mark.parametrize(("text", "expected"), [
    ("acct:mira@art.example", Acct("mira", "art.example")),
    ("ACCT:Mira@Art.Example", Acct("Mira", "art.example")),
    ("@mira@art.example", Acct("mira", "art.example")),
    ("mira@localhost:8000", Acct("mira", "localhost:8000")),
    ("mira.doe@social.art.example", Acct("mira.doe", "social.art.example")),
])
def test_parse_acct(text: str, expected: Acct) -> None:
    assert parse_acct(text) == expected


@pytest.mark.parametrize("text", ["", "acct:", "mira", "@mira", "mira@", "mira@art.example/path",
                                  "mira@art example", "mi ra@art.example", "mira@art.example:99999",
                                  "mira@-bad.example", "https://art.example/users/mira"])
def test_parse_acct_refuses_what_is_not_a_handle(text: str) -> None:
    with pytest.raises(AcctError):
        parse_acct(text)


@given(st.text(max_size=80))
def test_parse_acct_never_raises_anything_else(text: str) -> None:
    try:
        acct = parse_acct(text)
    except AcctError:
        return
    assert "@" not in acct.username and acct.host == acct.host.lower()


def test_webfinger_url_quotes_the_resource() -> None:
    assert webfinger_url(Acct("mira", "art.example")) == \
        "https://art.example/.well-known/webfinger?resource=acct:mira@art.example"


def test_host_meta_escapes_the_template() -> None:
    assert 'template="https://a.example/.well-known/webfinger?resource={uri}"' in host_meta_xrd("https://a.example")


def test_nodeinfo_21_adds_repository_only_in_21() -> None:
    node = NodeDescription("cara-fed", "1.0", False, repository="https://git.example/cara")
    stats = NodeStats(3, 2, 2, 10)
    assert "repository" not in nodeinfo("2.0", node, stats)["software"]
    assert nodeinfo("2.1", node, stats)["software"]["repository"] == "https://git.example/cara"
    with pytest.raises(ValueError):
        nodeinfo("9.9", node, stats)


def jrd(subject: str, actor: str) -> dict[str, Any]:
    return {"subject": subject, "links": [{"rel": "self", "type": "application/activity+json", "href": actor}]}


class FakeWeb:
    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        self.asked: list[str] = []

    async def __call__(self, url: str) -> Any:
        self.asked.append(url)
        return self.documents[url]


async def test_lookup_on_the_same_host_needs_one_query() -> None:
    web = FakeWeb({webfinger_url(Acct("mira", "art.example")):
                   jrd("acct:mira@art.example", "https://art.example/users/mira")})
    result = await lookup("@mira@art.example", web)
    assert result.actor_url == "https://art.example/users/mira" and len(web.asked) == 1


async def test_lookup_follows_a_canonical_subject_on_another_host_that_confirms() -> None:
    """An alias domain (handle on alias.example, account on art.example) is fine when art.example agrees."""
    web = FakeWeb({
        webfinger_url(Acct("mira", "alias.example")): jrd("acct:mira@art.example", "https://art.example/users/mira"),
        webfinger_url(Acct("mira", "art.example")): jrd("acct:mira@art.example", "https://art.example/users/mira"),
    })
    result = await lookup("mira@alias.example", web)
    assert result.subject == Acct("mira", "art.example") and result.actor_url == "https://art.example/users/mira"


async def test_a_jrd_pointing_at_someone_elses_actor_is_refused() -> None:
    """security.md A12: acct:alice@evil.example whose self link is https://victim.example/users/alice."""
    web = FakeWeb({webfinger_url(Acct("alice", "evil.example")):
                   jrd("acct:alice@evil.example", "https://victim.example/users/alice")})
    with pytest.raises(WebFingerError, match="does not confirm"):
        await lookup("alice@evil.example", web)


@pytest.mark.parametrize("document", [
    [], {"links": "nope"}, {"subject": "acct:mira@art.example", "links": []},
    {"links": [{"rel": "self", "type": "text/html", "href": "https://art.example/@mira"}]},
    {"links": [{"rel": "self", "type": "application/activity+json", "href": "javascript:alert(1)"}]},
    {"subject": "acct:@@", "links": []},
])
async def test_unusable_jrds_are_errors(document: Any) -> None:
    web = FakeWeb({webfinger_url(Acct("mira", "art.example")): document})
    with pytest.raises(WebFingerError):
        await lookup("mira@art.example", web)


async def test_ld_json_self_links_with_the_activitystreams_profile_count() -> None:
    document = {"links": [{"rel": "self", "href": "https://art.example/u/1",
                           "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}]}
    web = FakeWeb({webfinger_url(Acct("mira", "art.example")): document})
    assert (await lookup("mira@art.example", web)).actor_url == "https://art.example/u/1"
