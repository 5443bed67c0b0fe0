"""Where job kinds come from: every module that registers handlers with ``@job_kind`` is imported here,
so `serve` and `worker` know the same kinds. Later issues add their modules (delivery, fan-out, inbox)."""

from __future__ import annotations

import importlib

HANDLER_MODULES: tuple[str, ...] = (
    "cara_fed.federation.delivery",
    "cara_fed.federation.inbox",
    "cara_fed.federation.handlers.follows",
    "cara_fed.federation.handlers.notes",
    "cara_fed.federation.handlers.updates",
    "cara_fed.federation.handlers.moderation",
    "cara_fed.federation.handlers.undo",
    "cara_fed.federation.portfolio_remote",
    "cara_fed.services.remote_media",
    "cara_fed.services.domain_purge",
    "cara_fed.services.moderation_accounts",
)


def load_job_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)
