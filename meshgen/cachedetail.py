"""What the build cache remembers of each cluster and file of the last build, so that a
build after a change renders only the clusters whose fingerprint changed (meshgen.reuse)
and keeps the files of the others as they are on disk.

Kept beside the entry (`<entry>.detail`), not in it: the no-change path
(build.up_to_date) never reads it. The entry holds its sha256, so a detail file that does
not belong to the entry is never used.

The files are recorded in chunks, one per top-level entry of the tree (a cluster's
directory, the delivery directory): after a one-mesh change the chunks of the
directories the build neither rendered nor wrote into are stored again as they were
read, and only a dozen of 201 are made anew.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .cache import FORMAT, TreeRecords, store_bytes, top_of
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


@dataclass(frozen=True)
class Chunk:
    """The records of the files under one top-level entry, as stored: one line per file
    (`path NUL cluster NUL inode size mtime ctime mode digest`), in path order, and the
    clusters that own them ("" for files of no cluster: the delivery bundles). Generated
    paths hold no control character (outtree.safe_relative), so NUL and newline cannot
    occur in them."""

    data: bytes
    owners: tuple[str, ...]

    def records(self) -> dict[str, tuple[FileRecord, str]]:
        """Each file's record and owner."""
        found: dict[str, tuple[FileRecord, str]] = {}
        for line in self.data.decode("utf-8", "surrogateescape").split("\n")[:-1]:
            rel, cluster, numbers = line.split("\0")
            ino, size, mtime, ctime, mode, digest = numbers.split(" ")
            found[rel] = (FileRecord((int(ino), int(size), int(mtime), int(ctime),
                                      int(mode)), digest), cluster)
        return found


def chunk_of(files: Mapping[str, FileRecord], owner: Mapping[str, str]) -> Chunk:
    lines = [f"{rel}\0{owner.get(rel, '')}\0{r.stat[0]} {r.stat[1]} {r.stat[2]} "
             f"{r.stat[3]} {r.stat[4]} {r.digest}\n" for rel, r in sorted(files.items())]
    return Chunk("".join(lines).encode("utf-8", "surrogateescape"),
                 tuple(sorted({owner.get(rel, "") for rel in files})))


@dataclass
class Detail:
    clusters: dict[str, ClusterRecord] = field(default_factory=dict)
    chunks: dict[str, Chunk] = field(default_factory=dict)  # by top-level entry


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def detail_path(entry: Path) -> Path:
    return entry.with_name(entry.stem + ".detail")


_MAGIC = b"meshgen build cache detail\n"


def store_detail(path: Path, detail: Detail) -> str | None:
    """Write detail (one JSON line for the clusters and the chunks' sizes, then the
    chunks); its sha256 (for the entry), or None when it could not be written."""
    tops = sorted(detail.chunks)
    head = {"format": FORMAT,
            "clusters": {name: [r.fingerprint, [list(k) for k in r.namespaced],
                                [list(k) for k in r.cluster_scoped]]
                         for name, r in sorted(detail.clusters.items())},
            "chunks": [[top, len(detail.chunks[top].data), list(detail.chunks[top].owners)]
                       for top in tops]}
    payload = b"".join([_MAGIC, json.dumps(head, separators=(",", ":")).encode(), b"\n",
                        *(detail.chunks[top].data for top in tops)])
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
        owned: dict[str, list[str]] = {str(name): [] for name in head["clusters"]}
        chunks: dict[str, Chunk] = {}
        start = 0
        for top, size, owners in head["chunks"]:
            chunk = Chunk(body[start:start + int(size)], tuple(str(o) for o in owners))
            start += int(size)
            for rel, (_, cluster) in chunk.records().items():
                if top_of(rel) != top or cluster not in chunk.owners:
                    return None
                if cluster:
                    owned[cluster].append(rel)
            chunks[str(top)] = chunk
        if start != len(body):
            return None
        return Detail(
            clusters={str(name): ClusterRecord(
                None if raw[0] is None else str(raw[0]), tuple(sorted(owned[str(name)])),
                _kinds(raw[1]), _kinds(raw[2])) for name, raw in head["clusters"].items()},
            chunks=chunks)
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _kinds(raw: Any) -> tuple[Kind, ...]:
    return tuple((str(group), str(kind)) for group, kind in raw)


def settled_tops(previous: Detail, fresh: Iterable[str], kept: Iterable[str]) -> set[str]:
    """The top-level directories this build leaves as the last build left them: every
    file the last build wrote there belongs to a cluster kept now (its chunk names no
    other owner, not even "" for the delivery bundles, which are always rendered) and
    none of the fresh files is there. Under a tree proven to be the last build's output
    they hold exactly their chunk's files, listed in their inventory."""
    fresh_tops = {top_of(rel) for rel in fresh}
    kept = set(kept)
    return {top for top, chunk in previous.chunks.items()
            if top not in fresh_tops and "" not in chunk.owners and set(chunk.owners) <= kept
            and chunk.data.startswith(f"{top}/".encode("utf-8", "surrogateescape"))}


def verified_chunks(out: Path, fresh: Mapping[str, bytes], reused: Iterable[str],
                    clusters: Mapping[str, ClusterRecord], kept: Iterable[str],
                    tree: TreeRecords, previous: Detail | None, settled: Collection[str],
                    rewalked: Collection[str] | None) -> dict[str, Chunk] | None:
    """The chunks of this build's files, once every file is proven to hold its bytes now
    (tree: the records taken after the write). A file whose record
    is the one the previous detail holds still has the bytes checked then; any other is
    read (a reused file hard-linked during the swap has a new ctime).

    rewalked: the top-level entries whose records were taken again after the write (None:
    all). A settled one (settled_tops) that was not holds what it held at the last build:
    its chunk is the one read.
    None when a file does not hold what it should: then no entry is stored and the next
    build is a full one."""
    kept = set(kept)
    by_top: dict[str, list[str]] = {}
    for rel in reused:
        by_top.setdefault(top_of(rel), []).append(rel)
    fresh_tops: dict[str, list[str]] = {}
    for rel in fresh:
        fresh_tops.setdefault(top_of(rel), []).append(rel)
    chunks: dict[str, Chunk] = {}
    redo: list[str] = []
    for top in sorted(by_top.keys() | fresh_tops.keys()):
        if previous is not None and rewalked is not None and top in settled and \
                top not in rewalked:
            chunks[top] = previous.chunks[top]
        else:
            redo.append(top)
    if not redo:
        return chunks
    owner = {rel: name for name, record in clusters.items() if name not in kept
             for rel in record.files}
    try:
        root_fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        for top in redo:
            chunk = previous.chunks.get(top) if previous is not None else None
            old = chunk.records() if chunk is not None else {}
            stats = tree.group(top)
            records: dict[str, FileRecord] = {}
            owners: dict[str, str] = {}
            for rel in fresh_tops.get(top, []):
                record = _checked(root_fd, rel, stats, old, content_digest(fresh[rel]))
                if record is None:
                    return None
                records[rel] = record
                owners[rel] = owner.get(rel, "")
            for rel in by_top.get(top, []):
                before = old.get(rel)
                if before is None or \
                        (record := _checked(root_fd, rel, stats, old, before[0].digest)) is None:
                    return None
                records[rel] = record
                owners[rel] = before[1]
            chunks[top] = chunk_of(records, owners)
    finally:
        os.close(root_fd)
    return chunks


def _checked(root_fd: int, rel: str, stats: Mapping[str, Stat],
             old: Mapping[str, tuple[FileRecord, str]], digest: str) -> FileRecord | None:
    info = stats.get(rel)
    if info is None:
        return None
    before = old.get(rel)
    if before is not None and before[0].stat == info and before[0].digest == digest:
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
