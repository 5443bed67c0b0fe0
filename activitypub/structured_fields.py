"""RFC 8941 structured fields: the subset RFC 9421 (``Signature-Input``, ``Signature``) and RFC 9530
(``Content-Digest``) use: dictionaries, inner lists, items with parameters; integers, decimals, strings,
tokens, byte sequences, booleans. Parsing and the serialization ``@signature-params`` needs.

Strict where RFC 8941 is lenient: a repeated dictionary key or parameter is refused instead of "last one
wins", since two parsers disagreeing on which one counts is how signature bypasses happen. Any syntax error
is a :class:`~activitypub.sigbase.MalformedSignature` (a 401 where a signature header is concerned).
"""

from __future__ import annotations

import base64
import math
import re
import string
from dataclasses import dataclass
from typing import NoReturn, Union

from activitypub.sigbase import MAX_HEADER_LENGTH, MalformedSignature


class Token(str):
    """An sf-token: serialized bare, where an sf-string is quoted (the difference matters when re-serializing
    ``@signature-params``)."""


BareItem = Union[int, float, str, bytes, bool]
Params = tuple[tuple[str, BareItem], ...]


@dataclass(frozen=True)
class Item:
    value: BareItem
    params: Params = ()


@dataclass(frozen=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = ()


# RFC 8941 grammar pieces; possessive quantifiers (Python 3.11) keep hostile input linear
_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*+")  # 3.1.2
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*+")  # 3.3.4
_STRING = re.compile(r'"((?:[ !#-\[\]-~]++|\\["\\])*+)"')  # 3.3.3: printable ASCII, escapes \" and \\ only
_NUMBER = re.compile(r"-?([0-9]{1,15})(\.[0-9]{1,3})?")  # 3.3.1/3.3.2: 15 integer digits; decimals 12 + 3
_BASE64_CHARS = frozenset(string.ascii_letters + string.digits + "+/=")


class _Parser:
    """A cursor over one field value; each method follows the algorithm of the RFC 8941 section named."""

    def __init__(self, text: str) -> None:
        if len(text) > MAX_HEADER_LENGTH:
            raise MalformedSignature("structured field too long")
        self.text, self.pos = text, 0

    def fail(self, why: str) -> NoReturn:
        raise MalformedSignature(f"structured field: {why}")

    def peek(self) -> str:
        return self.text[self.pos:self.pos + 1]

    def skip(self, chars: str) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in chars:
            pos += 1
        self.pos = pos

    def take(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        match = pattern.match(self.text, self.pos)
        if match is None:
            self.fail(f"expected {what}")
        self.pos = match.end()
        return match

    def dictionary(self) -> dict[str, Item | InnerList]:  # 4.2.2 (plus 4.2 steps 2 and 5)
        result: dict[str, Item | InnerList] = {}
        self.skip(" ")
        while self.peek():
            key = self.key()
            if self.peek() == "=":
                self.pos += 1
                member: Item | InnerList = self.inner_list() if self.peek() == "(" else self.item()
            else:
                member = Item(True, self.params())
            if key in result:
                self.fail(f"repeated key {key[:20]!r}")
            result[key] = member
            self.skip(" \t")
            if not self.peek():
                break
            if self.peek() != ",":
                self.fail("expected a comma")
            self.pos += 1
            self.skip(" \t")
            if not self.peek():
                self.fail("trailing comma")
        return result

    def inner_list(self) -> InnerList:  # 4.2.1.2
        self.pos += 1  # "("
        items: list[Item] = []
        while True:
            self.skip(" ")
            if self.peek() == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            items.append(self.item())
            if self.peek() not in (" ", ")"):
                self.fail("inner list items must be separated by a space")

    def item(self) -> Item:  # 4.2.3
        value = self.bare_item()
        return Item(value, self.params())

    def params(self) -> Params:  # 4.2.3.2
        found: dict[str, BareItem] = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip(" ")
            key = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            if key in found:
                self.fail(f"repeated parameter {key[:20]!r}")
            found[key] = value
        return tuple(found.items())

    def key(self) -> str:  # 4.2.3.3
        return self.take(_KEY, "a key")[0]

    def bare_item(self) -> BareItem:  # 4.2.3.1
        c = self.peek()
        if c == "-" or c.isascii() and c.isdigit():
            return self.number()
        if c == '"':
            return self.string()
        if c == ":":
            return self.byte_sequence()
        if c == "?":
            flag = self.text[self.pos + 1:self.pos + 2]
            if flag not in ("0", "1"):
                self.fail("bad boolean")
            self.pos += 2
            return flag == "1"
        return Token(self.take(_TOKEN, "an item")[0])

    def number(self) -> int | float:  # 4.2.4
        match = _NUMBER.match(self.text, self.pos)
        if match is None or (match[2] and len(match[1]) > 12):
            self.fail("bad number")
        following = self.text[match.end():match.end() + 1]
        if following.isascii() and following.isdigit() or following == ".":
            self.fail("number too long")
        self.pos = match.end()
        return float(match[0]) if match[2] else int(match[0])

    def string(self) -> str:  # 4.2.5
        content = self.take(_STRING, "a valid string")[1]
        return re.sub(r"\\(.)", r"\1", content) if "\\" in content else content

    def byte_sequence(self) -> bytes:  # 4.2.7
        end = self.text.find(":", self.pos + 1)
        if end < 0:
            self.fail("unterminated byte sequence")
        encoded = self.text[self.pos + 1:end]
        if not set(encoded) <= _BASE64_CHARS:
            self.fail("bad byte sequence")
        self.pos = end + 1
        try:
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except ValueError:
            self.fail("bad byte sequence")


def parse_dictionary(text: str) -> dict[str, Item | InnerList]:
    """An RFC 8941 dictionary; any syntax error is a :class:`MalformedSignature`."""
    return _Parser(text).dictionary()


def serialize_bare_item(value: BareItem) -> str:  # RFC 8941 section 4.1.3
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # 4.1.5: at most three fractional digits, at least one
        if not math.isfinite(value):
            raise MalformedSignature("non-finite decimal")
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_params(params: Params) -> str:
    return "".join(f";{key}" if value is True else f";{key}={serialize_bare_item(value)}"
                   for key, value in params)


def serialize_inner_list(members: InnerList) -> str:
    inner = " ".join(serialize_bare_item(i.value) + serialize_params(i.params) for i in members.items)
    return f"({inner}){serialize_params(members.params)}"
