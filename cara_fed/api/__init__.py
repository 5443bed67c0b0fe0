"""The Mastodon-compatible REST API and OAuth2: thin Quart blueprints over services."""
