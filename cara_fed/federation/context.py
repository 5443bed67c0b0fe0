"""What federation work needs at run time, built once per process (app or worker) and handed to job
handlers through JobContext.services["federation"]."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp

from activitypub.netpolicy import NetworkPolicy
from cara_fed.federation.actors import RemoteActors
from cara_fed.federation.urls import LocalUrls
from cara_fed.settings import Settings


@dataclass
class Federation:
    settings: Settings
    urls: LocalUrls
    http: aiohttp.ClientSession
    policy: NetworkPolicy
    actors: RemoteActors
    # Local signing keys by account id: a delivery signs without a query (local keys never change).
    signing_keys: dict[int, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings, http: aiohttp.ClientSession, policy: NetworkPolicy) -> Federation:
        urls = LocalUrls(settings)
        return cls(settings=settings, urls=urls, http=http, policy=policy,
                   actors=RemoteActors(http, policy, urls))
