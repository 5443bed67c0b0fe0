"""Independent readers for the tests: exiftool (Debian's libimage-exiftool-perl) and Pillow's getxmp()."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

EXIFTOOL = Path("/usr/bin/exiftool")
needs_exiftool = pytest.mark.skipif(
    not EXIFTOOL.exists(),
    reason="/usr/bin/exiftool is missing: install Debian's libimage-exiftool-perl (.ci/run installs it)")

DMI_PROHIBITED = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"


def exiftool(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """``exiftool -j -G1 -n -a -u`` over ``paths``: every tag, grouped, raw values; keyed by file name."""
    paths = list(paths)
    result = subprocess.run([str(EXIFTOOL), "-j", "-G1", "-n", "-a", "-u", *map(str, paths)],
                            check=False, capture_output=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr.decode(errors="replace")
    return {Path(entry["SourceFile"]).name: entry for entry in json.loads(result.stdout)}


def xmp_description(data: bytes) -> dict[str, Any]:
    """The rdf:Description of the file's XMP as Pillow's getxmp() (defusedxml) reads it."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        xmp = image.getxmp()
    description = xmp["xmpmeta"]["RDF"]["Description"]
    assert isinstance(description, dict)
    return description


def alt_text(value: Any) -> str:
    """The x-default text of an rdf:Alt as getxmp() returns it."""
    item = value["Alt"]["li"]
    return item["text"] if isinstance(item, dict) else item
