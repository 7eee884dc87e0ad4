"""The last guard before writing: no private key may reach the output tree, whether a
template override, an smcpSpec value or a sealed-secret file carried it in: as PEM (also
folded across lines by the emitter), OpenPGP armour, or base64 of PEM or of DER."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_der_private_key

from .errors import Location, Problem

# a PEM or OpenPGP armour header of a private key; the emitter may fold a long value at
# its spaces (a line break and indentation, in double quotes also a backslash)
_FOLD = rb"[\s\\]+"
_PEM_KEY = re.compile(rb"-----BEGIN(?:" + _FOLD + rb"[A-Z0-9]+){0,4}?" + _FOLD + rb"PRIVATE"
                      + _FOLD + rb"KEY(?:" + _FOLD + rb"BLOCK)?-----")
_B64_TOKEN = re.compile(rb"[A-Za-z0-9+/]{40,}={0,2}")
# "-----BEGIN" in base64, at each of the three offsets it can have within a value; three
# substring searches scan the ~40 MB of a 1000-mesh build ten times faster than one regex
# alternation (which has no literal prefix to search for)
_B64_BEGINS = (b"LS0tLS1CRUdJT", b"0tLS0tQkVHSU", b"tLS0tLUJFR0lO")
# the start of a DER private key in base64 (PKCS#8, SEC1 or PKCS#1): a SEQUENCE header of
# two, three or four bytes, then INTEGER 0 or 1 (the version); a literal first character,
# so the search is a fast scan
_B64_DER_KEY = re.compile(rb"M(?:[A-Za-z0-9+/]{2}CAQ[AE]|I[GH][A-Za-z0-9+/]AgE[AB]|"
                          rb"II[A-Za-z0-9+/]{3}IB[AB])")
_B64_CHAR = re.compile(rb"[A-Za-z0-9+/]")
_ESCAPE = re.compile(rb"\\[0abefnrtv]")
# base64 from a start on, across the line breaks of a wrapped block (or "\n" escapes)
_B64_RUN = re.compile(rb"(?:[A-Za-z0-9+/]+|[ \t]*\n[ \t]*|\\n)+={0,2}")
_B64_SEPARATORS = re.compile(rb"\s+|\\n")


def private_keys(files: Mapping[str, bytes], out: Path) -> list[Problem]:
    """A located MG121 for every file holding a private key (PEM, or PEM in base64)."""
    problems: list[Problem] = []
    for rel, data in files.items():
        offset, how = _first_key(data)
        if offset < 0:
            continue
        line = data.count(b"\n", 0, offset) + 1
        column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
        problems.append(Problem(
            "MG121", f"refusing to write {rel}: it would hold a private key ({how})",
            Location(str(out / rel), line, column),
            "meshgen never writes key material; remove it from the smcpSpec, --templates "
            "override or sealed-secret template that carried it in, and rotate the key "
            "if it was ever committed"))
    return problems


def _first_key(data: bytes) -> tuple[int, str]:
    # the substring tests are cheap and rule out almost every file before any regex runs
    if b"PRIVATE" in data and (match := _PEM_KEY.search(data)):
        return match.start(), "OpenPGP" if b"PGP" in match.group(0) else "PEM"
    if _has_b64_begin(data):
        for token in _B64_TOKEN.finditer(data):
            if _has_b64_begin(token.group(0)) and \
                    _PEM_KEY.search(_decoded(token.group(0))):
                return token.start(), "base64-encoded PEM"
    for start in _B64_DER_KEY.finditer(data):
        if not _starts_token(data, start.start()):
            continue
        run = _B64_RUN.match(data, start.start())
        if run and _is_der_key(_decoded(_B64_SEPARATORS.sub(b"", run.group(0)))):
            return start.start(), "base64-encoded DER"
    return -1, ""


def _has_b64_begin(data: bytes) -> bool:
    # "LS0t" ("---" in base64) is in all three, and in almost no file
    return b"LS0t" in data and any(begin in data for begin in _B64_BEGINS)


def _starts_token(data: bytes, at: int) -> bool:
    """Whether a base64 token starts at `at`: not inside a longer one, unless what precedes
    is a double-quoted escape such as "\\n"."""
    return at == 0 or not _B64_CHAR.match(data, at - 1) or \
        (at >= 2 and _ESCAPE.match(data, at - 2) is not None)


def _is_der_key(der: bytes) -> bool:
    """Whether der parses as an unencrypted private key (what cryptography can load)."""
    if len(der) < 2 or der[0] != 0x30:
        return False
    # the run may go on past the key (the next wrapped line of YAML): keep what the
    # outer SEQUENCE's length says
    size, at = der[1], 2
    if size & 0x80:
        count = size & 0x7F
        size, at = int.from_bytes(der[2:2 + count], "big"), 2 + count
    try:
        load_der_private_key(der[:at + size], password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _decoded(token: bytes) -> bytes:
    token = token.rstrip(b"=")
    try:
        return base64.b64decode(token + b"=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return b""
