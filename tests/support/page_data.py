"""Artists, works and posts written straight to the database, for the public-page tests (the portfolio
services are someone else's and are not needed to read pages), and helpers to read the HTML back."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from cara_fed.models import Account, MediaAttachment, Series, Status, Tag, User, Work
from cara_fed.services import accounts
from tests.support.servers import RunningServer

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def make_artist(username: str = "mira", *, display_name: str = "Mira Okafor",
                      note: str = "<p>Ink &amp; paper.<script>alert(1)</script></p>",
                      commissions: str = "open") -> Account:
    user = await accounts.create_local_account(username, f"{username}@example.org", "correct horse battery")
    await User.filter(id=user.id).update(commissions=commissions)
    account = await Account.get(id=user.account_id)
    account.display_name = display_name
    account.note = note
    account.profile_fields = [{"name": "Shop", "value": "https://mira.example/shop"},
                              {"name": "Pronouns", "value": "she/her <b>bold</b>"}]
    await account.save()
    return account


def image_files(key: str) -> dict[str, str]:
    return {"full": f"{key}f.webp", "full_federation": f"{key}f.jpg", "preview": f"{key}p.webp",
            "preview_federation": f"{key}p.jpg", "thumbnail": f"{key}t.webp", "thumbnail_federation": f"{key}t.jpg"}


async def add_image(account: Account, status: Status, position: int, key: str, *, width: int = 3000,
                    height: int = 2000, alt: str | None = None) -> MediaAttachment:
    scale = 1280 / max(width, height)
    small = (round(width * scale), round(height * scale)) if scale < 1 else (width, height)
    files = image_files(key)
    return await MediaAttachment.create(
        account=account, status=status, position=position, type="image", file_path=files["full"],
        content_type="image/webp", description=f"alt of {key}" if alt is None else alt, blurhash="LEHV6nWB2yk8",
        meta={"original": {"width": width, "height": height}, "small": {"width": small[0], "height": small[1]}},
        files=files)


async def add_work(account: Account, title: str, *, position: int, images: int = 1, series: Series | None = None,
                   series_position: int = 0, visibility: str = "public", width: int = 3000, height: int = 2000,
                   tags: tuple[str, ...] = (), licence: str = "all-rights-reserved", **fields: Any) -> Work:
    status = await Status.create(account=account, text=title, content=f"<p>{title}</p>", visibility=visibility,
                                 language="en")
    for n in range(images):
        await add_image(account, status, n, f"{title.replace(' ', '')}{n}", width=width, height=height)
    for name in tags:
        tag, _ = await Tag.get_or_create(name=name)
        await status.tags.add(tag)
    return await Work.create(account=account, status=status, title=title, position=position, series=series,
                             series_position=series_position, licence=licence, **fields)


async def add_post(account: Account, text: str, *, visibility: str = "public", images: int = 0,
                   **fields: Any) -> Status:
    status = await Status.create(account=account, text=text, content=f"<p>{text}</p>", visibility=visibility,
                                 **fields)
    for n in range(images):
        await add_image(account, status, n, f"post{status.id}x{n}")
    return status


@dataclass
class Page:
    status: int
    headers: CIMultiDictProxy[str]
    text: str


async def fetch(http: aiohttp.ClientSession, server: RunningServer, path: str, *, accept: str = BROWSER,
                method: str = "GET", **headers: str) -> Page:
    async with http.request(method, server.url + path, headers={"Accept": accept, **headers},
                            allow_redirects=False) as response:
        return Page(response.status, CIMultiDictProxy(CIMultiDict(response.headers)), await response.text())


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str, **match: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in match.items())]

    def meta(self, key: str) -> list[str | None]:
        """The content of ``<meta property=key>`` or ``<meta name=key>``."""
        return [a.get("content") for t, a in self.tags if t == "meta" and key in (a.get("property"), a.get("name"))]
