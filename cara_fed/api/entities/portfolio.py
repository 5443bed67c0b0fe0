"""The Work and Series entities of ``/api/v1/portfolio`` (docs/portfolio-api.md): ids as strings and
timestamps as the rest of the API writes them; images as Mastodon MediaAttachment entities."""

from __future__ import annotations

from typing import Any

from cara_fed.api.entities.common import api_datetime
from cara_fed.api.entities.media import media_to_api
from cara_fed.federation.portfolio import licence_url
from cara_fed.federation.urls import LocalUrls
from cara_fed.services.portfolio import SeriesView, WorkView


def work_to_api(work: WorkView, urls: LocalUrls) -> dict[str, Any]:
    local = work.domain is None
    return {
        "id": str(work.id),
        "account_id": str(work.account_id),
        "status_id": str(work.status_id),
        "uri": urls.status(work.username, work.status_id) if local else work.uri,
        "url": urls.work_page(work.username, work.id) if local else work.url,
        "title": work.title,
        "description": work.description,
        "medium": work.medium,
        "year": work.year,
        "licence": work.licence,
        "licence_url": licence_url(work.licence, urls),  # the CC deed, or the AI-policy page (reserved)
        "tags": list(work.tags),
        "series": {"id": str(work.series_id), "name": work.series_name} if work.series_id is not None else None,
        "position": work.position,
        "series_position": work.series_position,
        "visibility": work.visibility,
        "sensitive": work.sensitive,
        "spoiler_text": work.spoiler_text,
        "language": work.language,
        "content": work.content,
        "media_attachments": [media_to_api(image, urls) for image in work.images],  # type: ignore[arg-type]
        "created_at": api_datetime(work.created_at),
        "updated_at": api_datetime(work.updated_at),
        "edited_at": api_datetime(work.edited_at),
    }


def series_to_api(series: SeriesView, username: str, urls: LocalUrls) -> dict[str, Any]:
    return {
        "id": str(series.id),
        "account_id": str(series.account_id),
        "name": series.name,
        "description": series.description,
        "position": series.position,
        "works_count": series.work_count,
        "uri": series.uri or urls.portfolio_series(username, series.id),
    }
