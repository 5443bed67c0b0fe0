"""W3C TDMRep: ``/.well-known/tdmrep.json`` and the ODRL policies its ``tdm-policy`` URLs point to (noai.md
section 3; https://www.w3.org/community/reports/tdmrep/).

tdmrep.json is a JSON array of ``{"location", "tdm-reservation", "tdm-policy"?}`` rules, first match wins, so
the per-artist rules come before the site-wide ``/``. Every rule reserves TDM (``1``): an artist's choices
change only which policy applies to their pages, never the reservation.

Two policies (ODRL 2.2 ``Offer``s in the TDMRep profile):

* the instance policy: text and data mining needs the rights holder's consent (``tdm:mine`` with the duty
  ``obtainConsent``, the shape of noai.md section 3);
* the search policy, for the pages of artists who allow search indexing: the same, plus ODRL's own
  ``index`` action ("to record the asset in an index", e.g. a search engine's) permitted without consent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

JSON_CONTENT_TYPE = "application/json"
POLICY_CONTENT_TYPE = "application/ld+json"
ODRL_CONTEXT = ["http://www.w3.org/ns/odrl.jsonld", "http://www.w3.org/ns/tdmrep.jsonld"]
TDMREP_PROFILE = "http://www.w3.org/ns/tdmrep"


def tdmrep_json(policy_url: str, *, search_paths: Sequence[str] = (), search_policy_url: str | None = None
                ) -> list[dict[str, Any]]:
    """The rules: for each path of ``search_paths`` (a page such as ``/@mira``, the page and everything below
    it) a rule pointing to ``search_policy_url``, then the site-wide rule."""
    rules: list[dict[str, Any]] = []
    for path in search_paths:
        for location in (f"{path}$", f"{path}/*"):  # robots.txt patterns: not /@ann for /@anna
            rule: dict[str, Any] = {"location": location, "tdm-reservation": 1}
            if search_policy_url:
                rule["tdm-policy"] = search_policy_url
            rules.append(rule)
    rules.append({"location": "/", "tdm-reservation": 1, "tdm-policy": policy_url})
    return rules


def odrl_policy(policy_url: str, *, assigner_name: str, assigner_url: str, assigner_email: str = "",
                target: str | None = None, allow_search_indexing: bool = False) -> dict[str, Any]:
    """The ODRL policy served at ``policy_url`` (its ``uid``). ``assigner``: the instance, as a vCard
    organisation (it speaks for the artists it hosts). ``target``: what it covers (default: the site)."""
    assigner: dict[str, Any] = {"@type": "vcard:Organization", "vcard:fn": assigner_name,
                                "vcard:url": {"@id": assigner_url}}
    if assigner_email:
        assigner["vcard:hasEmail"] = {"@id": f"mailto:{assigner_email}"}
    covered = target or assigner_url
    permissions: list[dict[str, Any]] = []
    if allow_search_indexing:
        permissions.append({"target": covered, "action": "index"})
    permissions.append({"target": covered, "action": "tdm:mine", "duty": [{"action": "obtainConsent"}]})
    return {
        "@context": [*ODRL_CONTEXT, {"vcard": "http://www.w3.org/2006/vcard/ns#"}],
        "@type": "Offer",
        "profile": TDMREP_PROFILE,
        "uid": policy_url,
        "assigner": assigner,
        "permission": permissions,
    }
