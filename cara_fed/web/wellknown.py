"""Discovery: WebFinger, host-meta and NodeInfo (every one CORS-open, as Mastodon's)."""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, request

from cara_fed import __version__
from cara_fed.federation.urls import LocalUrls
from cara_fed.services import accounts, instance
from cara_fed.services.registrations import effective_mode
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state
from webfinger.acct import AcctError, parse_acct
from webfinger.documents import (
    JRD_CONTENT_TYPE,
    NODEINFO_VERSIONS,
    XRD_CONTENT_TYPE,
    NodeDescription,
    NodeStats,
    actor_jrd,
    host_meta_json,
    host_meta_xrd,
    nodeinfo,
    nodeinfo_content_type,
    nodeinfo_links,
)

bp = Blueprint("wellknown", __name__)


@bp.get("/.well-known/webfinger")
async def webfinger() -> Response:
    settings = app_state(current_app).settings
    urls = LocalUrls(settings)
    resource = request.args.get("resource", "").strip()
    if not resource:
        abort(400, "resource parameter is required")
    if resource.startswith(("https://", "http://")):
        if resource == urls.instance_actor:
            username = None
        else:
            username = urls.username_from_url(resource)
            if username is None:
                abort(404)
    else:
        try:
            acct = parse_acct(resource)
        except AcctError:
            abort(400, "resource must be acct:user@host or an actor URL")
        if acct.host != settings.instance.domain.lower():
            abort(404)
        actor = await instance.instance_actor()
        username = None if actor is not None and acct.username.lower() == actor.username.lower() else acct.username
    if username is None:  # the instance actor
        actor = await instance.instance_actor()
        if actor is None:
            abort(404)
        subject = f"acct:{actor.username}@{settings.instance.domain}"
        document = actor_jrd(subject, urls.instance_actor, urls.base, urls.subscribe_template,
                             aliases=[urls.instance_actor])
    else:
        account = await accounts.get_public_local_account(username)
        subject = f"acct:{account.username}@{settings.instance.domain}"
        document = actor_jrd(subject, urls.actor(account.username), urls.profile(account.username),
                             urls.subscribe_template,
                             aliases=[urls.profile(account.username), urls.actor(account.username)])
    return json_response(document, JRD_CONTENT_TYPE, cors=True)


@bp.get("/.well-known/host-meta")
async def host_meta() -> Response:
    if request.args.get("format") == "json":
        return await host_meta_as_json()
    response = Response(host_meta_xrd(app_state(current_app).settings.base_url), content_type=XRD_CONTENT_TYPE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/host-meta.json")
async def host_meta_as_json() -> Response:
    return json_response(host_meta_json(app_state(current_app).settings.base_url), JRD_CONTENT_TYPE, cors=True)


@bp.get("/.well-known/nodeinfo")
async def nodeinfo_index() -> Response:
    return json_response(nodeinfo_links(app_state(current_app).settings.base_url), cors=True)


@bp.get("/nodeinfo/<version>")
async def nodeinfo_document(version: str) -> Response:
    if version not in NODEINFO_VERSIONS:
        abort(404)
    settings = app_state(current_app).settings
    users, month, halfyear, posts = await instance.node_stats()
    node = NodeDescription(
        software_name="cara-fed", software_version=__version__,
        # Open or invite-less approval both let anyone ask for an account (Mastodon: registrations enabled).
        open_registrations=await effective_mode(settings) in ("open", "approval"),
        metadata={
            "nodeName": settings.instance.name,
            "nodeDescription": settings.instance.description,
            # Our no-AI stance, machine-readable, for crawlers that read NodeInfo (noai.md section 7).
            "aiPolicy": {"aiTraining": "prohibited", "policy": LocalUrls(settings).ai_policy,
                         "xRobotsTag": "noai, noimageai", "tdmReservation": 1},
        },
    )
    document = nodeinfo(version, node, NodeStats(users, month, halfyear, posts))
    return json_response(document, nodeinfo_content_type(version), cors=True)
