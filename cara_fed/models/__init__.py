"""Tortoise models, one module per noun. Listed here so tortoise finds them all from ``cara_fed.models``."""

from cara_fed.models.accounts import Account, User
from cara_fed.models.admin import DomainAllow, InstanceSetting, Invite, RateLimitBucket, ReportNote, Rule
from cara_fed.models.api_state import IdempotencyKey, Marker, Mute, StatusEdit
from cara_fed.models.delivery_hosts import DeliveryHost
from cara_fed.models.domain_blocks import DomainBlock
from cara_fed.models.follows import Follow, FollowRequest
from cara_fed.models.interactions import Bookmark, Favourite
from cara_fed.models.jobs import Job
from cara_fed.models.media_attachments import MediaAttachment
from cara_fed.models.moderation import ActivityTombstone, Block, Report
from cara_fed.models.notifications import Notification
from cara_fed.models.oauth import OAuthApp, OAuthCode, OAuthToken
from cara_fed.models.portfolio import Series, Work
from cara_fed.models.statuses import Mention, Status, StatusPin, Tag

__models__ = [
    Account, User, ActivityTombstone, Block, Report, DeliveryHost, DomainBlock, Follow, FollowRequest, Favourite, Bookmark, Job, MediaAttachment, Notification,
    OAuthApp, OAuthCode, OAuthToken, Status, StatusPin, Mention, Tag, Mute, Marker, StatusEdit, IdempotencyKey,
    Series, Work, InstanceSetting, Rule, Invite, ReportNote, DomainAllow, RateLimitBucket,
]
