"""Browser tests in real headless Chromium (Debian's ``chromium`` package) driven by Playwright for Python.

The instance is ``https://art.example`` (the ``settings`` fixture), served here over real TLS on a
loopback port (tests/support/servers.serve_asgi with the test certificate authority's certificate, the
same as the ``server`` fixture otherwise); Chromium resolves ``art.example`` to that port
(``--host-resolver-rules``), so the pages, their absolute media URLs and the ``Secure`` ``__Host-``
session cookie all work as in production. The browser trusts the test certificate (``ignore_https_errors``:
the test CA is not in Chromium's store).

Without /usr/bin/chromium or the ``playwright`` package every browser test is skipped with the reason
(Playwright's own browser download is never used: ``executable_path`` points at Debian's build)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cara_fed.app import create_app
from cara_fed.settings import Settings
from tests.support.fakefed import FakeFediverse
from tests.support.servers import RunningServer, serve_asgi
from tests.support.tls import FakeTLS

CHROMIUM = os.environ.get("CARA_FED_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"


def missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {reason}"))


@pytest.fixture
async def site(settings: Settings, fediverse: FakeFediverse,
               test_tls: FakeTLS) -> AsyncIterator[RunningServer]:
    """This test's cara_fed over https on loopback (jobs are not run in-process, as with ``server``)."""
    app = create_app(settings, http_session_factory=fediverse.guarded_session, run_jobs=False)
    async with serve_asgi(app, tls=test_tls) as running:
        yield running


@pytest.fixture
async def browser(site: RunningServer, settings: Settings) -> AsyncIterator[Any]:
    """Headless Chromium whose ``art.example`` is this test's server."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[f"--host-resolver-rules=MAP {settings.instance.domain} {site.host}:{site.port}",
                  "--disable-gpu", "--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def _page(browser: Any, settings: Settings, *, javascript: bool) -> AsyncIterator[Any]:
    context = await browser.new_context(ignore_https_errors=True, java_script_enabled=javascript,
                                        viewport={"width": 1280, "height": 900},
                                        base_url=f"https://{settings.instance.domain}")
    # Playwright waits for elements and navigations itself (no sleeps); 30 s ceiling on a busy machine.
    context.set_default_timeout(30_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest.fixture
async def page(browser: Any, settings: Settings) -> AsyncIterator[Any]:
    """A fresh page (its own cookies), JavaScript on."""
    async for made in _page(browser, settings, javascript=True):
        yield made


@pytest.fixture
async def page_without_js(browser: Any, settings: Settings) -> AsyncIterator[Any]:
    """A fresh page with JavaScript off: the plain forms must do everything."""
    async for made in _page(browser, settings, javascript=False):
        yield made


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
