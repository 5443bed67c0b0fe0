"""Response shapes checked against the Mastodon OpenAPI description (../shared/mastodon-api/openapi.json,
abraham/mastodon-openapi, GFDL-1.3; ../shared/reference/mastodon-api.md section 8).

``assert_entity("Account", body)`` validates ``body`` against ``components.schemas.Account`` (OpenAPI 3.1,
JSON Schema 2020-12; ``$ref``s resolve inside the document; ``date-time``/``date`` formats are checked).
The description targets Mastodon 4.7 while we report 4.2: fields that only newer versions require are
advisory, listed in ``ADVISORY_REQUIRED`` with the version that added them. They are still type-checked
when present. Keep that list short and explain every entry.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "mastodon-api" / "openapi.json"
SPEC_URI = "urn:mastodon-openapi"

# schema name -> required fields we do not enforce (newer than the Mastodon version we implement).
ADVISORY_REQUIRED: dict[str, frozenset[str]] = {
    # Mastodon 4.3 added api_versions; we report 4.2.0 and omit it on purpose until /api/v2/notifications
    # exists (../shared/reference/mastodon-api.md, decision 4: clients read it as a promise of that API).
    "Instance": frozenset({"api_versions"}),
}


@functools.cache
def _spec() -> dict[str, Any]:
    spec = copy.deepcopy(json.loads(SPEC_PATH.read_text()))
    schemas = spec["components"]["schemas"]
    for name, fields in ADVISORY_REQUIRED.items():
        schema = schemas.get(name)
        if schema is not None and "required" in schema:
            schema["required"] = [f for f in schema["required"] if f not in fields]
    return spec


@functools.cache
def _validator(name: str) -> OAS31Validator:
    spec = _spec()
    if name not in spec["components"]["schemas"]:
        raise KeyError(f"no schema {name!r} in {SPEC_PATH.name}")
    registry: Registry = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
    return OAS31Validator({"$ref": f"{SPEC_URI}#/components/schemas/{name}"}, registry=registry,
                          format_checker=OAS31Validator.FORMAT_CHECKER)


def entity_errors(name: str, body: Any) -> list[str]:
    """Every violation of schema ``name`` by ``body``, as ``path: message`` lines (empty: valid)."""
    errors = sorted(_validator(name).iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors]


def assert_entity(name: str, body: Any) -> None:
    """Fail with a readable list of violations unless ``body`` is a valid ``name`` entity."""
    errors = list(_validator(name).iter_errors(body))
    if errors:
        main = best_match(errors)
        lines = "\n  ".join(entity_errors(name, body))
        raise AssertionError(f"not a valid {name} ({main.message}):\n  {lines}")


def assert_entities(name: str, bodies: Any) -> None:
    assert isinstance(bodies, list), f"expected a list of {name}, got {type(bodies).__name__}"
    for body in bodies:
        assert_entity(name, body)
