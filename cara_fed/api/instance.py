"""The instance endpoints (docs: methods/instance): v1 and v2 (Ivory crashed without v2,
jointakahe/takahe#473), rules, extended description, peers, activity, languages. Public."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app

from cara_fed import __version__
from cara_fed.api.auth import authorized, viewer
from cara_fed.api.entities.accounts import load_account_stats, account_to_api
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, User
from cara_fed.services.instance import node_stats
from cara_fed.api.instance_policy import domain_blocks_answer, extended_description_answer, rules_answer
from cara_fed.services.registrations import registration_info
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state

bp = Blueprint("api_instance", __name__)

# `4.2.0 (compatible; ...)`: clients gate features on the leading Mastodon version; no `api_versions` until
# /api/v2/notifications exists (reference/mastodon-api.md section 4).
MASTODON_VERSION = f"4.2.0 (compatible; cara-fed {__version__})"
SUPPORTED_MIME_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/heic",
                        "image/heif"]
DESCRIPTION_LIMIT = 1500  # alt text characters (Mastodon's)
MAX_PINNED = 5
MAX_FIELDS = 4


def _configuration(settings: Any) -> dict[str, Any]:
    return {
        "accounts": {"max_featured_tags": 10, "max_pinned_statuses": MAX_PINNED, "max_profile_fields": MAX_FIELDS,
                     "profile_field_name_limit": 255, "profile_field_value_limit": 255},
        "statuses": {"max_characters": settings.api.max_status_characters,
                     "max_media_attachments": settings.api.max_media_attachments,
                     "characters_reserved_per_url": 23},
        # Generous for artists: clients such as Tusky shrink images to fit these before uploading.
        "media_attachments": {"supported_mime_types": SUPPORTED_MIME_TYPES,
                              "description_limit": DESCRIPTION_LIMIT,
                              "image_size_limit": settings.media.max_upload_bytes,
                              "image_matrix_limit": settings.media.max_pixels,
                              "video_size_limit": 0, "video_frame_rate_limit": 0, "video_matrix_limit": 0},
        "polls": {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300,
                  "max_expiration": 2629746},
    }


async def _contact_account(urls: LocalUrls) -> dict[str, Any] | None:
    admin = await User.filter(role="admin", approved=True, account__suspended_at=None).order_by("id").first()
    if admin is None:
        return None
    account = await Account.get(id=admin.account_id)
    stats = await load_account_stats([account.id])
    return account_to_api(account, stats[account.id], urls)


def _thumbnail(urls: LocalUrls) -> str:
    return f"{urls.base}/static/instance-thumbnail.png"


@bp.get("/api/v2/instance")
@bp.get("/api/v2/instance/")
async def instance_v2() -> Response:
    settings = app_state(current_app).settings
    urls = LocalUrls(settings)
    users, month, _halfyear, _posts = await node_stats()
    streaming = urls.base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    configuration = _configuration(settings)
    configuration["urls"] = {"streaming": streaming, "status": None, "about": f"{urls.base}/about",
                             "privacy_policy": None, "terms_of_service": None}
    configuration["vapid"] = {"public_key": ""}
    configuration["translation"] = {"enabled": False}
    signup = await registration_info(settings)
    document = {
        "domain": settings.instance.domain,
        "title": settings.instance.name,
        "version": MASTODON_VERSION,
        "source_url": "https://github.com/cara-fed/cara_fed",
        "description": settings.instance.description,
        "usage": {"users": {"active_month": month}},
        "thumbnail": {"url": _thumbnail(urls), "blurhash": None, "versions": {}},
        "icon": [],
        "languages": ["en"],
        "configuration": configuration,
        # url: null, as Mastodon without external sign-up; clients sign up with POST /api/v1/accounts.
        "registrations": {"enabled": signup.enabled, "approval_required": signup.approval_required,
                          "message": signup.message, "url": None},
        "contact": {"email": settings.instance.contact_email, "account": await _contact_account(urls)},
        "rules": await rules_answer(),
    }
    return json_response(document)


@bp.get("/api/v1/instance")
@bp.get("/api/v1/instance/")
async def instance_v1() -> Response:
    settings = app_state(current_app).settings
    urls = LocalUrls(settings)
    users, _month, _halfyear, posts = await node_stats()
    streaming = urls.base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    signup = await registration_info(settings)
    document = {
        "uri": settings.instance.domain,
        "title": settings.instance.name,
        "short_description": settings.instance.description,
        "description": settings.instance.description,
        "email": settings.instance.contact_email,
        "version": MASTODON_VERSION,
        "urls": {"streaming_api": streaming},
        "stats": {"user_count": users, "status_count": posts,
                  "domain_count": await Account.filter(domain__not_isnull=True).distinct().count()},
        "thumbnail": _thumbnail(urls),
        "languages": ["en"],
        "registrations": signup.enabled,
        "approval_required": signup.approval_required,
        "invites_enabled": signup.invites_enabled,
        "configuration": _configuration(settings),
        "contact_account": await _contact_account(urls),  # an Account or null, never [] (Raccoon broke)
        "rules": await rules_answer(),
    }
    return json_response(document)


@bp.get("/api/v1/instance/rules")
async def rules() -> Response:
    return json_response(await rules_answer())


@bp.get("/api/v1/instance/extended_description")
async def extended_description() -> Response:
    return json_response(await extended_description_answer(app_state(current_app).settings))


@bp.get("/api/v1/instance/peers")
async def peers() -> Response:
    domains = await Account.filter(domain__not_isnull=True).distinct().values_list("domain", flat=True)
    return json_response(sorted({d for d in domains if d}))


@bp.get("/api/v1/instance/activity")
async def activity() -> Response:
    return json_response([])


@bp.get("/api/v1/instance/translation_languages")
async def translation_languages() -> Response:
    return json_response({})


@bp.get("/api/v1/instance/domain_blocks")
@authorized(optional=True)
async def domain_blocks() -> Response:
    return json_response(await domain_blocks_answer(signed_in=viewer() is not None))
