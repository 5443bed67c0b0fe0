"""The discovery documents a server publishes: WebFinger JRD (RFC 7033), host-meta (RFC 6415) and NodeInfo
2.0 / 2.1 (https://nodeinfo.diaspora.software/protocol). Pure functions from values to documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

AS_TYPE = "application/activity+json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
NODEINFO_REL = "http://nodeinfo.diaspora.software/ns/schema/{version}"
NODEINFO_VERSIONS = ("2.0", "2.1")
JRD_CONTENT_TYPE = "application/jrd+json; charset=utf-8"
XRD_CONTENT_TYPE = "application/xrd+xml; charset=utf-8"


def nodeinfo_content_type(version: str) -> str:
    return f'application/json; profile="{NODEINFO_REL.format(version=version)}#"'


def actor_jrd(subject: str, actor_url: str, profile_url: str, subscribe_template: str,
              aliases: Sequence[str] = ()) -> dict[str, Any]:
    """The JRD Mastodon publishes for an account: ``self`` (ActivityStreams), the profile page and the
    remote-follow template (used by "follow from your server" buttons)."""
    return {
        "subject": subject,
        "aliases": list(aliases),
        "links": [
            {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url},
            {"rel": "self", "type": AS_TYPE, "href": actor_url},
            {"rel": SUBSCRIBE_REL, "template": subscribe_template},
        ],
    }


def host_meta_xrd(base_url: str) -> str:
    template = f"{base_url}/.well-known/webfinger?resource={{uri}}"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
            f'  <Link rel="lrdd" template={quoteattr(template)}/>\n'
            "</XRD>\n")


def host_meta_json(base_url: str) -> dict[str, Any]:
    return {"links": [{"rel": "lrdd", "template": f"{base_url}/.well-known/webfinger?resource={{uri}}"}]}


def nodeinfo_links(base_url: str) -> dict[str, Any]:
    return {"links": [{"rel": NODEINFO_REL.format(version=v), "href": f"{base_url}/nodeinfo/{v}"}
                      for v in NODEINFO_VERSIONS]}


@dataclass(frozen=True)
class NodeStats:
    users_total: int
    users_active_month: int
    users_active_halfyear: int
    local_posts: int


@dataclass(frozen=True)
class NodeDescription:
    software_name: str
    software_version: str
    open_registrations: bool
    metadata: dict[str, Any] = field(default_factory=dict)
    repository: str | None = None
    homepage: str | None = None


def nodeinfo(version: str, node: NodeDescription, stats: NodeStats) -> dict[str, Any]:
    """A NodeInfo document; 2.1 adds the software's repository and homepage."""
    if version not in NODEINFO_VERSIONS:
        raise ValueError(f"unsupported NodeInfo version {version!r}")
    software: dict[str, Any] = {"name": node.software_name, "version": node.software_version}
    if version == "2.1":
        if node.repository:
            software["repository"] = node.repository
        if node.homepage:
            software["homepage"] = node.homepage
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "usage": {
            "users": {"total": stats.users_total, "activeMonth": stats.users_active_month,
                      "activeHalfyear": stats.users_active_halfyear},
            "localPosts": stats.local_posts,
        },
        "openRegistrations": node.open_registrations,
        "metadata": node.metadata,
    }
