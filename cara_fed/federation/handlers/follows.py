"""Follow, Accept, Reject, and Undo of a Follow: the follow life cycle with remote actors."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from activitypub.parsing import ref, types
from cara_fed.federation.contexts import AS_CONTEXT
from cara_fed.federation.delivery import enqueue_deliveries
from cara_fed.federation.inbox import Incoming, handles
from cara_fed.federation.remote_actors import origin
from cara_fed.models import Account, ActivityTombstone, Follow, FollowRequest, Notification


async def local_target(incoming: Incoming, uri: str | None) -> Account | None:
    """The local, active account an activity's object names (``/users/NAME``), else None."""
    if uri is None:
        return None
    username = incoming.federation.urls.username_from_url(uri)
    if username is None or uri != incoming.federation.urls.actor(username):
        return None
    account = await Account.filter(username=username, domain=None, suspended_at=None,
                                   user__id__isnull=False).first()
    return account


def accept_activity(incoming: Incoming, target: Account, follow: Follow, follow_activity: dict[str, Any]
                    ) -> dict[str, Any]:
    urls = incoming.federation.urls
    return {"@context": AS_CONTEXT, "id": urls.accept_activity(target.username, follow.id), "type": "Accept",
            "actor": urls.actor(target.username), "object": follow_activity}


def follow_object(activity: dict[str, Any], actor: Account, target_uri: str) -> dict[str, Any]:
    """The Follow as we echo it in our Accept: the sender's id, its actor and object (Mastodon checks them)."""
    return {"id": activity.get("id"), "type": "Follow", "actor": actor.uri, "object": target_uri}


@handles("Follow")
async def on_follow(incoming: Incoming) -> None:
    activity, actor = incoming.activity, incoming.actor
    target_uri = ref(activity.get("object"))
    target = await local_target(incoming, target_uri)
    if target is None or target_uri is None:
        return
    follow_uri = activity.get("id") if isinstance(activity.get("id"), str) else None
    if follow_uri is not None and origin(follow_uri) != origin(actor.uri or ""):
        return  # an id on another origin would squat that server's follow ids
    if follow_uri is not None and await ActivityTombstone.exists(uri=follow_uri, account_id=actor.id):
        return  # its Undo, by the same actor, arrived first (security.md item 39)
    echoed = follow_object(activity, actor, target_uri)
    existing = await Follow.filter(account_id=actor.id, target_account_id=target.id).first()
    if existing is not None:  # a repeated Follow: Mastodon re-sends the Accept (the first may be lost)
        await enqueue_deliveries(accept_activity(incoming, target, existing, echoed), target,
                                 [actor.inbox_url or ""], once=False)
        return
    async with in_transaction() as conn:
        # A silenced account (or one of a limited domain) only asks, as Mastodon's Follow#perform.
        if target.locked or actor.silenced_at is not None:
            request, created = await FollowRequest.get_or_create(
                account_id=actor.id, target_account_id=target.id, defaults={"uri": follow_uri}, using_db=conn)
            if created:
                await Notification.create(account=target, from_account=actor, type="follow_request", using_db=conn)
            return
        follow = await Follow.create(account_id=actor.id, target_account_id=target.id, uri=follow_uri,
                                     using_db=conn)
        await FollowRequest.filter(account_id=actor.id, target_account_id=target.id).using_db(conn).delete()
        await Notification.create(account=target, from_account=actor, type="follow", using_db=conn)
        await enqueue_deliveries(accept_activity(incoming, target, follow, echoed), target,
                                 [actor.inbox_url or ""], using_db=conn)


async def _our_follow_request(incoming: Incoming) -> FollowRequest | None:
    """The follow request of ours an Accept/Reject answers: found by its id, and only if the remote actor
    answering is the one we asked (security.md item 4)."""
    follow_id = ref(incoming.activity.get("object"))
    query = FollowRequest.filter(target_account_id=incoming.actor.id, account__domain=None)
    if follow_id is not None:
        request = await query.filter(uri=follow_id).first()
        if request is not None:
            return request
    inner = incoming.activity.get("object")
    if isinstance(inner, dict) and "Follow" in types(inner):
        # Some servers echo the Follow without our id: match by its actor (ours, local).
        username = incoming.federation.urls.username_from_url(ref(inner.get("actor")) or "")
        if username is not None:
            return await query.filter(account__username=username).first()
    return None


@handles("Accept")
async def on_accept(incoming: Incoming) -> None:
    request = await _our_follow_request(incoming)
    if request is None:
        return
    async with in_transaction() as conn:
        await Follow.get_or_create(account_id=request.account_id, target_account_id=request.target_account_id,
                                   defaults={"uri": request.uri, "show_reblogs": request.show_reblogs,
                                             "notify": request.notify}, using_db=conn)
        await request.delete(using_db=conn)


@handles("Reject")
async def on_reject(incoming: Incoming) -> None:
    request = await _our_follow_request(incoming)
    if request is not None:
        await request.delete()
        return
    # A Reject of an established follow: the remote removed us as a follower.
    follow_id = ref(incoming.activity.get("object"))
    if follow_id:
        await Follow.filter(uri=follow_id, target_account_id=incoming.actor.id, account__domain=None).delete()


async def undo_follow(incoming: Incoming, inner: Any) -> None:
    """Only the follower can undo their follow (security.md item 4): rows are matched with the sender."""
    actor = incoming.actor
    follow_id = ref(inner)
    target = await local_target(incoming, ref(inner.get("object")) if isinstance(inner, dict) else None)
    removed = 0
    for model in (Follow, FollowRequest):
        query = model.filter(account_id=actor.id)
        if target is not None:
            removed += await query.filter(target_account_id=target.id).delete()
        elif follow_id is not None:
            removed += await query.filter(uri=follow_id).delete()
    if removed == 0 and follow_id is not None and origin(follow_id) == origin(actor.uri or ""):
        # The Undo overtook its Follow: remember, so the Follow is ignored when it arrives.
        # Keyed by the actor too: another account of that server cannot pre-empt this one's Follow.
        await ActivityTombstone.get_or_create(uri=follow_id, account_id=actor.id)
