"""HTML and text from remote servers (security.md items 30-31): a hostile actor's profile, post, attachment,
hashtag and report carry markup in every field; whatever is stored holds no active HTML and no non-http(s)
link. Raw payloads must be cleaned; entity-encoded ones must not be decoded back into markup."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from cara_fed.models import Account, MediaAttachment, Report, Status, Tag
from tests.security.conftest import LOCAL, MIRA, PUBLIC, Site, activity, actor_document, create, note

HOSTILE = "https://remote.example/users/hostile"
HOSTILE_KEY = f"{HOSTILE}#main-key"

RAW = ('<script>alert(1)</script><img src=x onerror=alert(1)><iframe src="https://evil.example/"></iframe>'
       '<a href="javascript:alert(1)" onclick="alert(1)">link</a>'
       '<p onclick="alert(1)" style="color:red">p</p>'
       '<svg><a xlink:href="javascript:alert(1)">s</a></svg><a href="//evil.example/x">rel</a>'
       '<form action="https://evil.example/"><input name=q></form><object data="x"></object>')
ENCODED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
SHORT = "<img src=x onerror=alert(1)>"  # fits the short columns (language, blurhash)

# Active markup: an element that runs or loads something, an event handler or style inside a tag, a
# script-ish URL inside a tag. Escaped text (&lt;img ...&gt;) is harmless and does not match.
ACTIVE = re.compile(r"<\s*/?\s*(script|img|iframe|svg|math|style|object|embed|form|input|link|meta|base)\b"
                    r"|<[^>]*\s(on[a-z]+|style|xlink:href|srcdoc)\s*="
                    r"|<[^>]*(javascript|vbscript|data)\s*:", re.IGNORECASE)
URL_COLUMNS = {"url", "remote_url", "avatar_remote_url", "header_remote_url", "inbox_url", "shared_inbox_url",
               "outbox_url", "followers_url", "following_url", "featured_url", "uri"}


def active_markup(rows: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    found = []

    def walk(column: str, value: Any) -> None:
        if isinstance(value, str):
            if ACTIVE.search(value) or (column in URL_COLUMNS and not value.startswith(("https://", "http://"))):
                found.append((column, value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(f"{column}.{key}", item)
        elif isinstance(value, list):
            for item in value:
                walk(column, item)

    for row in rows:
        for column, value in row.items():
            walk(column, value)
    return found


def hostile_actor(public_pem: str, **fields: Any) -> dict[str, Any]:
    return actor_document(HOSTILE, public_pem, **fields)


Place = Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], None]  # (actor, note, flag) mutated

PLACES: dict[str, Place] = {
    "note content": lambda a, n, f: n.update(content=f"<p>ok</p>{RAW}"),
    "note content, encoded": lambda a, n, f: n.update(content=f"<p>ok {ENCODED}</p>"),
    "note summary (content warning)": lambda a, n, f: n.update(summary=RAW),
    "note name and contentMap values": lambda a, n, f: n.update(name=RAW, contentMap={"en": RAW}),
    "note url": lambda a, n, f: n.update(url="javascript:alert(1)"),
    "attachment name (alt text)": lambda a, n, f: n.update(attachment=[
        {"type": "Image", "mediaType": "image/png", "url": "https://remote.example/a.png", "name": RAW}]),
    "attachment summary (alt text)": lambda a, n, f: n.update(attachment=[
        {"type": "Image", "mediaType": "image/png", "url": "https://remote.example/a.png", "summary": RAW}]),
    "attachment url": lambda a, n, f: n.update(attachment=[
        {"type": "Image", "mediaType": "image/png", "url": "javascript:alert(1)", "name": "x"}]),
    "display name": lambda a, n, f: a.update(name=RAW),
    "bio": lambda a, n, f: a.update(summary=RAW),
    "profile field name and value": lambda a, n, f: a.update(attachment=[
        {"type": "PropertyValue", "name": RAW, "value": RAW}]),
    "avatar and profile url": lambda a, n, f: a.update(icon={"type": "Image", "url": "javascript:alert(1)"},
                                                       url="javascript:alert(1)"),
    "report comment": lambda a, n, f: f.update(content=RAW),
}

ENCODED_PLAIN_TEXT: dict[str, Place] = {
    "note summary (content warning)": lambda a, n, f: n.update(summary=ENCODED),
    "attachment name (alt text)": lambda a, n, f: n.update(attachment=[
        {"type": "Image", "mediaType": "image/png", "url": "https://remote.example/a.png", "name": ENCODED}]),
    "display name": lambda a, n, f: a.update(name=ENCODED),
    "profile field name": lambda a, n, f: a.update(attachment=[
        {"type": "PropertyValue", "name": ENCODED, "value": "v"}]),
    "report comment": lambda a, n, f: f.update(content=ENCODED),
}

UNVALIDATED_SHORT_FIELDS: dict[str, Place] = {
    "hashtag name": lambda a, n, f: n.update(tag=[{"type": "Hashtag", "name": f"#{SHORT}",
                                                   "href": "https://remote.example/tags/x"}]),
    "contentMap language key": lambda a, n, f: n.update(contentMap={"<script>": "<p>x</p>"}),
    "attachment blurhash": lambda a, n, f: n.update(attachment=[
        {"type": "Image", "mediaType": "image/png", "url": "https://remote.example/a.png",
         "blurhash": SHORT}]),
}


async def deliver_hostile(site: Site, place: Place) -> tuple[str, list[dict[str, Any]]]:
    """Serve the hostile actor, send its post and its report, and return every stored row they left."""
    actor = hostile_actor(site.eve_keys.public_pem)
    post = note(HOSTILE, "<p>hello</p>", tag=[{"type": "Mention", "href": MIRA}])
    flag = {"content": "spam"}
    place(actor, post, flag)
    site.fediverse.serve(HOSTILE, actor)
    status, _ = await site.post(create(HOSTILE, post), key_id=HOSTILE_KEY)
    assert status == 202
    status, _ = await site.post(activity("Flag", HOSTILE, [MIRA], **flag), key_id=HOSTILE_KEY)
    assert status == 202
    await site.drain()
    await site.assert_no_failed_jobs()
    with site.db():
        stored = await Status.get(uri=post["id"])  # the post itself got through
        author = await Account.get(uri=HOSTILE)
        assert await Report.filter(account_id=author.id).count() == 1
        rows = [*await Account.filter(id=author.id).values(), *await Status.filter(id=stored.id).values(),
                *await MediaAttachment.filter(status_id=stored.id).values(),
                *await Tag.filter(statuses__id=stored.id).values(),
                *await Report.filter(account_id=author.id).values()]
    return post["id"], rows


@pytest.mark.parametrize("place", list(PLACES.values()), ids=list(PLACES))
async def test_markup_in_a_remote_field_is_stored_inert(site: Site, place: Place) -> None:
    _, rows = await deliver_hostile(site, place)
    assert active_markup(rows) == []


@pytest.mark.parametrize("place", list(ENCODED_PLAIN_TEXT.values()), ids=list(ENCODED_PLAIN_TEXT))
async def test_entity_encoded_markup_in_a_plain_text_field_is_not_decoded_into_markup(
        site: Site, place: Place) -> None:
    _, rows = await deliver_hostile(site, place)
    assert active_markup(rows) == []


@pytest.mark.parametrize("place", list(UNVALIDATED_SHORT_FIELDS.values()), ids=list(UNVALIDATED_SHORT_FIELDS))
async def test_markup_in_a_remote_hashtag_language_or_blurhash_is_not_stored(site: Site,
                                                                               place: Place) -> None:
    _, rows = await deliver_hostile(site, place)
    assert active_markup(rows) == []


async def test_control_the_detector_sees_raw_markup() -> None:
    """The check above is not vacuous: it flags what the payloads would leave if stored as sent."""
    assert active_markup([{"content": RAW}]) and active_markup([{"display_name": "<script>x"}])
    assert active_markup([{"url": "javascript:alert(1)"}])
    assert not active_markup([{"content": "<p>ok &lt;img src=x onerror=alert(1)&gt;</p>",
                               "url": f"{LOCAL}/x", "display_name": "a < b"}])


async def test_control_harmless_markup_survives(site: Site) -> None:
    """Cleaning keeps what Mastodon keeps: paragraphs, links (rel nofollow), mentions."""
    post = note(HOSTILE, '<p>Hi <a href="https://example.org/x">there</a><br>again</p>', to=[PUBLIC])
    site.fediverse.serve(HOSTILE, hostile_actor(site.eve_keys.public_pem))
    assert (await site.post(create(HOSTILE, post), key_id=HOSTILE_KEY))[0] == 202
    await site.drain()
    stored = await site.status(post["id"])
    assert stored is not None
    assert '<a href="https://example.org/x"' in stored.content and "<br>" in stored.content
    assert "nofollow" in stored.content


OVERLONG: dict[str, Place] = {
    "attachment mediaType of 100 characters": lambda a, n, f: n.update(attachment=[
        {"type": "Image", "mediaType": "image/png;" + "x" * 90, "url": "https://remote.example/a.png"}]),
    "note url of 3000 characters": lambda a, n, f: n.update(url="https://remote.example/" + "x" * 3000),
    "attachment url of 3000 characters": lambda a, n, f: n.update(attachment=[
        {"type": "Image", "mediaType": "image/png", "url": "https://remote.example/" + "x" * 3000}]),
}


@pytest.mark.parametrize("place", list(OVERLONG.values()), ids=list(OVERLONG))
async def test_one_over_long_field_does_not_lose_the_post(site: Site, place: Place) -> None:
    """A field longer than its column is cut or dropped; the post is stored and its job does not fail."""
    await deliver_hostile(site, place)
