"""Request parameters, however a client sends them: query string, JSON, form or multipart, with Rails-style
nested keys (``media_ids[]``, ``poll[options][]``, ``fields_attributes[0][name]``,
``media_attributes[][id]``), as Mastodon (Rails) reads them. GoToSocial broke toot by reading ``media_ids``
where toot sent ``media_ids[]`` (superseriousbusiness/gotosocial commit 7ca5bac): every list accepts both."""

from __future__ import annotations

import re
from typing import Any

from quart import g, request
from werkzeug.datastructures import FileStorage

from cara_fed.errors import CaraError, ValidationFailed

_KEY_PARTS = re.compile(r"\[([^\]]*)\]")
# ActiveModel::Type::Boolean's false values (anything else non-blank is true), any case.
_FALSE = {"false", "0", "f", "off", "no", "n"}


class BadRequest(CaraError):
    status = 400


def parse_nested(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Rails' nested parameter parsing of flat ``(key, value)`` pairs."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, _ = key.partition("[")
        parts = [head, *_KEY_PARTS.findall(key[len(head):])] if "[" in key else [key]
        if not head:
            continue
        _assign(root, parts, value)
    return root


def _assign(container: dict[str, Any], parts: list[str], value: Any) -> None:
    name, rest = parts[0], parts[1:]
    if not rest:
        container[name] = value
        return
    if rest[0] == "":  # name[] or name[][key]
        items = container.get(name)
        if not isinstance(items, list):
            items = container[name] = []
        if len(rest) == 1:
            items.append(value)
            return
        # name[][key]=v: a new hash starts when the last one already has that key (Rails' rule)
        if not items or not isinstance(items[-1], dict) or rest[1] in items[-1]:
            items.append({})
        _assign(items[-1], rest[1:], value)
        return
    child = container.get(name)
    if not isinstance(child, dict):
        child = container[name] = {}
    _assign(child, rest, value)


class Params:
    """Typed access to the merged parameters; a wrong type is 422 ``Validation failed: ...``."""

    def __init__(self, values: dict[str, Any], files: dict[str, FileStorage]) -> None:
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return name in self.values or name in self.files

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def str(self, name: str, default: str | None = None, *, max_length: int | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValidationFailed(f"Validation failed: {name} must be a string")
        text = str(value)
        if max_length is not None and len(text) > max_length:
            raise ValidationFailed(f"Validation failed: {name} is too long (maximum is {max_length} characters)")
        return text

    def bool(self, name: str, default: bool | None = None) -> bool | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return value != 0
        if isinstance(value, str):
            return value.strip().lower() not in _FALSE
        raise ValidationFailed(f"Validation failed: {name} must be true or false")

    def int(self, name: str, default: int | None = None, *, minimum: int | None = None,
            maximum: int | None = None, clamp: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            if isinstance(value, bool) or isinstance(value, (list, dict)):
                raise ValueError
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationFailed(f"Validation failed: {name} must be a whole number") from None
        if clamp:
            if minimum is not None:
                number = max(minimum, number)
            if maximum is not None:
                number = min(maximum, number)
        elif (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise ValidationFailed(f"Validation failed: {name} is out of range")
        return number

    def id(self, name: str) -> int | None:
        """A numeric id given as a string or number; None when absent. Anything else is 422."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        return parse_id(value, name)

    def list(self, name: str) -> list[Any]:
        """``name[]=a&name[]=b``, a JSON array, ``name[0]=a&name[1]=b``, or a single value."""
        value = self.values.get(name)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            if all(k.isdigit() for k in value):
                return [value[k] for k in sorted(value, key=int)]
            raise ValidationFailed(f"Validation failed: {name} must be a list")
        return [value]

    def dict(self, name: str) -> dict[str, Any]:
        value = self.values.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValidationFailed(f"Validation failed: {name} must be an object")
        return value

    def file(self, name: str) -> FileStorage | None:
        return self.files.get(name)


def parse_id(value: Any, name: str = "id") -> int:
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not text.isdigit() or len(text) > 19:
        raise ValidationFailed(f"Validation failed: {name} is not a valid id")
    return int(text)


async def params() -> Params:
    """The request's parameters: the query string overlaid by the body (JSON, form or multipart)."""
    cached: Params | None = g.get("api_params")
    if cached is not None:
        return cached
    pairs: list[tuple[str, Any]] = list(request.args.items(multi=True))
    values = parse_nested(pairs)
    files: dict[str, FileStorage] = {}
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        mimetype = request.mimetype
        if mimetype == "application/json" or mimetype.endswith("+json"):
            body = await request.get_data()
            if body.strip():
                data = await request.get_json(force=True, silent=True)
                if not isinstance(data, dict):
                    raise BadRequest("the request body is not a JSON object")
                values.update(data)
        elif mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form
            values.update(parse_nested(list(form.items(multi=True))))
            if mimetype == "multipart/form-data":
                uploaded = await request.files
                files = {key.removesuffix("[]"): value for key, value in uploaded.items()}
    result = Params(values, files)
    g.api_params = result
    return result
