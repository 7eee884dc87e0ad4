"""The build cache: what the last build of a fleet into an output directory read, warned
and left on disk, so that a build whose inputs and output tree are unchanged skips
loading, planning and rendering.

One JSON file per (fleet, --out) pair under $MESHGEN_CACHE_DIR, else
$XDG_CACHE_HOME/meshgen/builds (~/.cache/meshgen/builds): outside the repository, so it
is never committed, never git-ignored by hand and never planted by a pull request. It is
only ever a shortcut: any doubt (no file, another format or meshgen, garbage, a changed
input, another time window, a tree whose stats differ) means a full build, which then
rewrites it. MESHGEN_NO_CACHE=1 or --no-cache turn it off.
"""

from __future__ import annotations

import array
import contextlib
import datetime
import hashlib
import importlib.metadata
import itertools
import json
import os
import pickle
import stat
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .defaults import bundled_templates
from .errors import Location, Problem, Severity
from .outtree import Stat, stat_record
from .readlog import Read, Unreadable, content_digest, existence, read_capped

FORMAT = 5
NO_CACHE_ENV = "MESHGEN_NO_CACHE"
DIR_ENV = "MESHGEN_CACHE_DIR"
_LIBRARIES = ("jinja2", "MarkupSafe", "PyYAML", "ruamel.yaml", "pydantic", "cryptography")
_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"


def enabled(no_cache: bool = False) -> bool:
    return not no_cache and os.environ.get(NO_CACHE_ENV, "") in ("", "0")


def cache_dir() -> Path:
    if configured := os.environ.get(DIR_ENV):
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "meshgen" / "builds"


def entry_path(fleet: Path, out: Path) -> Path:
    """The cache file of one fleet built into one output directory."""
    pair = f"{os.path.realpath(fleet)}\0{os.path.abspath(out)}"
    return cache_dir() / f"{hashlib.sha256(pair.encode()).hexdigest()[:32]}.json"


@dataclass
class Entry:
    key: str
    valid_from: float  # POSIX seconds: the build's certificate checks hold in this window
    valid_until: float
    reads: list[Read]
    warnings: list[dict[str, Any]]
    files: int
    clusters: int
    tree: str  # TreeRecords.digest() of the tree right after the build's write
    static: str = ""  # static_key() of the build: its clusters are reused only under it
    detail: str = ""  # sha256 of the entry's Detail file ("": none)

    def problems(self) -> list[Problem]:
        return [Problem(w["code"], w["message"], Location(w["file"], w["line"], w["column"]),
                        w["hint"], Severity(w["severity"])) for w in self.warnings]


def load_entry(path: Path) -> Entry | None:
    """The entry at path, or None when it is missing, unreadable or not this format."""
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") != FORMAT:
            return None
        return Entry(key=str(data["key"]), valid_from=float(data["valid_from"]),
                     valid_until=float(data["valid_until"]),
                     reads=[Read(str(r[0]), int(r[1]), str(r[2])) for r in data["reads"]],
                     warnings=[_warning(w) for w in data["warnings"]],
                     files=int(data["files"]), clusters=int(data["clusters"]),
                     tree=str(data["tree"]), static=str(data["static"]),
                     detail=str(data["detail"]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        return None


def _warning(raw: Any) -> dict[str, Any]:
    return {"code": str(raw["code"]), "message": str(raw["message"]),
            "file": str(raw["file"]), "line": int(raw["line"]),
            "column": int(raw["column"]), "hint": str(raw["hint"]),
            "severity": Severity(raw["severity"]).value}


def store_entry(path: Path, entry: Entry) -> None:
    """Write the entry atomically; a cache that cannot be written is no error."""
    data = asdict(entry)
    data["reads"] = [[r.path, r.limit, r.digest] for r in entry.reads]
    data["format"] = FORMAT
    store_bytes(path, json.dumps(data, sort_keys=True, separators=(",", ":")).encode())


def store_bytes(path: Path, payload: bytes) -> bool:
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(temp, "wb") as handle:
            handle.write(payload)
        os.replace(temp, path)
        return True
    except OSError:
        temp.unlink(missing_ok=True)
        return False


def forget(path: Path) -> None:
    """Drop the entry (before a write it would no longer describe)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def warnings_of(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    return [{"code": p.code, "message": p.message, "file": p.location.file,
             "line": p.location.line, "column": p.location.column, "hint": p.hint,
             "severity": p.severity.value} for p in problems]


# --- the key --------------------------------------------------------------------------


def static_key(fleet: Path, out: Path, templates: Path | None,
               options: dict[str, Any]) -> str:
    """Everything but the files the fleet names: meshgen itself (version, the digest of
    its source, so an editable install counts its edits), the libraries that shape the
    output, the templates (bundled and --templates, every file), where the fleet and the
    output are (headers name the fleet relative to --out; delivery.path is checked
    against the repository holding --out) and the options."""
    from .build import repository_root

    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    facts = {
        "format": FORMAT, "meshgen": __version__, "python": sys.version,
        "libraries": {name: _version(name) for name in _LIBRARIES},
        # warnings name the fleet as it was given: a cached run replays them as stored
        "fleet": os.path.realpath(fleet), "fleet_as_given": str(fleet),
        "out": os.path.abspath(out),
        "out_real": os.path.realpath(out),
        "out_parent": os.path.realpath(os.path.dirname(os.path.abspath(out))),
        "repository": str(repository_root(Path(os.path.realpath(out)))),
        "templates": None if templates is None else os.path.realpath(templates),
        "options": options,
    }
    digest.update(json.dumps(facts, sort_keys=True).encode())
    for label, directory in (("source", package), ("bundled", bundled_templates()),
                             ("templates", templates)):
        if directory is not None:
            _digest_directory(digest, label, Path(directory))
    return digest.hexdigest()


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _digest_directory(digest: Any, label: str, directory: Path) -> None:
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            path = Path(root, name)
            if path.suffix == ".pyc":
                continue
            rel = path.relative_to(directory).as_posix()
            try:
                data = path.read_bytes()
            except OSError:
                data = b"\0unreadable"
            digest.update(f"\0{label}\0{rel}\0{len(data)}\0".encode())
            digest.update(data)


def full_key(static: str, reads: Iterable[Read]) -> str:
    digest = hashlib.sha256(static.encode())
    for read in sorted(set(reads), key=lambda r: (r.path, r.limit, r.digest)):
        digest.update(f"\0{read.path}\0{read.limit}\0{read.digest}".encode())
    return digest.hexdigest()


def reread(reads: Iterable[Read]) -> list[Read]:
    """The same reads done again now: what the fleet's files hold today."""
    again: list[Read] = []
    for read in reads:
        if read.limit < 0:
            again.append(Read(read.path, -1, existence(read.path, os.path.exists(read.path))))
            continue
        try:
            data = read_capped(Path(read.path), read.limit)
        except Unreadable:
            again.append(Read(read.path, read.limit, "unreadable"))
            continue
        again.append(Read(read.path, read.limit, content_digest(read.path, data)))
    return again


# --- time ------------------------------------------------------------------------------


def window(reads: Iterable[Read], now: datetime.datetime) -> tuple[float, float]:
    """The time span around now in which every certificate the build read gives the same
    verdicts (not yet valid, expiring within EXPIRY_WARNING, expired): its edges are the
    nearest of those instants before and after now. Only a build that compiled calls
    this: the cached path does not load cryptography."""
    from cryptography import x509

    from .certs import EXPIRY_WARNING

    edges: list[float] = []
    for read in reads:
        if read.limit < 0:
            continue
        try:
            data = read_capped(Path(read.path), read.limit)
        except Unreadable:
            continue
        if _PEM_BEGIN not in data:
            continue
        try:
            certificates = x509.load_pem_x509_certificates(data)
        except ValueError:
            continue
        for cert in certificates:
            expiry = cert.not_valid_after_utc
            edges += [cert.not_valid_before_utc.timestamp(),
                      (expiry - EXPIRY_WARNING).timestamp(), expiry.timestamp()]
    moment = now.timestamp()
    before = max((e for e in edges if e <= moment), default=float("-inf"))
    after = min((e for e in edges if e > moment), default=float("inf"))
    return before, after


# --- the tree ----------------------------------------------------------------------------

# a regular file: (inode, size, mtime_ns, ctime_ns, mode); a directory ("rel/"): its mode
Records = dict[str, Stat]


def top_of(rel: str) -> str:
    """The top-level entry of the tree that holds rel ("a" for "a/b/c", "a/" and "a")."""
    return rel.partition("/")[0]


class TreeRecords:
    """The records of a tree, by top-level entry (a directory with everything under it, or
    a file at the top), with each entry's digest: a change inside one entry is recorded
    again by walking that entry alone. Pickled (to the build from the child that walked
    the tree), each entry's records travel as one pickle of their own, read back only
    when asked for: a build after a one-mesh change needs a dozen of 201."""

    def __init__(self, groups: dict[str, Records | bytes], digests: dict[str, str]) -> None:
        self._groups = groups
        self.digests = digests

    def group(self, top: str) -> Records:
        found = self._groups.get(top)
        if found is None:
            return {}
        if isinstance(found, bytes):
            found = self._groups[top] = pickle.loads(found)
        return found

    def tops(self) -> list[str]:
        return sorted(self._groups)

    def stat(self, rel: str) -> Stat | None:
        return self.group(top_of(rel)).get(rel)

    def digest(self) -> str:
        return tree_digest(self.digests)

    def replaced(self, top: str, records: Records) -> TreeRecords | None:
        """This tree with top's records replaced (none: top is gone); None when they have
        no digest (see digest_of)."""
        groups, digests = dict(self._groups), dict(self.digests)
        groups.pop(top, None)
        digests.pop(top, None)
        if records:
            if (digest := digest_of(records)) is None:
                return None
            groups[top], digests[top] = records, digest
        return TreeRecords(groups, digests)

    def __getstate__(self) -> dict[str, Any]:
        return {"groups": {top: group if isinstance(group, bytes) else
                           pickle.dumps(group, protocol=pickle.HIGHEST_PROTOCOL)
                           for top, group in self._groups.items()},
                "digests": self.digests}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._groups = state["groups"]
        self.digests = state["digests"]


def tree_digest(digests: dict[str, str]) -> str:
    """The digest of a tree from those of its top-level entries."""
    return hashlib.sha256("".join(f"{top}\0{digest}\0" for top, digest in
                                  sorted(digests.items())).encode("utf-8", "surrogateescape")
                          ).hexdigest()


def walk_tree(out: Path) -> TreeRecords | None:
    """The records of every regular file and directory under out, by top-level entry; None
    for an absent or unreadable tree, one that holds anything else (a symlink, FIFO,
    socket or device: the full build refuses it and says where) or one whose records have
    no digest."""
    groups: dict[str, Records | bytes] = {}
    digests: dict[str, str] = {}
    try:
        with os.scandir(out) as listing:
            entries = list(listing)
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                records = walk(out, entry.name)
            elif stat.S_ISREG(info.st_mode):
                records = {entry.name: stat_record(info)}
            else:
                return None
            if records is None or (digest := digest_of(records)) is None:
                return None
            groups[entry.name], digests[entry.name] = records, digest
    except OSError:
        return None
    return TreeRecords(groups, digests)


def rewalked(out: Path, before: TreeRecords | None, staged: str | None
             ) -> TreeRecords | None:
    """The records of the tree under out after a write that exchanged the directory
    `staged` ("": the whole tree; None: nothing was written), when before holds its
    records taken earlier under the same lock: only that directory is walked again. A
    file outside it that changed since then keeps its earlier record, which no longer
    matches, so the next build does not take the tree for up to date."""
    if before is None or staged == "":
        return walk_tree(out)
    if staged is None:
        return before
    inside = walk(out, staged)
    if inside is None:
        return None
    top = top_of(staged)
    prefix = staged + "/"
    records = {rel: info for rel, info in before.group(top).items()
               if not rel.startswith(prefix)}
    records.update(inside)
    return before.replaced(top, records)


def walk(out: Path, rel_start: str) -> Records | None:
    """The records of every regular file and directory under the directory out/rel_start
    (its own record included), or None for anything else found there or an unreadable
    or vanished tree."""
    records: Records = {}
    try:
        info = os.lstat(os.path.join(out, rel_start))
        if not stat.S_ISDIR(info.st_mode):
            return None
        records[rel_start + "/"] = (0, 0, 0, 0, info.st_mode)
        pending = [rel_start]
        while pending:
            rel_dir = pending.pop()
            prefix = f"{rel_dir}/"
            with os.scandir(os.path.join(out, rel_dir)) as listing:
                for entry in listing:
                    info = entry.stat(follow_symlinks=False)
                    mode = info.st_mode
                    if stat.S_ISDIR(mode):
                        pending.append(prefix + entry.name)
                        records[f"{prefix}{entry.name}/"] = (0, 0, 0, 0, mode)
                    elif stat.S_ISREG(mode):
                        records[prefix + entry.name] = stat_record(info)
                    else:
                        return None
    except OSError:
        return None
    return records


def digest_of(records: Records) -> str | None:
    """The digest of records, in path order (the same whatever walked them): of (path,
    inode, size, mtime, ctime, mode) of every regular file and directory, walked
    without following anything. An edit changes a file's ctime even when its size and
    mtime are put back, and ctime cannot be set from user space. None on a file system
    whose timestamps are whole seconds (no ctime with a fraction): there an edit in the
    second of the write would not show."""
    paths = sorted(records)
    values = [records[rel] for rel in paths]
    # directories are recorded with inode 0; records of files that all have whole-second
    # ctimes come from a file system whose timestamps cannot show an edit: no digest
    if any(v[0] for v in values) and not any(v[3] % 1_000_000_000 for v in values if v[0]):
        return None
    digest = hashlib.sha256("\0".join(paths).encode("utf-8", "surrogateescape"))
    try:
        digest.update(array.array("q", itertools.chain.from_iterable(values)).tobytes())
    except OverflowError:  # an inode number past 2**63 (some file systems): spelled out
        digest.update(repr(values).encode())
    return digest.hexdigest()
