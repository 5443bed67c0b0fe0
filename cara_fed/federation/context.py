"""What federation work needs at run time, built once per process (app or worker) and handed to job
handlers through JobContext.services["federation"]."""

from __future__ import annotations

from dataclasses import dataclass

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

    @classmethod
    def create(cls, settings: Settings, http: aiohttp.ClientSession, policy: NetworkPolicy) -> Federation:
        urls = LocalUrls(settings)
        return cls(settings=settings, urls=urls, http=http, policy=policy,
                   actors=RemoteActors(http, policy, urls))
