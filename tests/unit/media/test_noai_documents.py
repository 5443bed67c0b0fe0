"""robots.txt, ai.txt, tdmrep.json, the ODRL policy and the header set, read back with independent parsers
(``urllib.robotparser``, ``json``) and checked against the exact syntax of shared/reference/noai.md."""

from __future__ import annotations

import json
from urllib.robotparser import RobotFileParser

import pytest

from media.noai import (
    ai_txt,
    bundled_crawler_list,
    has_reservation,
    meta_tags,
    noai_headers,
    odrl_policy,
    robots_txt,
    tdmrep_json,
)
from media.noai.robots import AI_TXT_EXTENSIONS

NAMES = bundled_crawler_list().names
PROTECTED = ["/", "/media/x.jpg", "/media/abc/original.png", "/@alice", "/@alice/123", "/users/alice",
             "/users/alice/statuses/1", "/ai-policy"]


def parser(text: str) -> RobotFileParser:
    robots = RobotFileParser()
    robots.parse(text.splitlines())
    return robots


def default_robots(**options: object) -> str:
    defaults: dict[str, object] = {"no_search_prefixes": ("/@", "/users/"), "policy_page": "https://art.example/ai-policy"}
    return robots_txt(NAMES, **{**defaults, **options})  # type: ignore[arg-type]


# -- robots.txt -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", NAMES)
def test_robotparser_says_no_listed_agent_may_fetch_anything(agent: str) -> None:
    robots = parser(default_robots())
    for path in PROTECTED:
        assert not robots.can_fetch(agent, f"https://art.example{path}"), (agent, path)


def test_the_ai_group_is_upstreams_format_one_user_agent_line_per_name_then_disallow_all() -> None:
    lines = default_robots().splitlines()
    first = lines.index(f"User-agent: {NAMES[0]}")
    assert lines[first:first + len(NAMES)] == [f"User-agent: {name}" for name in NAMES]
    assert lines[first + len(NAMES)] == "Disallow: /"


def test_unknown_bots_get_the_reservation_and_stay_out_of_the_api_oauth_and_media() -> None:
    text = default_robots()
    star = text[text.index("User-agent: *"):].splitlines()
    assert "Content-Usage: train-ai=n" in star
    assert "Content-Signal: search=yes, ai-train=no, ai-input=no" in star
    assert star[-1] == "Allow: /"
    robots = parser(text)
    for agent in ("Googlebot", "bingbot", "SomeNewBot/1.0"):
        assert robots.can_fetch(agent, "https://art.example/@alice")
        assert robots.can_fetch(agent, "https://art.example/")
        for path in ("/api/v1/timelines/public", "/oauth/authorize", "/media/x.jpg"):
            assert not robots.can_fetch(agent, f"https://art.example{path}"), (agent, path)


def test_media_may_be_opened_to_unknown_bots() -> None:
    robots = parser(default_robots(disallow_media=False))
    assert robots.can_fetch("Googlebot", "https://art.example/media/x.jpg")
    assert not robots.can_fetch("GPTBot", "https://art.example/media/x.jpg")


def test_search_bots_let_in_leave_the_ai_group_and_get_their_own_group_with_media() -> None:
    text = default_robots(search_bots=["Applebot", "facebookexternalhit", "Googlebot"])
    ai_group = text[:text.index("# Search and link-preview")]
    assert "User-agent: Applebot\n" not in ai_group and "User-agent: facebookexternalhit\n" not in ai_group
    assert "User-agent: Applebot-Extended\n" in ai_group  # only the named token: the training one stays out
    robots = parser(text)
    for agent in ("Applebot", "facebookexternalhit/1.1", "Googlebot"):
        assert robots.can_fetch(agent, "https://art.example/media/x.jpg"), agent
        assert robots.can_fetch(agent, "https://art.example/@alice"), agent
        assert not robots.can_fetch(agent, "https://art.example/api/v1/accounts/1"), agent
    assert not robots.can_fetch("Applebot-Extended", "https://art.example/@alice")
    assert not robots.can_fetch("GPTBot", "https://art.example/media/x.jpg")
    own_group = text[text.index("# Search and link-preview"):text.index("User-agent: *")]
    assert "Content-Usage: train-ai=n" in own_group


def test_artists_who_allow_search_get_path_rules_and_everyone_else_search_n() -> None:
    text = default_robots(search_paths=["/@ann", "/users/ann"])
    star = text[text.index("User-agent: *"):].splitlines()
    assert "Content-Usage: /@ train-ai=n, search=n" in star
    assert "Content-Usage: /users/ train-ai=n, search=n" in star
    # The page itself ($: not /@anna) and everything below it; train-ai=n on every rule.
    for rule in ("/@ann$", "/@ann/", "/users/ann$", "/users/ann/"):
        assert f"Content-Usage: {rule} train-ai=n, search=y" in star
    assert all("train-ai=n" in line for line in star if line.startswith("Content-Usage:"))
    assert not any("train-ai=y" in line for line in text.splitlines())


def test_robots_txt_is_small_and_has_no_empty_or_ambiguous_lines() -> None:
    text = default_robots(search_bots=["Applebot"], search_paths=["/@ann"])
    assert len(text.encode()) < 500 * 1024  # RFC 9309 section 2.5
    for line in text.splitlines():
        assert line == "" or line.startswith("#") or ": " in line, line


# -- ai.txt -----------------------------------------------------------------------------------------------


def test_ai_txt_is_spawnings_format_with_every_media_type_then_everything() -> None:
    lines = ai_txt().splitlines()
    assert lines[:2] == ["# Spawning AI", "# Prevent datasets from using the following file types"]
    body = lines[lines.index("User-Agent: *") + 1:]
    assert body[-2:] == ["Disallow: /", "Disallow: *"]
    disallowed = {line.removeprefix("Disallow: *.") for line in body[:-2]}
    for ext in ("jpg", "jpeg", "png", "gif", "webp", "avif", "heic", "jxl", "mp4", "webm", "mp3", "html", "txt"):
        assert ext in disallowed
    assert len(disallowed) == len(AI_TXT_EXTENSIONS)
    # Also a robots.txt grammar: a robots parser reads it as disallowing everything.
    assert not parser(ai_txt()).can_fetch("img2dataset", "https://art.example/media/x.jpg")


# -- TDMRep -----------------------------------------------------------------------------------------------


def test_tdmrep_json_is_an_array_with_the_artists_rules_first_and_the_site_rule_last() -> None:
    rules = json.loads(json.dumps(tdmrep_json("https://art.example/.well-known/tdm-policy.json",
                                              search_paths=["/@ann", "/users/ann"],
                                              search_policy_url="https://art.example/.well-known/s.json")))
    assert isinstance(rules, list)
    assert [r["location"] for r in rules] == ["/@ann$", "/@ann/*", "/users/ann$", "/users/ann/*", "/"]
    assert all(r["tdm-reservation"] == 1 for r in rules)  # the choice is about search, never the reservation
    assert {r["tdm-policy"] for r in rules[:-1]} == {"https://art.example/.well-known/s.json"}
    assert rules[-1] == {"location": "/", "tdm-reservation": 1,
                         "tdm-policy": "https://art.example/.well-known/tdm-policy.json"}


def test_tdmrep_json_without_exceptions_is_the_single_site_rule() -> None:
    assert tdmrep_json("https://h/p.json") == [{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://h/p.json"}]


def test_the_odrl_policy_is_a_tdmrep_offer_that_needs_consent_for_mining() -> None:
    policy = odrl_policy("https://art.example/.well-known/tdm-policy.json", assigner_name="Atelier",
                         assigner_url="https://art.example/", assigner_email="admin@art.example")
    assert policy["@context"][:2] == ["http://www.w3.org/ns/odrl.jsonld", "http://www.w3.org/ns/tdmrep.jsonld"]
    assert policy["@type"] == "Offer" and policy["profile"] == "http://www.w3.org/ns/tdmrep"
    assert policy["uid"] == "https://art.example/.well-known/tdm-policy.json"
    assert policy["assigner"]["vcard:fn"] == "Atelier"
    assert policy["assigner"]["vcard:hasEmail"] == {"@id": "mailto:admin@art.example"}
    assert policy["permission"] == [{"target": "https://art.example/", "action": "tdm:mine",
                                     "duty": [{"action": "obtainConsent"}]}]


def test_the_search_policy_adds_indexing_and_keeps_mining_under_consent() -> None:
    policy = odrl_policy("https://h/s.json", assigner_name="A", assigner_url="https://h/",
                         allow_search_indexing=True)
    actions = [(p["action"], p.get("duty")) for p in policy["permission"]]
    assert actions == [("index", None), ("tdm:mine", [{"action": "obtainConsent"}])]
    assert "vcard:hasEmail" not in policy["assigner"]


# -- headers and meta tags --------------------------------------------------------------------------------


def test_the_header_set_has_the_exact_values_each_x_robots_tag_on_its_own_line() -> None:
    assert noai_headers("https://h/p.json") == [
        ("X-Robots-Tag", "noai, noimageai"), ("Content-Usage", "train-ai=n"), ("tdm-reservation", "1"),
        ("tdm-policy", "https://h/p.json")]
    no_search = noai_headers("https://h/p.json", search=False)
    assert [v for n, v in no_search if n == "X-Robots-Tag"] == ["noai, noimageai", "noindex, noimageindex, noarchive"]
    assert ("Content-Usage", "train-ai=n, search=n") in no_search
    assert ("tdm-reservation", "1") in no_search
    assert all(":" not in value for name, value in no_search if name == "X-Robots-Tag")  # img2dataset's split
    assert [n for n, _ in noai_headers(None)] == ["X-Robots-Tag", "Content-Usage", "tdm-reservation"]


def test_content_usage_is_an_rfc9651_dictionary_of_tokens() -> None:
    for search in (True, False):
        value = dict(noai_headers(None, search=search))["Content-Usage"]
        members = dict(item.strip().split("=") for item in value.split(","))
        assert members["train-ai"] == "n"
        assert set(members.values()) <= {"y", "n"}


def test_meta_tags_say_what_the_headers_say() -> None:
    for search in (True, False):
        headers = noai_headers("https://h/p.json", search=search)
        tags = meta_tags("https://h/p.json", search=search)
        assert [v for n, v in headers if n == "X-Robots-Tag"] == [v for n, v in tags if n == "robots"]
        assert dict(headers)["tdm-reservation"] == dict(tags)["tdm-reservation"]
        assert dict(headers)["tdm-policy"] == dict(tags)["tdm-policy"]


@pytest.mark.parametrize(("lines", "expected"), [
    (["noai, noimageai"], True),
    (["noindex", "NOAI,NoImageAI"], True),
    (["noindex, noai"], False),
    (["img2dataset: noai, noimageai"], False),
    ([], False),
])
def test_has_reservation_reads_lines_as_their_readers_do(lines: list[str], expected: bool) -> None:
    assert has_reservation(lines) is expected
