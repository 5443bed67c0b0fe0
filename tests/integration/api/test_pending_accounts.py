"""A sign-up waiting for approval is nobody yet: the client API does not show its account."""

from __future__ import annotations

import aiohttp
import pytest

from cara_fed.models import User
from tests.support.api import Api, make_user
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")


async def test_pending_accounts_are_not_found_through_the_api(http: aiohttp.ClientSession,
                                                              server: RunningServer) -> None:
    api = Api(http, server.url)
    viewer, pending = await make_user("viewer"), await make_user("pending")
    path = f"/api/v1/accounts/{pending.account.id}"
    assert (await api.get(path, viewer)).status == 200
    await User.filter(id=pending.user.id).update(approved=False)
    assert (await api.get(path, viewer)).status == 404
    assert (await api.get("/api/v1/accounts/lookup", viewer, params={"acct": "pending"})).status == 404
    found = await api.get("/api/v1/accounts/search", viewer, params={"q": "pending"})
    assert found.status == 200 and found.body == []
