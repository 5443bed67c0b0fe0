"""Digest (RFC 3230) and Content-Digest (RFC 9530) helpers, checked against hashlib directly."""

from __future__ import annotations

import base64
import hashlib

import pytest

from activitypub.digests import (
    DigestError, check_content_digest, check_digest_header, content_digest_header, sha256_digest_header,
)

BODY = b'{"hello": "world"}'
SHA256 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
SHA512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()


def test_headers_we_send() -> None:
    assert sha256_digest_header(BODY) == f"SHA-256={SHA256}"
    assert content_digest_header(BODY) == f"sha-256=:{SHA256}:"
    assert content_digest_header(BODY, "sha-512") == f"sha-512=:{SHA512}:"
    with pytest.raises(DigestError):
        content_digest_header(BODY, "md5")


@pytest.mark.parametrize("value", [f"SHA-256={SHA256}", f"sha-256={SHA256}", f"Sha-256 = {SHA256} ",
                                   f"SHA-512={SHA512},SHA-256={SHA256}", f"MD5=xyz, SHA-256={SHA256}"])
def test_accepted_digest_headers(value: str) -> None:
    check_digest_header(value, BODY)


@pytest.mark.parametrize("value", [f"SHA-512={SHA512}", "SHA-256=", "SHA-256=!!!!", f"SHA256={SHA256}",
                                   f"SHA-256={SHA256[:-2]}", f"SHA-256={SHA256},SHA-256={SHA256}", "",
                                   f"SHA-256={base64.b64encode(hashlib.sha256(b'x').digest()).decode()}",
                                   "SHA-256=" + "A" * 2000, f"SHA-256={SHA256}\u00e9"])
def test_refused_digest_headers(value: str) -> None:
    with pytest.raises(DigestError):
        check_digest_header(value, BODY)


def test_content_digest_members() -> None:
    sha256, sha512 = hashlib.sha256(BODY).digest(), hashlib.sha512(BODY).digest()
    check_content_digest({"sha-256": sha256}, BODY)
    check_content_digest({"sha-512": sha512, "md5": b"ignored"}, BODY)
    for members in ({}, {"md5": b"x"}, {"sha-256": sha512}, {"sha-256": sha256, "sha-512": b"\0" * 64},
                    {"sha-256": SHA256}):
        with pytest.raises(DigestError):
            check_content_digest(members, BODY)
