"""Where `certs import` and `ca init` may write the public certificates fleet.yaml names:
inside the fleet's repository (or its directory outside one), never over the fleet file,
never over a file that is anything but PEM certificates."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography import x509

from .build import repository_root
from .certs import MAX_PEM_BYTES, pem_kinds
from .errors import Location, Problem
from .readlog import Unreadable, read_capped

HINT = ("point the setting at a new file inside the fleet's repository (such as "
        "certs/<mesh>.pem); meshgen replaces certificates only")


def boundary(fleet: Path) -> Path:
    """The directory certificate files must stay in: the fleet's repository, else the
    fleet file's directory."""
    base = fleet.resolve().parent
    return repository_root(base) or base


def target_problem(fleet: Path, rel: str, where: Location) -> Problem | None:
    """Why meshgen may not write a certificate to rel (relative to fleet's directory), or
    None when it may."""
    target = fleet.resolve().parent / rel
    resolved = target.resolve()
    inside = boundary(fleet)
    if not resolved.is_relative_to(inside):
        return Problem("MG125", f'"{rel}" leads outside {inside}, the directory the fleet\'s '
                       "certificates must stay in", where, HINT)
    if resolved == fleet.resolve():
        return Problem("MG125", f'"{rel}" is the fleet file itself', where, HINT)
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Problem("MG125", f'cannot inspect "{rel}": {exc.strerror}', where, HINT)
    if stat.S_ISLNK(mode):
        return Problem("MG125", f'"{rel}" is a symbolic link (to {os.readlink(target)}); '
                       "meshgen does not write through links", where, HINT)
    try:
        data = read_capped(target, MAX_PEM_BYTES)
    except Unreadable as exc:
        return Problem("MG125", f'"{rel}" cannot be replaced: {exc}', where, HINT)
    if not _only_certificates(data):
        return Problem("MG125", f'"{rel}" exists and holds something other than PEM '
                       "certificates; meshgen does not overwrite it", where, HINT)
    return None


def _only_certificates(data: bytes) -> bool:
    if len(data) > MAX_PEM_BYTES or pem_kinds(data) != {"CERTIFICATE"}:
        return False
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        return False
    return True
