"""What an app instance owns at run time: its settings, its database context, its job runner, its HTTP
client. One object per app, so two apps in one process never share any of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from quart import Quart

from activitypub.netpolicy import NetworkPolicy
from cara_fed.federation.context import Federation
from tortoise.context import TortoiseContext

from cara_fed.jobs.runner import JobRunner
from cara_fed.services.streaming import StreamHub
from cara_fed.settings import Settings

# Builds the outgoing session for a network policy. Production: federation.http.default_session; tests
# pass one that resolves every host to the fake fediverse (still through the same SSRF guard).
HttpSessionFactory = Callable[[NetworkPolicy], aiohttp.ClientSession]


@dataclass
class AppState:
    settings: Settings
    http_session_factory: HttpSessionFactory
    policy: NetworkPolicy
    db: TortoiseContext | None = None
    http: aiohttp.ClientSession | None = None
    federation: Federation | None = None
    runner: JobRunner | None = None
    runner_stop: asyncio.Event = field(default_factory=asyncio.Event)
    runner_task: asyncio.Task[None] | None = None
    started: bool = False  # the lifespan startup has finished
    streams: StreamHub | None = None  # the streaming API's poller, made with the first stream


def app_state(app: Quart) -> AppState:
    state: AppState = app.extensions["cara_fed"]
    return state
