"""Issue 6 acceptance in a real browser: an artist signs in to the studio, uploads a work of three images
with alt text for each (and a second work), reorders the portfolio, and the public profile and work pages
show the works and images in that order. Screenshots of both pages are saved under tests/browser/artifacts/.
An accessibility check runs on every studio and public page visited: every image has an alt attribute and
every form control a label."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from PIL import Image

from tests.support.api import make_user

# Run in the page: what an accessibility checker would flag first (WCAG 1.1.1 non-text content, 1.3.1 and
# 4.1.2 for form controls: a <label for>, a wrapping <label>, aria-label or aria-labelledby).
A11Y_SCRIPT = """() => {
  const problems = [];
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push('img without alt: ' + img.outerHTML.slice(0, 120));
  }
  const controls = document.querySelectorAll('input, select, textarea');
  for (const el of controls) {
    if (el.type === 'hidden' || el.type === 'submit' || el.type === 'button') continue;
    const labelled = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') ||
      (el.getAttribute('aria-labelledby') || '').split(' ').some(id => id && document.getElementById(id));
    if (!labelled) problems.push('control without label: ' + el.outerHTML.slice(0, 120));
  }
  for (const button of document.querySelectorAll('button')) {
    if (!button.textContent.trim() && !button.getAttribute('aria-label')) {
      problems.push('button without a name: ' + button.outerHTML.slice(0, 120));
    }
  }
  return problems;
}"""


async def accessible(page: Any) -> None:
    problems = await page.evaluate(A11Y_SCRIPT)
    assert problems == [], f"{page.url}: {problems}"


def image_file(folder: Path, name: str, size: tuple[int, int], colour: tuple[int, int, int]) -> Path:
    path = folder / f"{name}.png"
    image = Image.new("RGB", size, colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


async def upload(page: Any, title: str, images: list[tuple[Path, str]]) -> int:
    """Fill and send the upload form as a person would; returns the new work's id."""
    await page.goto("/studio/works/new")
    await accessible(page)
    rows = page.locator(".new-image")
    while await rows.count() < len(images):
        await page.get_by_role("link", name="More image rows").click()
    for index, (path, alt) in enumerate(images):
        await page.get_by_label(f"Image {index + 1}", exact=True).set_input_files(str(path))
        await page.get_by_label(f"Description of image {index + 1} (alt text)").fill(alt)
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Description", exact=True).fill(f"{title}, shown in the browser test.")
    await page.get_by_label("Medium").fill("gouache")
    await page.get_by_label("Year").fill("2025")
    await page.get_by_label("Tags").fill("#sea #test")
    await page.get_by_label("Licence").select_option("cc-by-nc-4.0")
    def is_upload(request: Any) -> bool:
        return bool(request.method == "POST" and request.url.endswith("/studio/works/new"))

    async with page.expect_request(is_upload) as sent:
        await page.get_by_role("button", name="Upload and publish").click()
    request = await sent.value
    assert request.resource_type == "xhr"  # sent by studio.js, which shows the upload progress
    await page.wait_for_url(re.compile(r"/studio/works/\d+\?done=created$"))
    await page.get_by_text("Your work was published").wait_for()
    return int(re.search(r"/studio/works/(\d+)", page.url).group(1))  # type: ignore[union-attr]


async def test_upload_reorder_and_see_it_in_public(page: Any, database: None, tmp_path: Path,
                                                   artifacts: Path) -> None:
    await make_user("ada", display_name="Ada Painter")
    # Signing in.
    await page.goto("/studio")
    await page.wait_for_url(re.compile(r"/auth/sign_in"))
    await accessible(page)
    await page.get_by_label("Email or username").fill("ada")
    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/studio$"))
    await accessible(page)

    # A work of three images (different shapes: the grid keeps each aspect ratio), then a second work.
    three = [(image_file(tmp_path, "red", (900, 600), (200, 40, 40)), "A red harbour at dusk, wide"),
             (image_file(tmp_path, "green", (600, 900), (40, 160, 60)), "A green cliff, tall"),
             (image_file(tmp_path, "blue", (700, 700), (40, 60, 200)), "A blue wave, square")]
    first = await upload(page, "Harbour triptych", three)
    await accessible(page)  # the edit page
    await page.screenshot(path=str(artifacts / "studio-edit.png"), full_page=True)
    second = await upload(page, "Lone boat", [(image_file(tmp_path, "grey", (800, 500), (120, 120, 120)),
                                              "A grey boat on flat water")])

    # The newest work is first; move the triptych to the top with its keyboard-accessible button.
    await page.goto("/studio/order")
    await accessible(page)
    await page.screenshot(path=str(artifacts / "studio-order.png"), full_page=True)
    positions = page.locator("ol.order li")
    assert [await li.get_attribute("data-id") for li in await positions.all()] == [str(second), str(first)]
    await page.get_by_role("button", name="Move “Harbour triptych” up").click()
    await page.wait_for_url(re.compile(r"/studio/order\?done=works"))
    assert [await li.get_attribute("data-id") for li in await positions.all()] == [str(first), str(second)]
    for path in ("/studio/profile", "/auth/password", f"/studio/works/{second}/delete"):
        await page.goto(path)
        await accessible(page)

    # The public profile shows the works in that order; the work page its three images in order.
    await page.goto("/@ada")
    await accessible(page)
    links = page.locator('li.cell a[href*="/works/"]')
    hrefs = [await a.get_attribute("href") for a in await links.all()]
    assert [int(h.rsplit("/", 1)[1]) for h in hrefs if h] == [first, second]
    await page.locator("li.cell img").first.wait_for()
    await page.screenshot(path=str(artifacts / "profile.png"), full_page=True)

    await page.goto(f"/@ada/works/{first}")
    await accessible(page)
    await page.get_by_role("heading", name="Harbour triptych").wait_for()
    alts = [await img.get_attribute("alt") for img in await page.locator("main img:not(.avatar)").all()]
    assert alts == [alt for _, alt in three]
    for img in await page.locator("main img:not(.avatar)").all():  # every image really loaded
        assert await img.evaluate("i => i.complete && i.naturalWidth > 0")
    await page.screenshot(path=str(artifacts / "work.png"), full_page=True)


async def test_the_studio_works_without_javascript(page_without_js: Any, database: None,
                                                   tmp_path: Path) -> None:
    """The same path with the plain forms: a normal form post (no progress), typed positions."""
    page = page_without_js
    await make_user("bo")
    await page.goto("/auth/sign_in")
    await page.get_by_label("Email or username").fill("bo")
    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/studio$"))
    ids = []
    for title, colour in (("Dawn", (250, 200, 120)), ("Dusk", (60, 30, 90))):
        await page.goto("/studio/works/new")
        picture = image_file(tmp_path, title, (300, 200), colour)
        await page.get_by_label("Image 1", exact=True).set_input_files(str(picture))
        await page.get_by_label("Description of image 1 (alt text)").fill(f"{title} sky")
        await page.get_by_label("Title").fill(title)
        async with page.expect_request(lambda r: r.method == "POST") as sent:
            await page.get_by_role("button", name="Upload and publish").click()
        assert (await sent.value).resource_type == "document"
        await page.wait_for_url(re.compile(r"/studio/works/\d+\?done=created$"))
        ids.append(int(re.search(r"/studio/works/(\d+)", page.url).group(1)))  # type: ignore[union-attr]
    # A form error comes back beside its field, without JavaScript too.
    await page.goto("/studio/works/new")
    await page.get_by_label("Title").fill("No image")
    await page.get_by_role("button", name="Upload and publish").click()
    await page.locator("#files_0-error").wait_for()
    assert await page.get_by_label("Image 1", exact=True).get_attribute("aria-invalid") == "true"
    await accessible(page)
    # Typed positions: Dawn first again.
    await page.goto("/studio/order")
    await page.get_by_label("Position of “Dawn”").fill("1")
    await page.get_by_label("Position of “Dusk”").fill("2")
    await page.get_by_role("button", name="Save this order").first.click()
    await page.wait_for_url(re.compile(r"/studio/order\?done=works"))
    await page.goto("/@bo")
    hrefs = [await a.get_attribute("href") for a in await page.locator('li.cell a[href*="/works/"]').all()]
    assert [int(h.rsplit("/", 1)[1]) for h in hrefs if h] == ids
