"""Posts as pages draw them (the profile's posts tab and a post's own page): the post, its images as
``<img>`` attributes, its page and, for a work, the work's page."""

from __future__ import annotations

from dataclasses import dataclass

from cara_fed.services.page_posts import PostView
from cara_fed.services.pages import PageAccount
from cara_fed.web import page_views as views
from cara_fed.web.page_images import ImageTag, image_tag


@dataclass(frozen=True, slots=True)
class PostItem:
    post: PostView
    images: list[ImageTag]
    path: str  # /@NAME/ID
    work_path: str | None  # /@NAME/works/ID
    work_title: str


def post_items(account: PageAccount, posts: list[PostView]) -> list[PostItem]:
    urls = views.urls()
    edge = views.settings().media.full_size_max_edge
    base = views.profile_path(account)
    return [PostItem(post=post, images=[image_tag(i, urls, edge) for i in post.images],
                     path=f"{base}/{post.id}",
                     work_path=f"{base}/works/{post.work[0]}" if post.work else None,
                     work_title=post.work[1] if post.work else "")
            for post in posts]
