"""The last guard before writing: no private key may reach the output tree, whether a
template override, an smcpSpec value or a sealed-secret file carried it in."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from pathlib import Path

from .errors import Location, Problem

_PEM_KEY = re.compile(rb"-----BEGIN ([A-Z0-9 ]* )?PRIVATE KEY-----")
_B64_TOKEN = re.compile(rb"[A-Za-z0-9+/]{40,}={0,2}")
# "-----BEGIN" in base64, at each of the three offsets it can have within a value
_B64_BEGIN = re.compile(rb"LS0tLS1CRUdJT|0tLS0tQkVHSU|tLS0tLUJFR0lO")


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
    if b"PRIVATE KEY-----" in data and (match := _PEM_KEY.search(data)):
        return match.start(), "PEM"
    if not _B64_BEGIN.search(data):
        return -1, ""
    for token in _B64_TOKEN.finditer(data):
        if _B64_BEGIN.search(token.group(0)) and _PEM_KEY.search(_decoded(token.group(0))):
            return token.start(), "base64-encoded PEM"
    return -1, ""


def _decoded(token: bytes) -> bytes:
    try:
        return base64.b64decode(token + b"=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return b""
