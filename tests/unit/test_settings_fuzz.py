"""Whatever an admin writes, settings either load or fail with one ConfigError line: never a traceback."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from hypothesis import given, settings as hypothesis_settings, strategies as st

from cara_fed.settings import SECTIONS, ConfigError, Settings, load_settings

KEYS = [(section, f.name) for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)  # TOML strings are UTF-8
TOML_VALUES = st.one_of(
    TEXT, st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), st.integers(), max_size=2),
)


def loads_or_fails_cleanly(**kwargs: object) -> None:
    try:
        loaded = load_settings(**kwargs)  # type: ignore[arg-type]
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message.strip()
    else:
        assert isinstance(loaded, Settings)


@hypothesis_settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(KEYS), text=st.text(max_size=60))
def test_any_environment_value_loads_or_fails_with_one_line(key: tuple[str, str], text: str) -> None:
    section, name = key
    loads_or_fails_cleanly(path=None, environ={f"CARA_FED_{section.upper()}_{name.upper()}": text})


@hypothesis_settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(KEYS), value=TOML_VALUES)
def test_any_file_value_loads_or_fails_with_one_line(tmp_path_factory, key: tuple[str, str],  # type: ignore[no-untyped-def]
                                                     value: object) -> None:
    section, name = key
    path: Path = tmp_path_factory.mktemp("cfg") / "cara.toml"
    path.write_text(_toml(section, name, value))
    tomllib.loads(path.read_text())  # the generator writes valid TOML; the loader is what is under test
    loads_or_fails_cleanly(path=path, environ={})


def _toml(section: str, name: str, value: object) -> str:
    return f"[{section}]\n{name} = {_toml_value(value)}\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08x}" for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
