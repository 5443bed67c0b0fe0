"""The no-AI policy as data: the AI-crawler list, the user-agent matcher, the reservation headers and meta
tags, robots.txt, ai.txt, tdmrep.json and the ODRL policy. No web framework: the app serves what this makes.

Exact syntax and sources: shared/reference/noai.md. Every signal is advisory; the user-agent refusal is the
only enforcement, and user agents can lie.
"""

from __future__ import annotations

from media.noai.crawlers import (
    BUNDLED_SOURCE,
    CrawlerList,
    CrawlerListError,
    bundled_crawler_list,
    bundled_license,
    file_signature,
    install_crawler_list,
    load_crawler_list,
    parse_robots_json,
)
from media.noai.headers import (
    CONTENT_USAGE,
    TDM_RESERVATION,
    X_ROBOTS_TAG,
    has_reservation,
    meta_tags,
    noai_headers,
)
from media.noai.robots import TEXT_CONTENT_TYPE, ai_txt, robots_txt
from media.noai.tdmrep import JSON_CONTENT_TYPE, POLICY_CONTENT_TYPE, odrl_policy, tdmrep_json
from media.noai.useragent import UserAgentMatcher

__all__ = [
    "BUNDLED_SOURCE", "CONTENT_USAGE", "JSON_CONTENT_TYPE", "POLICY_CONTENT_TYPE", "TDM_RESERVATION",
    "TEXT_CONTENT_TYPE", "X_ROBOTS_TAG", "CrawlerList", "CrawlerListError", "UserAgentMatcher", "ai_txt",
    "bundled_crawler_list", "bundled_license", "file_signature", "has_reservation", "install_crawler_list",
    "load_crawler_list", "meta_tags", "noai_headers", "odrl_policy", "parse_robots_json", "robots_txt",
    "tdmrep_json",
]
