"""Where local things live (DESIGN.md section 5). Every ActivityPub id we publish is built here."""

from __future__ import annotations

from urllib.parse import urlsplit

from cara_fed.settings import Settings


class LocalUrls:
    def __init__(self, settings: Settings) -> None:
        self.base = settings.base_url

    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def key_id(self, username: str) -> str:
        return f"{self.actor(username)}#main-key"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def featured(self, username: str) -> str:
        return f"{self.actor(username)}/collections/featured"

    def portfolio(self, username: str) -> str:
        return f"{self.actor(username)}/portfolio"

    def portfolio_series(self, username: str, series_id: int) -> str:
        return f"{self.portfolio(username)}/series/{series_id}"

    def work_page(self, username: str, work_id: int) -> str:
        return f"{self.profile(username)}/works/{work_id}"

    def status(self, username: str, status_id: int) -> str:
        return f"{self.actor(username)}/statuses/{status_id}"

    def status_activity(self, username: str, status_id: int) -> str:
        return f"{self.status(username, status_id)}/activity"

    def status_page(self, username: str, status_id: int) -> str:
        return f"{self.profile(username)}/{status_id}"

    def tag(self, name: str) -> str:
        return f"{self.base}/tags/{name}"

    def profile(self, username: str) -> str:
        return f"{self.base}/@{username}"

    def media(self, storage_name: str) -> str:
        return f"{self.base}/media/{storage_name}"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    @property
    def instance_key_id(self) -> str:
        return f"{self.instance_actor}#main-key"

    @property
    def ai_policy(self) -> str:
        return f"{self.base}/ai-policy"

    @property
    def subscribe_template(self) -> str:
        return f"{self.base}/authorize_interaction?uri={{uri}}"

    def is_local(self, url: str) -> bool:
        return urlsplit(url).netloc.lower() == urlsplit(self.base).netloc.lower()

    def follow_activity(self, follow_request_id: int) -> str:
        return f"{self.base}/follows/{follow_request_id}"

    def accept_activity(self, username: str, follow_id: int) -> str:
        return f"{self.actor(username)}#accepts/follows/{follow_id}"

    def status_from_url(self, url: str) -> tuple[str, int] | None:
        """(username, status id) of ``/users/NAME/statuses/ID`` on this instance, else None."""
        if not self.is_local(url):
            return None
        parts = urlsplit(url).path.split("/")
        if len(parts) == 5 and parts[1] == "users" and parts[3] == "statuses" and parts[4].isdigit():
            return parts[2], int(parts[4])
        return None

    def username_from_url(self, url: str) -> str | None:
        """The username of ``/users/NAME`` or ``/@NAME`` on this instance, else None."""
        if not self.is_local(url):
            return None
        path = urlsplit(url).path
        for prefix in ("/users/", "/@"):
            if path.startswith(prefix):
                name = path[len(prefix):]
                return name if name and "/" not in name else None
        return None
