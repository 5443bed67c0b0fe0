"""The app's one outgoing HTTP client: every request to another server goes through activitypub.netpolicy's
SSRF guard, with the policy the settings describe (DESIGN.md section 3, security.md section C)."""

from __future__ import annotations

import aiohttp

from activitypub.netpolicy import NetworkPolicy, make_session
from cara_fed import __version__
from cara_fed.settings import Settings

USER_AGENT = f"cara-fed/{__version__} (ActivityPub; +https://codeberg.org/cara-fed)"


def network_policy(settings: Settings) -> NetworkPolicy:
    """Built once per app: the session checks it is given the very policy it was made with."""
    return NetworkPolicy(allow_http_hosts=settings.http_allowed_for,
                         allow_nonpublic=frozenset(settings.federation.allow_nonpublic))


def default_session(policy: NetworkPolicy) -> aiohttp.ClientSession:
    return make_session(policy, user_agent=USER_AGENT)
