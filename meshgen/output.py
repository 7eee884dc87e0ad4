"""Writing the output tree: whole-tree atomic, incremental, owning only what it wrote.

A build takes the output directory's lock, reads the tree as it is (refusing symlinks,
FIFOs and private keys in it), then builds the complete new tree in a staging directory
beside it: unchanged files and files meshgen did not write are hard links to the ones in
place (same inode, bytes and mtime), new and changed files are written there. One
renameat2(RENAME_EXCHANGE) swaps the staged tree in, so every reader (and every death of
the process) sees the old tree or the new one, never a mix, and no later build has
anything to finish. No recovery state is kept: nothing the tree holds is ever replayed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MAX_PROBLEMS, plural
from .keyscan import private_keys
from .outerrors import EXIT_ENVIRONMENT, OutputError, OutputProblem
from .outlock import locked, resolved
from .outtree import (
    INVENTORY,
    LEGACY_JOURNAL,
    Tree,
    header_line,
    inventory_text,
    owned,
    read_regular,
    safe_relative,
    scan,
)
from .swap import replace_tree, restore

__all__ = [
    "INVENTORY",
    "OutputError",
    "TreeDiff",
    "compare",
    "generated_files",
    "locked",
    "read_tree",
    "safe_relative",
    "write_atomic",
    "write_tree",
]

STAGE_INFIX = ".meshgen-stage-"
PREVIOUS_SUFFIX = ".meshgen-previous"
MAX_KEY_SCAN = 16 * 1024 * 1024  # larger files under --out are not read for keys
MAX_READ = 64 * 1024 * 1024


@dataclass
class TreeDiff:
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    inventory: bool = False  # the inventory is missing or out of date

    @property
    def changed(self) -> bool:
        return bool(self.added or self.modified or self.stale or self.inventory)


def write_atomic(target: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace one file in a single rename. mkstemp creates the temporary file with mode
    0600, so key material is never readable by others while it is written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@dataclass
class _Survey:
    tree: Tree
    mine: set[str]
    diff: TreeDiff


def _survey(out: Path, files: dict[str, bytes]) -> _Survey:
    for rel in files:
        safe_relative(rel)
    tree = scan(out)
    current = {rel: _read(out / rel) for rel in files if rel in tree.files}
    problems: list[OutputProblem] = []
    if LEGACY_JOURNAL in tree.files or LEGACY_JOURNAL in tree.dirs:
        problems.append(OutputProblem(
            "MG141", "is recovery state in the output tree; meshgen keeps none there and "
            "never replays one (a commit can put such a file there)",
            str(out / LEGACY_JOURNAL), "remove it after checking where it came from"))
    header = header_line(files)
    mine = owned(tree, header, current)
    diff = TreeDiff(stale=sorted(mine - files.keys()))
    in_the_way = tree.files.keys() - set(diff.stale)
    for rel, data in sorted(files.items()):
        if rel in tree.files and rel in mine:
            (diff.unchanged if current[rel] == data else diff.modified).append(rel)
        elif rel in tree.files:
            problems.append(OutputProblem(
                "MG093", "was not written by this fleet (not in its inventory, or without "
                "its header); meshgen never overwrites such files", str(out / rel),
                "move it away, or give this fleet another --out (files of this fleet whose "
                "header names another fleet path: remove them and build again)"))
        elif rel in tree.dirs:
            problems.append(OutputProblem(
                "MG093", "is a directory where meshgen writes a file", str(out / rel),
                "move it away"))
        elif blocker := next((p for p in _parents(rel) if p in in_the_way), None):
            problems.append(OutputProblem(
                "MG093", "is a file where meshgen needs a directory; meshgen will not "
                "replace it", str(out / blocker), "move it away"))
        else:
            diff.added.append(rel)
    inventory = inventory_text(files) if files else b""
    current_inventory = _read(out / INVENTORY) if INVENTORY in tree.files else None
    diff.inventory = bool(files) and current_inventory != inventory
    problems += _keys(out, tree, mine)
    if problems:
        exit_code = EXIT_ENVIRONMENT if all(p.code == "MG140" for p in problems) else 2
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            problems = [*problems[:MAX_PROBLEMS], OutputProblem(
                "MG099", f"{plural(more, 'more problem')} in the output directory not shown",
                str(out))]
        raise OutputError(problems=problems, exit=exit_code)
    return _Survey(tree, mine, diff)


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


def _keys(out: Path, tree: Tree, mine: set[str]) -> list[OutputProblem]:
    """A private key in any file under --out that meshgen did not write (its own files
    were scanned before they were rendered into bytes)."""
    contents: dict[str, bytes] = {}
    for rel, info in tree.files.items():
        if rel not in mine and rel != INVENTORY and info.st_size <= MAX_KEY_SCAN:
            contents[rel] = _read(out / rel)
    return [OutputProblem(
        "MG097", "holds a private key inside the output directory, which is committed and "
        "delivered to clusters", str(p.location),
        "move key material out of --out (ca init keeps its keys in --dir, outside the "
        "output), and rotate the key if it was ever committed")
        for p in private_keys(contents, out)]


def _read(path: Path) -> bytes:
    try:
        return read_regular(path, MAX_READ)
    except OSError as exc:
        raise OutputError(f"cannot read: {exc.strerror or exc}", code="MG140",
                          where=str(path), exit=EXIT_ENVIRONMENT) from None


def compare(out: Path, files: dict[str, bytes]) -> TreeDiff:
    """What write_tree would change (OutputError for what it would refuse)."""
    return _survey(resolved(out), files).diff


def generated_files(out: Path) -> set[str]:
    """The files under out that a meshgen fleet wrote: those its inventory lists (with
    their header), or, in the output of an older meshgen, those with a meshgen header."""
    return owned(scan(resolved(out)), None)


def read_tree(out: Path) -> dict[str, bytes]:
    """The files meshgen generated under out (an absent directory is an empty tree)."""
    root = resolved(out)
    return {rel: _read(root / rel) for rel in sorted(generated_files(root))}


def write_tree(out: Path, files: dict[str, bytes], reused: Iterable[str] = ()) -> TreeDiff:
    """Bring out to exactly files (plus any files meshgen did not write), in one swap.
    reused: paths the caller vouches are on disk, owned by this fleet and holding the
    bytes this build would write (kept as they are, counted unchanged, inventoried).
    Interim version: the reused files are read and passed on as files."""
    with _no_sigxfsz(), locked(out):
        root = resolved(out)
        files = {**files, **{rel: _read(root / safe_relative(rel)) for rel in reused}}
        _clear_leftovers(root)
        survey = _survey(root, files)
        if survey.diff.changed:
            _replace(root, files, survey)
        return survey.diff


@contextlib.contextmanager
def _no_sigxfsz() -> Iterator[None]:
    """Past a file-size limit the kernel sends SIGXFSZ, which kills the process in the
    middle of a write; ignored, the write fails with EFBIG and is reported."""
    try:
        previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    except (ValueError, AttributeError):  # not the main thread, or no such signal
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGXFSZ, previous)


def _stage_prefix(root: Path) -> str:
    return f".{root.name}{STAGE_INFIX}"


def _clear_leftovers(root: Path) -> None:
    """What a killed build left beside out (under the lock, so no build is using it)."""
    previous = root.parent / f".{root.name}{PREVIOUS_SUFFIX}"
    restore(root, previous)
    with contextlib.suppress(OSError):
        for entry in os.scandir(root.parent):
            if (entry.name.startswith(_stage_prefix(root)) or entry.name == previous.name) \
                    and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)


def _replace(root: Path, files: dict[str, bytes], survey: _Survey) -> None:
    try:
        stage = Path(tempfile.mkdtemp(prefix=_stage_prefix(root), dir=root.parent))
    except OSError as exc:
        raise OutputError(f"cannot create the staging directory beside the output: "
                          f"{exc.strerror}", code="MG140", where=str(root.parent),
                          exit=EXIT_ENVIRONMENT) from None
    target = root
    try:
        _fill(stage, root, files, survey)
        if hasattr(os, "sync"):
            os.sync()  # the staged files are durable before the swap publishes them
        target = root
        if root.exists():
            old = replace_tree(stage, root, root.parent / f".{root.name}{PREVIOUS_SUFFIX}")
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(stage, root)
        _fsync_dir(root.parent)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        where = exc.filename if isinstance(exc.filename, str) else str(target)
        where = where.replace(str(stage), str(root), 1)
        raise OutputError(f"cannot write: {exc.strerror or exc}", code="MG140", where=where,
                          exit=EXIT_ENVIRONMENT,
                          hint="the output directory is as it was; free space, raise the "
                               "limit or make it writable, and build again") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _fill(stage: Path, root: Path, files: dict[str, bytes], survey: _Survey) -> None:
    """The complete new tree in stage: links to what stays, new bytes for what changes."""
    tree, diff = survey.tree, survey.diff
    os.chmod(stage, stat.S_IMODE(tree.dirs[""].st_mode) if "" in tree.dirs
             else 0o777 & ~_umask())
    stale = set(diff.stale)
    keep = [rel for rel in tree.files if rel not in stale and rel not in files
            and rel != INVENTORY]
    keep += diff.unchanged
    made: set[str] = {""}

    def directory(rel_dir: str) -> None:
        if rel_dir in made:
            return
        parent = os.path.dirname(rel_dir)
        directory(parent)
        os.mkdir(stage / rel_dir)
        if rel_dir in tree.dirs:
            os.chmod(stage / rel_dir, stat.S_IMODE(tree.dirs[rel_dir].st_mode))
        made.add(rel_dir)

    for rel in sorted(tree.empty_dirs):
        directory(rel)
    for rel in sorted(keep):
        directory(os.path.dirname(rel))
        _link(root / rel, stage / rel)
    for rel in diff.added + diff.modified:
        directory(os.path.dirname(rel))
        try:
            with open(stage / rel, "xb") as handle:
                handle.write(files[rel])
        except OSError as exc:  # name the file the user knows, not the staged one
            raise OSError(exc.errno, exc.strerror, str(root / rel)) from None
    if files:
        inventory = stage / INVENTORY
        if not diff.inventory:
            _link(root / INVENTORY, inventory)
        else:
            inventory.write_bytes(inventory_text(files))
    for rel in sorted(made - {""}, key=lambda d: -d.count("/")):
        if rel in tree.dirs:  # mkdir and the files inside touched it; keep the old time
            info = tree.dirs[rel]
            os.utime(stage / rel, ns=(info.st_atime_ns, info.st_mtime_ns))


def _link(source: Path, target: Path) -> None:
    """The same file in the new tree: a hard link, or a copy (with its times) where the
    file system or its owner forbids links."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
