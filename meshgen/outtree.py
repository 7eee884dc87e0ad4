"""Reading what lies under --out without trusting it: every entry is checked with lstat
before anything opens it, so a symlink cannot redirect a write and a FIFO cannot hang a
read, and the inventory says which files this fleet wrote."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .emit import HEADER_PREFIX
from .outerrors import EXIT_ENVIRONMENT, OutputError, OutputProblem

INVENTORY = ".meshgen-inventory"
LEGACY_JOURNAL = ".meshgen-journal"
RESERVED_PREFIX = ".meshgen-"
MAX_INVENTORY = 64 * 1024 * 1024
_MARKER = HEADER_PREFIX.encode()
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_INVENTORY_NOTE = (b"# The files this fleet wrote in this directory, one a line: meshgen "
                   b"overwrites and prunes only these.\n")


@dataclass
class Tree:
    """The regular files and directories under an output directory (relative paths)."""

    root: Path
    files: dict[str, os.stat_result] = field(default_factory=dict)
    dirs: dict[str, os.stat_result] = field(default_factory=dict)
    empty_dirs: set[str] = field(default_factory=set)


def safe_relative(rel: str) -> PurePosixPath:
    """A relative path that stays inside the output directory, or OutputError."""
    path = PurePosixPath(rel)
    escapes = path.as_posix() != rel or path.is_absolute() or "\\" in rel
    if escapes or not path.parts or any(p in ("", ".", "..") for p in path.parts) \
            or path.parts[0].startswith(RESERVED_PREFIX) or _CONTROL.search(rel):
        raise OutputError(f"refusing to write {rel!r}: it would leave the output directory "
                          "or take a name meshgen reserves")
    return path


def scan(root: Path) -> Tree:
    """Every regular file and directory under root; OutputError (MG095) naming every
    symlink and every FIFO, socket or device found, none of them opened."""
    tree = Tree(root)
    problems: list[OutputProblem] = []
    try:
        top = os.lstat(root)
    except FileNotFoundError:
        return tree
    except OSError as exc:
        raise _environment(root, "cannot read", exc) from None
    if not stat.S_ISDIR(top.st_mode):
        raise OutputError("the output path exists and is not a directory", where=str(root),
                          hint="give --out a directory")
    tree.dirs[""] = top
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        try:
            with os.scandir(os.path.join(root, rel_dir)) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            raise _environment(root / rel_dir, "cannot read", exc) from None
        if not entries and rel_dir:
            tree.empty_dirs.add(rel_dir)
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                tree.dirs[rel] = info
                pending.append(rel)
            elif stat.S_ISREG(info.st_mode):
                tree.files[rel] = info
            else:
                kind = "a symlink" if stat.S_ISLNK(info.st_mode) else \
                    "not a regular file (a FIFO, socket or device)"
                problems.append(OutputProblem(
                    "MG095", f"is {kind} inside the output directory; meshgen neither "
                    "follows nor opens such entries", str(root / rel),
                    "remove it or move it out of the output directory (--out itself may "
                    "be a symlink)"))
    if problems:
        raise OutputError(problems=problems)
    return tree


def read_regular(path: Path, limit: int) -> bytes:
    """At most limit + 1 bytes of a file that must be regular when it is opened: no
    symlink is followed and a FIFO that took its place is not waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OutputError("is not a regular file", code="MG095", where=str(path))
        # read(n) allocates n bytes up front: ask for what the file holds (+1 to see growth)
        return handle.read(min(limit, info.st_size) + 1)


def first_line(path: Path) -> bytes:
    try:
        data = read_regular(path, 4096)
    except OSError:
        return b""
    return data.split(b"\n", 1)[0] + b"\n" if b"\n" in data else b""


def header_line(files: dict[str, bytes]) -> bytes:
    """The header every file of a build starts with (b"" for a build without files)."""
    if not files:
        return b""
    data = files[min(files)]
    return data.split(b"\n", 1)[0] + b"\n" if data.startswith(_MARKER) else b""


def inventory_text(files: dict[str, bytes]) -> bytes:
    return header_line(files) + _INVENTORY_NOTE + b"".join(
        f"{rel}\n".encode() for rel in sorted(files))


def read_inventory(tree: Tree) -> tuple[bytes, set[str]] | None:
    """The header line and files an inventory lists (None when there is none)."""
    if INVENTORY not in tree.files:
        return None
    path = tree.root / INVENTORY
    try:
        data = read_regular(path, MAX_INVENTORY)
    except OSError as exc:
        raise _environment(path, "cannot read", exc) from None

    def broken(why: str) -> OutputError:
        return OutputError(f"is not a meshgen inventory: {why}", code="MG096",
                           where=str(path), hint="remove it; meshgen will then own only "
                           "the files whose header names this fleet")

    if len(data) > MAX_INVENTORY:
        raise broken(f"larger than {MAX_INVENTORY} bytes")
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise broken("not UTF-8") from None
    if len(lines) < 3 or not lines[0].startswith(HEADER_PREFIX) or lines[-1] != "":
        raise broken("no meshgen header")
    listed: set[str] = set()
    for number, rel in enumerate(lines[2:-1], start=3):
        try:
            safe_relative(rel)
        except OutputError:
            raise broken(f"line {number} names a path outside the output directory") from None
        listed.add(rel)
    return (lines[0] + "\n").encode(), listed


def owned(tree: Tree, header: bytes | None, read: Mapping[str, bytes] | None = None
          ) -> set[str]:
    """The files under the tree that this fleet wrote: listed in the inventory and still
    starting with the header it lists them under. Without an inventory (output of an
    older meshgen) the files whose header names this fleet; with header None, any
    meshgen header. read: contents already read, by path."""
    inventory = read_inventory(tree)
    if inventory is not None:
        listed_header, listed = inventory
        if header and listed_header != header:
            raise OutputError(
                f"holds the output of another fleet ({_source(listed_header)}); meshgen "
                "will not overwrite or prune another fleet's files",
                code="MG096", where=str(tree.root / INVENTORY),
                hint="give this fleet its own --out (or remove that directory, when it is "
                     "this fleet's output under an older fleet path)")
        header = header or listed_header
        candidates = listed & tree.files.keys()
    else:
        candidates = set(tree.files) - {INVENTORY}
    found = set()
    for rel in candidates:
        if read is not None and rel in read:
            data = read[rel]
            line = data.split(b"\n", 1)[0] + b"\n" if b"\n" in data else b""
        else:
            line = first_line(tree.root / rel)
        if (line == header) if header else line.startswith(_MARKER):
            found.add(rel)
    return found


def _source(header: bytes) -> str:
    text = header.decode("utf-8", "replace").strip()
    return text.removeprefix(HEADER_PREFIX).removesuffix(". DO NOT EDIT.")


def _environment(path: Path, what: str, exc: OSError) -> OutputError:
    return OutputError(f"{what}: {exc.strerror or exc}", code="MG140", where=str(path),
                       exit=EXIT_ENVIRONMENT)
