"""The AI-crawler list: the bundled copy (verbatim, with its MIT licence, shipped as package data), loading a
newer one, refusing files that are not a robots.json, and installing one atomically."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import pytest

from media.noai import (
    BUNDLED_SOURCE,
    CrawlerListError,
    bundled_crawler_list,
    bundled_license,
    install_crawler_list,
    load_crawler_list,
    parse_robots_json,
)
from media.noai.crawlers import MAX_FILE_BYTES, bundled_robots_json

REPO_ROOT = Path(__file__).resolve().parents[3]
ENTRY = {"operator": "Example", "respect": "Yes", "function": "AI training", "frequency": "daily",
         "description": "A crawler."}


def robots_json(*names: str) -> bytes:
    return json.dumps({name: ENTRY for name in names}).encode()


def test_the_bundled_list_is_upstreams_file_as_its_licence_file_describes_it() -> None:
    licence = bundled_license()
    assert "MIT License" in licence and "Copyright (c) 2024 ai.robots.txt" in licence
    recorded = re.search(r"robots\.json ([0-9a-f]{64})", licence)
    assert recorded is not None
    assert hashlib.sha256(bundled_robots_json()).hexdigest() == recorded.group(1)
    crawlers = bundled_crawler_list()
    assert crawlers.source == BUNDLED_SOURCE and len(crawlers) == 166
    assert crawlers.names[0] == "AddSearchBot" and crawlers.names[-1] == "ZanistaBot"
    assert {"GPTBot", "ClaudeBot", "CCBot", "img2dataset", "Google-Extended"} <= set(crawlers.names)


def test_the_data_files_are_package_data() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["setuptools"]["package-data"]["media"] == ["noai/data/*"]
    data = REPO_ROOT / "media" / "noai" / "data"
    assert (data / "robots.json").is_file() and (data / "LICENSE").is_file()


def test_a_missing_file_means_the_bundled_list(tmp_path: Path) -> None:
    assert load_crawler_list(tmp_path / "absent.json") is bundled_crawler_list()
    assert load_crawler_list(None) is bundled_crawler_list()


def test_a_file_that_exists_is_loaded_in_its_order(tmp_path: Path) -> None:
    path = tmp_path / "robots.json"
    path.write_bytes(robots_json("ZetaBot", "AlphaBot", "New Crawler 2.0"))
    crawlers = load_crawler_list(path)
    assert crawlers.names == ("ZetaBot", "AlphaBot", "New Crawler 2.0") and crawlers.source == str(path)


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'["GPTBot"]', "must be a JSON object"),
    (b"{}", "lists no crawlers"),
    (b'{"GPTBot": "trains models"}', "must be an object"),
    (b'{"": {}}', "empty"),
    (b'{" GPTBot": {}}', "surrounding spaces"),
    (b'{"Evil\\nDisallow: /x": {}}', "control character"),
    (b'{"Bot # comment": {}}', "'#'"),
    (json.dumps({"x" * 101: {}}).encode(), "longer than"),
])
def test_files_that_are_not_a_crawler_list_are_refused_with_one_line(data: bytes, message: str) -> None:
    with pytest.raises(CrawlerListError) as caught:
        parse_robots_json(data, "new.json")
    text = str(caught.value)
    assert message in text and text.startswith("new.json: ") and "\n" not in text


def test_an_oversized_file_is_refused_before_parsing() -> None:
    with pytest.raises(CrawlerListError, match="larger than"):
        parse_robots_json(b" " * (MAX_FILE_BYTES + 1))


def test_a_broken_file_in_place_is_an_error_for_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "robots.json"
    path.write_text("[]")
    with pytest.raises(CrawlerListError):
        load_crawler_list(path)


def test_install_writes_the_file_and_the_licence_notice_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "noai" / "robots.json"
    installed = install_crawler_list(robots_json("GPTBot", "FreshBot"), target, source="download.json")
    assert installed.names == ("GPTBot", "FreshBot") and installed.source == str(target)
    assert load_crawler_list(target).names == ("GPTBot", "FreshBot")
    notice = (tmp_path / "noai" / "robots.json.LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in notice and "cara-fed noai update" in notice
    assert sorted(p.name for p in target.parent.iterdir()) == ["robots.json", "robots.json.LICENSE"]


def test_install_refuses_a_bad_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "robots.json"
    install_crawler_list(robots_json("GPTBot"), target)
    with pytest.raises(CrawlerListError, match="^download.json: "):
        install_crawler_list(b"<html>rate limited</html>", target, source="download.json")
    assert load_crawler_list(target).names == ("GPTBot",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["robots.json", "robots.json.LICENSE"]
