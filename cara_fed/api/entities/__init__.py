"""Mastodon API entities (docs: entities/*), built from our rows in a fixed number of queries per page.

Every field a client needs is present; nothing is null where Mastodon never sends null
(../shared/reference/mastodon-api.md section 3)."""
