"""A request that changes something is answered only once what it committed is on the disk.

On SQLite the shared connection commits with ``synchronous = NORMAL`` (cara_fed/db.py): a commit survives
a crash of the process, but not a power loss or a crash of the machine until the WAL file is synced. An
artist whose client was told "posted" must not lose the post, its delivery jobs or its media rows to a
power cut a moment later (README: a crash loses nothing that was acknowledged). So after every POST, PUT,
PATCH or DELETE that did not fail on our side, the answer waits for
:meth:`~cara_fed.sqlite_backend.ImmediateSqliteClient.make_durable`: one fsync of the WAL, shared by the
requests that finish together, skipped when nothing was committed. Reads never wait, nor do the writes
that need no promise (rate-limit counters of GET requests, caches).

Views whose writes reach the disk by themselves say so with :func:`commits_durably` (the inbox: it
commits on the database's ``synchronous = FULL`` connection, federation/inbox_intake.py). PostgreSQL
commits durably already (``synchronous_commit`` on): nothing to do there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from quart import Quart, Response, current_app, request
from tortoise.connection import get_connection

from cara_fed.sqlite_backend import ImmediateSqliteClient

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MARK = "_cara_fed_commits_durably"

View = TypeVar("View", bound=Callable[..., Any])


def commits_durably(view: View) -> View:
    """Mark a view whose acknowledged writes are already on the disk when it answers."""
    setattr(view, _MARK, True)
    return view


def install_durable_answers(app: Quart) -> None:
    @app.after_request
    async def wait_for_the_disk(response: Response) -> Response:
        if request.method not in WRITE_METHODS or response.status_code >= 500:
            return response  # a 5xx promised nothing
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, _MARK, False):
            return response
        client = get_connection("default")
        if isinstance(client, ImmediateSqliteClient):
            await client.make_durable()
        return response
