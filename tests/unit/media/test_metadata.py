"""Metadata in every output, read back with independent parsers (security.md E36, noai.md section 6).

Pillow's getxmp() (through defusedxml) and exiftool must both find the no-AI XMP (plus:DataMining) and no
GPS in every derivative of uploads that carried GPS in EXIF, in XMP and in PNG text chunks; the raw bytes
must not contain "GPSLatitude" or any of the other markers planted in the inputs.
"""

from __future__ import annotations

import io
import xml.dom.minidom
from pathlib import Path

import defusedxml.ElementTree
import pytest
from PIL import Image

from media import MediaLimits, ProcessedMedia, RightsNotice, build_xmp, process_upload
from media.storage import MemoryStorage

from .imagegen import SECRETS, animated_gif, dirty_exif, dirty_jpeg, dirty_png, encode, picture
from .readback import DMI_PROHIBITED, alt_text, exiftool, needs_exiftool, xmp_description

POLICY = "https://art.example/about/ai"
ARTIST = "Zoë <Ink> & \"Brush\""


def upload(data: bytes, untouched: bool = False) -> tuple[ProcessedMedia, dict[str, bytes]]:
    storage = MemoryStorage()
    result = process_upload(data, limits=MediaLimits(), artist_name=ARTIST, policy_url=POLICY,
                            storage=storage, pixels_untouched=untouched, year=2026)
    return result, {name: storage.open(name).read() for name in result.storage_names}


DIRTY = {
    "jpeg": lambda: dirty_jpeg(orientation=6),
    "progressive-jpeg": lambda: dirty_jpeg(progressive=True),
    "png": lambda: dirty_png(),
    "rgba-png": lambda: dirty_png(picture((200, 150), "RGBA")),
}


@pytest.fixture(scope="module", params=[(kind, untouched) for kind in DIRTY for untouched in (False, True)],
                ids=lambda p: f"{p[0]}{'-untouched' if p[1] else ''}")
def outputs(request: pytest.FixtureRequest) -> tuple[ProcessedMedia, dict[str, bytes]]:
    kind, untouched = request.param
    return upload(DIRTY[kind](), untouched)


def test_inputs_really_carry_the_secrets() -> None:
    for make in DIRTY.values():
        data = make()
        assert b"GPSLatitude" in data
        assert sum(secret in data for secret in SECRETS) >= 4


def test_no_planted_secret_survives_in_any_output(outputs: tuple[ProcessedMedia, dict[str, bytes]]) -> None:
    result, files = outputs
    # Every stored file is read below: 5 (full size, preview and thumbnail WebP + JPEG/PNG), and an untouched
    # copy of its own only when the full size is not the kept upload itself.
    assert set(files) == set(result.storage_names) and len(files) in (5, 6)
    for name, data in files.items():
        for secret in SECRETS:
            assert secret not in data, (name, secret)
        assert b"Canon" not in data, name  # IFD0 Make: not on the allow-list


def test_getxmp_reads_the_no_ai_packet_from_every_output(
        outputs: tuple[ProcessedMedia, dict[str, bytes]]) -> None:
    _, files = outputs
    for name, data in files.items():
        description = xmp_description(data)
        assert description["DataMining"] == DMI_PROHIBITED, name
        assert description["WebStatement"] == POLICY
        assert description["Marked"] == "True"
        assert description["creator"]["Seq"]["li"] == ARTIST
        assert alt_text(description["rights"]) == f"\u00a9 2026 {ARTIST}. All rights reserved."
        assert "AI" in alt_text(description["OtherConstraints"])
        assert not any("GPS" in key for key in description), name


def test_exif_holds_only_the_allow_list(outputs: tuple[ProcessedMedia, dict[str, bytes]]) -> None:
    result, files = outputs
    for name, data in files.items():
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            exif = image.getexif()
            allowed = {0x013B, 0x8298}
            if result.untouched is not None and name == result.untouched.name:
                allowed.add(0x0112)  # pixels not rotated: the viewer must still rotate them
            assert set(exif) <= allowed and {0x013B, 0x8298} <= set(exif), (name, dict(exif))
            assert exif.get_ifd(0x8825) == {} and exif.get_ifd(0x8769) == {}
            assert "comment" not in image.info and not any(k for k in image.info if "text" in str(k).lower())


def test_untouched_copy_keeps_orientation_six() -> None:
    result, files = upload(dirty_jpeg(orientation=6), untouched=True)
    assert result.untouched is not None
    with Image.open(io.BytesIO(files[result.untouched.name])) as image:
        assert image.getexif()[0x0112] == 6
        assert image.size == (640, 480)
    assert (result.untouched.width, result.untouched.height) == (480, 640)  # as displayed
    assert result.meta["original"]["size"] == "480x640"


@needs_exiftool
def test_exiftool_reads_data_mining_and_finds_no_gps(outputs: tuple[ProcessedMedia, dict[str, bytes]],
                                                     tmp_path: Path) -> None:
    _, files = outputs
    paths = []
    for name, data in files.items():
        path = tmp_path / name.replace("/", "_")
        path.write_bytes(data)
        paths.append(path)
    found = exiftool(paths)
    assert len(found) == len(paths)
    for file_name, tags in found.items():
        assert tags.get("XMP-plus:DataMining") == DMI_PROHIBITED, (file_name, tags)
        assert tags.get("XMP-xmpRights:WebStatement") == POLICY
        assert tags.get("XMP-xmpRights:Marked") in (True, "True", 1)
        assert tags.get("XMP-dc:Creator") == ARTIST
        leaked = [key for key in tags if any(word in key for word in
                                             ("GPS", "MakerNote", "Serial", "OwnerName", "Thumbnail",
                                              "Location", "Comment", "IPTC", "Make"))]
        assert leaked == [], (file_name, leaked)
        assert "Warning" not in " ".join(tags), (file_name, {k: v for k, v in tags.items() if "Warning" in k})


@needs_exiftool
def test_exiftool_reads_a_non_ascii_artist_from_exif(tmp_path: Path) -> None:
    result, files = upload(encode(picture((80, 60)), "JPEG"))
    path = tmp_path / "full.jpg"
    path.write_bytes(files[result.full.federation.name])
    tags = exiftool([path])["full.jpg"]
    assert tags["IFD0:Artist"] == ARTIST
    assert tags["IFD0:Copyright"] == f"\u00a9 2026 {ARTIST}. All rights reserved."


def test_the_uploads_own_artist_and_copyright_are_kept() -> None:
    exif = dirty_exif(artist=b"Jane Camera")
    result, files = upload(encode(picture((80, 60)), "JPEG", exif=exif))
    with Image.open(io.BytesIO(files[result.preview.federation.name])) as image:
        assert image.getexif()[0x013B] == "Jane Camera"


def test_gif_outputs_carry_no_metadata_at_all() -> None:
    result, files = upload(animated_gif(frames=3))
    gif = files[result.full.federation.name]
    assert gif.startswith(b"GIF89a")
    # Extensions allowed in our GIF: graphic control (F9) and the NETSCAPE2.0 loop block only.
    assert b"\x21\xfe" not in gif  # comment extension
    assert gif.count(b"\x21\xff") <= 1 and (b"\x21\xff" not in gif or b"NETSCAPE2.0" in gif)
    assert b"xmp" not in gif.lower()


# -- the packet itself -----------------------------------------------------------------------------------


def test_packet_is_well_formed_and_escapes_everything() -> None:
    name = "A<b>&amp;\"'\x00\x07\x1b ]]> <!ENTITY x SYSTEM 'file:///etc/passwd'>"
    notice = RightsNotice.for_artist(name, "https://art.example/ai?x=1&y=<2>", 2026)
    packet = build_xmp(notice)
    root = defusedxml.ElementTree.fromstring(packet.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])
    text = "".join(root.itertext())
    assert "A<b>&amp;\"' ]]> <!ENTITY x SYSTEM 'file:///etc/passwd'>" in text
    xml.dom.minidom.parseString(packet)  # well-formed with the processing instructions too
    assert b"\x00" not in packet and b"\x07" not in packet and b"<b>" not in packet


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_packet_embedded_by_each_encoder_reads_back(fmt: str) -> None:
    notice = RightsNotice.for_artist("Ada", POLICY, 2026, data_mining="DMI-PROHIBITED")
    from media.encode import EncodeSettings, Metadata, encode_still
    from media.formats import ImageFormat

    meta = Metadata(None, b"Exif\x00\x00" + Image.Exif().tobytes()[6:], build_xmp(notice))
    encoded = encode_still(picture((40, 30)), ImageFormat[fmt], meta, EncodeSettings())
    assert xmp_description(encoded.data)["DataMining"] == "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"
    assert encoded.data.count(b"DMI-PROHIBITED") == 1  # one packet, not two


def test_pillow_png_ignores_xmp_keyword_so_we_write_itxt() -> None:
    # Documents the Pillow behaviour encode.py works around (noai.md section 6).
    data = encode(picture((10, 10)), "PNG", xmp=b"<x:xmpmeta>marker</x:xmpmeta>")
    if b"marker" in data:
        pytest.skip("this Pillow writes XMP into PNG itself; the iTXt path still works")
    assert b"marker" not in data


@pytest.mark.parametrize(("field", "value"), [
    ("data_mining", "DMI-NOPE"), ("policy_url", "javascript:alert(1)"), ("policy_url", "/relative"),
    ("policy_url", "https://a b/"),
])
def test_notice_refuses_bad_values(field: str, value: str) -> None:
    options = {"artist_name": "Ada", "policy_url": POLICY, "rights": "(c) Ada", field: value}
    with pytest.raises(ValueError):
        RightsNotice(**options)  # type: ignore[arg-type]
