"""What the build cache remembers of each cluster and file of the last build, so that a
build after a change renders only the clusters whose fingerprint changed (meshgen.reuse)
and keeps the files of the others as they are on disk.

Kept beside the entry (`<entry>.detail`), not in it: the no-change path
(build.up_to_date) never reads it. The entry holds its sha256, so a detail file that does
not belong to the entry is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .cache import FORMAT, store_bytes
from .outtree import Stat

Kind = tuple[str, str]  # (API group, kind)


@dataclass(frozen=True)
class ClusterRecord:
    fingerprint: str | None
    files: tuple[str, ...]  # relative to --out
    namespaced: tuple[Kind, ...]  # the (group, kind) of its objects, for the delivery bundles
    cluster_scoped: tuple[Kind, ...]


class FileRecord(NamedTuple):  # a tuple: tens of thousands are made per build
    stat: Stat  # right after the write, once its bytes were checked
    digest: str


@dataclass
class Detail:
    clusters: dict[str, ClusterRecord] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def detail_path(entry: Path) -> Path:
    return entry.with_name(entry.stem + ".detail")


_MAGIC = b"meshgen build cache detail\n"


def store_detail(path: Path, detail: Detail) -> str | None:
    """Write detail; its sha256 (for the entry), or None when it could not be written.
    One JSON line for the clusters, then one line per file (`path NUL cluster NUL inode
    size mtime ctime mode digest`): tens of thousands of files, read and written in a
    fraction of what JSON objects cost. Generated paths hold no control character
    (outtree.safe_relative), so NUL and newline cannot occur in them."""
    owner = {rel: name for name, record in detail.clusters.items() for rel in record.files}
    head = {"format": FORMAT,
            "clusters": {name: [r.fingerprint, [list(k) for k in r.namespaced],
                                [list(k) for k in r.cluster_scoped]]
                         for name, r in sorted(detail.clusters.items())}}
    lines = [f"{rel}\0{owner.get(rel, '')}\0{r.stat[0]} {r.stat[1]} {r.stat[2]} {r.stat[3]} "
             f"{r.stat[4]} {r.digest}\n" for rel, r in sorted(detail.files.items())]
    if len(owner) != sum(len(r.files) for r in detail.clusters.values()) or \
            not owner.keys() <= detail.files.keys():
        return None  # a file of two clusters, or one without a record: not worth keeping
    payload = _MAGIC + json.dumps(head, separators=(",", ":")).encode() + b"\n" + \
        "".join(lines).encode("utf-8", "surrogateescape")
    return hashlib.sha256(payload).hexdigest() if store_bytes(path, payload) else None


def load_detail(path: Path, expected: str) -> Detail | None:
    """The detail at path if its sha256 is expected; None when missing or not it."""
    if not expected:
        return None
    try:
        payload = path.read_bytes()
        if hashlib.sha256(payload).hexdigest() != expected or not payload.startswith(_MAGIC):
            return None
        head_line, _, body = payload[len(_MAGIC):].partition(b"\n")
        head = json.loads(head_line)
        if head["format"] != FORMAT:
            return None
        files: dict[str, FileRecord] = {}
        owned: dict[str, list[str]] = {str(name): [] for name in head["clusters"]}
        for line in body.decode("utf-8", "surrogateescape").split("\n")[:-1]:
            rel, cluster, numbers = line.split("\0")
            ino, size, mtime, ctime, mode, digest = numbers.split(" ")
            files[rel] = FileRecord((int(ino), int(size), int(mtime), int(ctime), int(mode)),
                                    digest)
            if cluster:
                owned[cluster].append(rel)
        return Detail(
            clusters={str(name): ClusterRecord(
                None if raw[0] is None else str(raw[0]), tuple(owned[str(name)]),
                _kinds(raw[1]), _kinds(raw[2])) for name, raw in head["clusters"].items()},
            files=files)
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _kinds(raw: Any) -> tuple[Kind, ...]:
    return tuple((str(group), str(kind)) for group, kind in raw)


def verified_files(out: Path, fresh: Mapping[str, bytes], reused: Iterable[str],
                   stats: Mapping[str, Stat],
                   previous: Detail | None) -> dict[str, FileRecord] | None:
    """The record of every generated file once it is proven to hold its bytes now (stats
    were taken before): a file whose stat record is the one the previous detail holds
    still has the bytes checked then; any other is read (a reused file hard-linked during
    the swap has a new ctime). None when one does not hold what it should: then no entry
    is stored and the next build is a full one."""
    old = previous.files if previous is not None else {}
    records: dict[str, FileRecord] = {}
    try:
        root_fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        for rel, data in fresh.items():
            if (record := _checked(root_fd, rel, stats, old, content_digest(data))) is None:
                return None
            records[rel] = record
        for rel in reused:
            if rel not in old or \
                    (record := _checked(root_fd, rel, stats, old, old[rel].digest)) is None:
                return None
            records[rel] = record
    finally:
        os.close(root_fd)
    return records


def _checked(root_fd: int, rel: str, stats: Mapping[str, Stat],
             old: Mapping[str, FileRecord], digest: str) -> FileRecord | None:
    info = stats.get(rel)
    if info is None:
        return None
    before = old.get(rel)
    if before is not None and before.stat == info and before.digest == digest:
        return FileRecord(info, digest)
    data = _read(root_fd, rel, info[1])
    return FileRecord(info, digest) if data is not None and content_digest(data) == digest \
        else None


def _read(root_fd: int, rel: str, size: int) -> bytes | None:
    """The bytes of the regular file rel under root_fd (no symlink followed, nothing waited
    on), plus one more byte when it has grown since size was taken; None if it cannot be."""
    try:
        fd = os.open(rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=root_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
