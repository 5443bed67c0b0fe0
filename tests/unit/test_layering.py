"""Import direction (DESIGN.md section 2), checked by walking every import statement with ``ast``.

The three libraries (activitypub, webfinger, media) never import cara_fed, quart or tortoise, nor each
other. Inside the app: api/, web/ -> services/ -> federation/, jobs/ -> models/.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("activitypub", "webfinger", "media")
FRAMEWORKS = ("cara_fed", "quart", "tortoise")


@dataclass(frozen=True)
class Rule:
    folder: str                  # relative to the repository root
    forbidden: tuple[str, ...]   # module names; a name forbids itself and everything below it


RULES: tuple[Rule, ...] = (
    *(Rule(lib, FRAMEWORKS + tuple(other for other in LIBRARIES if other != lib)) for lib in LIBRARIES),
    Rule("cara_fed/models", ("cara_fed.services", "cara_fed.api", "cara_fed.web", "cara_fed.federation",
                             "cara_fed.jobs", "quart")),
    Rule("cara_fed/services", ("quart", "cara_fed.api", "cara_fed.web")),
    Rule("cara_fed/jobs", ("quart", "cara_fed.api", "cara_fed.web")),
)


def imported_modules(source: str, filename: str, package: str) -> list[tuple[int, str, str]]:
    """(line, absolute module name, statement text) for every import in ``source``, at any depth
    (including inside functions and ``if TYPE_CHECKING:``). ``from a import b`` yields both ``a`` and
    ``a.b``, since ``b`` may be a submodule; relative imports are resolved against ``package``."""
    tree = ast.parse(source, filename=filename)
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            text = ast.get_source_segment(source, node) or ""
            for alias in node.names:
                found.append((node.lineno, alias.name, text))
        elif isinstance(node, ast.ImportFrom):
            text = ast.get_source_segment(source, node) or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: max(0, len(parts) - (node.level - 1))]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            if base:
                found.append((node.lineno, base, text))
            for alias in node.names:
                if alias.name != "*":
                    found.append((node.lineno, f"{base}.{alias.name}" if base else alias.name, text))
    return found


def is_under(module: str, forbidden: str) -> bool:
    return module == forbidden or module.startswith(forbidden + ".")


def violations(source: str, filename: str, package: str, forbidden: tuple[str, ...]) -> list[str]:
    """One message per forbidden import: file, line, the statement and the rule it breaks."""
    messages: list[str] = []
    seen: set[tuple[int, str]] = set()
    for line, module, text in imported_modules(source, filename, package):
        for banned in forbidden:
            if is_under(module, banned) and (line, banned) not in seen:
                seen.add((line, banned))
                messages.append(f"{filename}:{line}: `{text}` imports {banned} (forbidden here)")
    return messages


def package_of(path: Path) -> str:
    return ".".join(path.parent.relative_to(REPO_ROOT).parts)


def python_files(folder: str) -> list[Path]:
    root = REPO_ROOT / folder
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


# -- the checker itself ----------------------------------------------------------------------------------


def test_checker_flags_forbidden_imports_in_a_fake_source() -> None:
    source = "from __future__ import annotations\n\nfrom tortoise import fields\nimport quart.app\nimport json\n"
    found = violations(source, "activitypub/fake.py", "activitypub", FRAMEWORKS)
    assert len(found) == 2, found
    assert "activitypub/fake.py:3:" in found[0] and "from tortoise import fields" in found[0]
    assert "activitypub/fake.py:4:" in found[1] and "import quart.app" in found[1]


def test_checker_sees_nested_relative_and_from_package_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import cara_fed.settings\n"
        "def later():\n"
        "    from cara_fed import services\n"
        "from ..web import routes\n"
        "from . import base\n"
    )
    found = violations(source, "cara_fed/models/fake.py", "cara_fed.models",
                       ("cara_fed.services", "cara_fed.web", "cara_fed.settings"))
    lines = sorted(int(message.split(":")[1]) for message in found)
    assert lines == [3, 5, 6], found


def test_checker_does_not_flag_allowed_or_look_alike_imports() -> None:
    source = "import quartz\nfrom cara_fed_extra import x\nfrom cara_fed.models import Account\nimport json\n"
    assert violations(source, "cara_fed/services/fake.py", "cara_fed.services",
                      ("quart", "cara_fed", "cara_fed.web")) == [
        "cara_fed/services/fake.py:3: `from cara_fed.models import Account` imports cara_fed (forbidden here)",
    ]


@pytest.mark.parametrize("library", LIBRARIES)
def test_each_library_folder_has_python_files(library: str) -> None:
    assert python_files(library), f"{library}/ has no .py files: the layering test would check nothing"


# -- the tree ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.folder)
def test_imports_follow_the_design_direction(rule: Rule) -> None:
    root = REPO_ROOT / rule.folder
    if not root.is_dir():
        # The app packages arrive over time; the libraries must always exist (checked above).
        assert rule.folder not in LIBRARIES, f"{rule.folder}/ is missing"
        pytest.skip(f"{rule.folder}/ does not exist yet")
    problems: list[str] = []
    for path in python_files(rule.folder):
        source = path.read_text(encoding="utf-8")
        relative = path.relative_to(REPO_ROOT).as_posix()
        problems.extend(violations(source, relative, package_of(path), rule.forbidden))
    assert not problems, "forbidden imports:\n" + "\n".join(problems)
