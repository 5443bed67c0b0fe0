"""The per-account side of the no-AI policy: which artists allow search indexing of their pages.

Only search indexing is a per-account choice (``Account.indexable``, FEP-5feb); the AI-training reservation is
the same for everyone and is not stored anywhere.
"""

from __future__ import annotations

from cara_fed.models import Account


async def search_indexable_usernames() -> list[str]:
    """Usernames of the active local accounts that allow search indexing, in a stable order."""
    rows = await (Account.filter(domain__isnull=True, indexable=True, suspended_at__isnull=True,
                                 user__id__isnull=False)
                  .order_by("username").values_list("username", flat=True))
    return [str(name) for name in rows]
