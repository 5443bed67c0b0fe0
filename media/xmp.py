"""The no-AI XMP packet embedded in every JPEG, PNG and WebP we write (noai.md section 6).

IPTC Photo Metadata 2023.1 "Data Mining" (https://iptc.org/std/photometadata/specification/): the PLUS
property ``plus:DataMining`` holds a URI of the PLUS vocabulary; ``plus:OtherConstraints`` says it in words.
``dc:rights``/``dc:creator`` name the artist, ``xmpRights:Marked`` says the work is rights-managed and
``xmpRights:WebStatement`` points to the instance's AI policy page. The packet is the shape noai.md verified
with Pillow's ``getxmp()`` and exiv2 (attribute form for DataMining, element text would read the same).

Every caller-provided string is XML-escaped and stripped of characters XML 1.0 forbids: an artist called
``<script>&"`` must produce a well-formed packet that says exactly that, not markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

PLUS_VOCABULARY = "http://ns.useplus.org/ldf/vocab/"
# The values IPTC defines (PLUS LDF vocabulary, "Data Mining" code list); we only ever write one of these.
DATA_MINING_VALUES = frozenset({
    "DMI-UNSPECIFIED", "DMI-ALLOWED", "DMI-PROHIBITED-AIMLTRAINING", "DMI-PROHIBITED-GENAIMLTRAINING",
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", "DMI-PROHIBITED", "DMI-PROHIBITED-SEECONSTRAINT",
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR", "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR",
})
DEFAULT_DATA_MINING = "DMI-PROHIBITED-AIMLTRAINING"
DEFAULT_CONSTRAINTS = "No AI/ML training. TDM rights reserved (EU 2019/790 Art. 4(3))."

# Characters XML 1.0 does not allow (section 2.2 Char), plus the Unicode non-characters.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MAX_TEXT = 1000  # an artist name or notice longer than this is cut, so the packet fits one JPEG APP1


@dataclass(frozen=True)
class RightsNotice:
    """Who made the work and what they reserve; the input of both the XMP packet and the EXIF allow-list.

    ``rights`` is the copyright line (``dc:rights``, EXIF Copyright); ``policy_url`` the instance's AI
    policy page (an http(s) URL the app builds, never client input)."""

    artist_name: str
    policy_url: str
    rights: str
    data_mining: str = DEFAULT_DATA_MINING
    other_constraints: str = DEFAULT_CONSTRAINTS

    def __post_init__(self) -> None:
        if self.data_mining not in DATA_MINING_VALUES:
            raise ValueError(f"unknown PLUS data-mining value {self.data_mining!r}")
        parts = urlsplit(self.policy_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or clean_text(self.policy_url) != \
                self.policy_url or any(c.isspace() for c in self.policy_url):
            raise ValueError("policy_url must be an absolute http(s) URL")

    @classmethod
    def for_artist(cls, artist_name: str, policy_url: str, year: int, *,
                   data_mining: str = DEFAULT_DATA_MINING) -> RightsNotice:
        """The default notice: "© YEAR NAME. All rights reserved." (the form noai.md section 6 shows)."""
        name = clean_text(artist_name)
        return cls(name, policy_url, f"\u00a9 {year} {name}. All rights reserved.", data_mining)

    @property
    def data_mining_uri(self) -> str:
        return PLUS_VOCABULARY + self.data_mining


def clean_text(text: str) -> str:
    """``text`` without the characters XML cannot hold, trimmed and cut to a sane length."""
    return _NOT_XML.sub("", text).strip()[:_MAX_TEXT]


def _alt(text: str) -> str:
    return (f'<rdf:Alt><rdf:li xml:lang="x-default">{escape(clean_text(text))}</rdf:li></rdf:Alt>')


def build_xmp(notice: RightsNotice) -> bytes:
    """The XMP packet (UTF-8) for ``notice``."""
    creator = escape(clean_text(notice.artist_name))
    body = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        ' <rdf:Description rdf:about=""'
        ' xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"'
        f" plus:DataMining={quoteattr(notice.data_mining_uri)}"
        f" xmpRights:WebStatement={quoteattr(notice.policy_url)}>\n"
        f"  <plus:OtherConstraints>{_alt(notice.other_constraints)}</plus:OtherConstraints>\n"
        f"  <xmpRights:UsageTerms>{_alt(notice.other_constraints + ' ' + notice.policy_url)}"
        "</xmpRights:UsageTerms>\n"
        f"  <dc:rights>{_alt(notice.rights)}</dc:rights>\n"
        f"  <dc:creator><rdf:Seq><rdf:li>{creator}</rdf:li></rdf:Seq></dc:creator>\n"
        "  <xmpRights:Marked>True</xmpRights:Marked>\n"
        " </rdf:Description>\n"
        "</rdf:RDF></x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return body.encode("utf-8")
