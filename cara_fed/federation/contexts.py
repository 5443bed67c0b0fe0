"""The JSON-LD ``@context`` of what we publish: ActivityStreams, the security vocabulary (publicKey), and
inline definitions of the extension terms, so no receiver has to fetch anything to understand them.

Term sources: Mastodon's app/lib/activitypub/adapter.rb (toot:, schema:, as:manuallyApprovesFollowers) and
FEP-5e53 for ``xRobotsTag`` (which assigns no IRI of its own: we use the FEP's URL as the namespace).

Portfolio terms (issue 6; docs/portfolio-api.md "Federation"): ``portfolio`` on the actor (its portfolio
``OrderedCollection``), and on a work's ``Note``: ``series`` (the series collection it belongs to; on the
portfolio collection, the series it is divided into), ``medium`` (schema.org's ``artMedium``) and ``year``.
The work's title is the Note's ActivityStreams ``name`` and its licence the ``license`` link. Our own
terms live under one namespace, ``CARA_NS`` (a w3id.org permanent-identifier path, like FEP-5e53's).
"""

from __future__ import annotations

from typing import Any

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CARA_NS = "https://w3id.org/cara-fed/ns#"

EXTENSIONS: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "xRobotsTag": "https://w3id.org/fep/5e53#xRobotsTag",
    "cara": CARA_NS,
    "portfolio": {"@id": "cara:portfolio", "@type": "@id"},
}

ACTOR_CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, EXTENSIONS]

OBJECT_EXTENSIONS: dict[str, Any] = {
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "toot": "http://joinmastodon.org/ns#",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "schema": "http://schema.org#",
    "license": {"@id": "schema:license", "@type": "@id"},
    "xRobotsTag": "https://w3id.org/fep/5e53#xRobotsTag",
    "cara": CARA_NS,
    "series": {"@id": "cara:series", "@type": "@id"},
    "medium": "schema:artMedium",
    "year": "cara:year",
}

OBJECT_CONTEXT: list[Any] = [AS_CONTEXT, OBJECT_EXTENSIONS]

# The reservation we attach to everything we publish (FEP-5e53; the same words as our X-Robots-Tag header).
X_ROBOTS_TAG = "noai, noimageai"
