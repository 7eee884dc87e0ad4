"""Writing the output tree: atomic, incremental, owning only what it wrote.

A build takes the output directory's lock, reads the tree as it is (refusing symlinks,
FIFOs and private keys in it), then rebuilds in a staging directory beside it the
smallest directory that holds every change (a cluster's directory when only that
cluster changed, the whole tree when changes span several top-level directories):
unchanged files and files meshgen did not write are hard links to the ones in place
(same inode, bytes and mtime), new and changed files are written there. One
renameat2(RENAME_EXCHANGE) swaps that directory in, so every reader (and every death of
the process) sees the old tree or the new one, never a mix, and no later build has
anything to finish; everything outside it is not touched. No recovery state is kept:
nothing the tree holds is ever replayed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MAX_PROBLEMS, plural
from .keyscan import private_keys
from .outerrors import EXIT_ENVIRONMENT, OutputError, OutputProblem
from .outlock import locked, resolved
from .outtree import (
    INVENTORY,
    LEGACY_JOURNAL,
    Inventory,
    Ownership,
    Stat,
    Tree,
    header_line,
    inventory_texts,
    owned,
    ownership,
    read_inventories,
    read_regular,
    safe_relative,
    scan,
    stat_record,
)
from .swap import replace_tree, restore

__all__ = [
    "INVENTORY",
    "OutputError",
    "ReusedChanged",
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


class ReusedChanged(Exception):
    """A file the caller vouched for (write_tree's reused) is gone, unlisted or has other
    stats than when it was proven: the tree changed during the build. Nothing was
    written; the caller builds again without reuse."""


@dataclass
class TreeDiff:
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # inventories to write, rewrite or remove (a removed one is of a directory this fleet
    # no longer writes in, or the root inventory of an older meshgen's output)
    inventories: list[str] = field(default_factory=list)
    # the directory the write exchanged, relative to out ("": the whole tree; None:
    # nothing was written)
    staged: str | None = None

    @property
    def inventory(self) -> bool:
        """An inventory is missing or out of date."""
        return bool(self.inventories)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.modified or self.stale or self.inventories)


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
    ownership: Ownership
    diff: TreeDiff
    inventories: dict[str, bytes]  # what each inventory of the new tree holds
    settled: frozenset[str] = frozenset()  # top-level directories not looked into


Reused = Collection[str] | Mapping[str, Stat | None]


def _survey(out: Path, files: dict[str, bytes], reused: Reused = (),
            settled: Collection[str] = ()) -> _Survey:
    for rel in files:
        safe_relative(rel)
    vouched = frozenset(reused)
    if both := sorted(vouched & files.keys()):
        raise ValueError(f"reused files are also among the files to write: {both[:5]}")
    kept = _settled_names(settled)
    if inside := sorted((kept & vouched) | kept.intersection(files)) + \
            sorted(rel for rel in files if rel.partition("/")[0] in kept):
        raise ValueError(f"files to write inside settled directories, or files named like "
                         f"one: {inside[:5]}")
    # reused files in settled directories: the caller's proof covers them, unseen here
    # (the part before any "/": no reused file takes a settled name, checked above)
    outside = frozenset(rel for rel in vouched if rel.partition("/")[0] not in kept) \
        if kept else vouched
    tree = scan(out, kept)
    if moved := sorted(name for name in kept if name not in tree.skipped
                       or not stat.S_ISDIR(tree.skipped[name].st_mode)):
        raise ReusedChanged(f"settled directories are no longer directories under {out}: "
                            f"{moved[:5]}")
    if absent := sorted(rel for rel in outside if rel not in tree.files):
        raise ReusedChanged(f"reused files are no longer regular files under {out}: "
                            f"{absent[:5]}")
    if isinstance(reused, Mapping) and (moved := sorted(
            rel for rel in outside if stat_record(tree.files[rel]) != reused[rel])):
        raise ReusedChanged(f"reused files changed since they were proven: {moved[:5]}")
    inventories = read_inventories(tree)
    header = header_line(files) or _listed_header(inventories, outside)
    legacy = inventories.get(INVENTORY, Inventory(b"", b"", set()))  # lists any dir
    if kept and (not header or any(rel.partition("/")[0] in kept for rel in legacy.listed)):
        # the header is known only from a settled inventory, or the root inventory of an
        # older meshgen lists files in settled directories (which this build moves into
        # their own inventories): settled cannot hold; look at everything
        return _survey(out, files, reused)
    base = str(out)
    current = {rel: _read(os.path.join(base, rel)) for rel in files if rel in tree.files}
    problems: list[OutputProblem] = []
    if LEGACY_JOURNAL in tree.files or LEGACY_JOURNAL in tree.dirs:
        problems.append(OutputProblem(
            "MG141", "is recovery state in the output tree; meshgen keeps none there and "
            "never replays one (a commit can put such a file there)",
            str(out / LEGACY_JOURNAL), "remove it after checking where it came from"))
    own = ownership(tree, header, current, outside, inventories)
    if unlisted := sorted(rel for rel in outside if own.listed.get(rel) != header):
        raise ReusedChanged(f"reused files are no longer in this fleet's inventory: "
                            f"{unlisted[:5]}")
    mine = own.mine
    diff = TreeDiff(stale=sorted(mine - files.keys() - outside))
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
    if vouched:
        diff.unchanged = sorted([*diff.unchanged, *vouched])
    # the inventories of settled directories would not change: neither built nor compared
    wanted = inventory_texts([*files, *outside], header) if files or outside else {}
    diff.inventories = sorted(
        rel for rel in wanted.keys() | inventories.keys()
        if rel not in inventories or wanted.get(rel) != inventories[rel].data)
    problems += _keys(out, tree, mine | inventories.keys())
    if problems:
        exit_code = EXIT_ENVIRONMENT if all(p.code == "MG140" for p in problems) else 2
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            problems = [*problems[:MAX_PROBLEMS], OutputProblem(
                "MG099", f"{plural(more, 'more problem')} in the output directory not shown",
                str(out))]
        raise OutputError(problems=problems, exit=exit_code)
    return _Survey(tree, own, diff, wanted, kept)


def _settled_names(settled: Collection[str]) -> frozenset[str]:
    if isinstance(settled, str):
        raise ValueError("settled is a collection of directory names, not one string")
    for name in settled:
        try:
            if "/" in name or safe_relative(name) != name:
                raise ValueError
        except (ValueError, OutputError):
            raise ValueError(f"not the name of a top-level directory: {name!r}") from None
    return frozenset(settled)


def _listed_header(inventories: dict[str, Inventory], vouched: frozenset[str]) -> bytes:
    """The header of a build that writes nothing itself: that of its reused files."""
    headers = {inventory.header for inventory in inventories.values()
               if not vouched.isdisjoint(inventory.listed)}
    if len(headers) > 1:
        raise ValueError("reused files are listed under different headers")
    return next(iter(headers), b"")


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


def _keys(out: Path, tree: Tree, mine: Collection[str]) -> list[OutputProblem]:
    """A private key in any file under --out that meshgen did not write (its own files
    were scanned before they were rendered into bytes)."""
    contents: dict[str, bytes] = {}
    for rel, info in tree.files.items():
        if rel not in mine and info.st_size <= MAX_KEY_SCAN:
            contents[rel] = _read(os.path.join(out, rel))
    return [OutputProblem(
        "MG097", "holds a private key inside the output directory, which is committed and "
        "delivered to clusters", str(p.location),
        "move key material out of --out (ca init keeps its keys in --dir, outside the "
        "output), and rotate the key if it was ever committed")
        for p in private_keys(contents, out)]


def _read(path: str | Path) -> bytes:
    try:
        return read_regular(path, MAX_READ)
    except OSError as exc:
        raise OutputError(f"cannot read: {exc.strerror or exc}", code="MG140",
                          where=str(path), exit=EXIT_ENVIRONMENT) from None


def compare(out: Path, files: dict[str, bytes], reused: Reused = (),
            settled: Collection[str] = ()) -> TreeDiff:
    """What write_tree would change (OutputError for what it would refuse)."""
    return _survey(resolved(out), files, reused, settled).diff


def generated_files(out: Path) -> set[str]:
    """The files under out that a meshgen fleet wrote: those its inventory lists (with
    their header), or, in the output of an older meshgen, those with a meshgen header."""
    return owned(scan(resolved(out)), None)


def read_tree(out: Path) -> dict[str, bytes]:
    """The files meshgen generated under out (an absent directory is an empty tree)."""
    root = resolved(out)
    return {rel: _read(root / rel) for rel in sorted(generated_files(root))}


def write_tree(out: Path, files: dict[str, bytes], reused: Reused = (),
               settled: Collection[str] = ()) -> TreeDiff:
    """Bring out to exactly files (plus any files meshgen did not write), in one swap.

    reused: files the caller vouches are on disk already, listed in this fleet's
    inventory under its header and holding exactly the bytes this build would write
    (proved under the same lock, e.g. from stat records). They are neither opened nor
    rewritten, count as unchanged and stay listed; one that is also in files is a
    programming error (ValueError). Given as a mapping to stat records (inode, size,
    mtime_ns, ctime_ns, mode), each must still have its record; one that changed, vanished
    or left the inventory since it was proven raises ReusedChanged. Nothing is written
    then.

    settled: names of top-level directories of out that the caller vouches for as a
    whole (proved under the same lock): every file this fleet wrote there is in reused,
    the directory's inventory lists exactly those under this fleet's header, and nothing
    in it changed since the proof. The write never looks inside them: no listing, stat,
    inventory, ownership, key scan, pruning or stat check of their reused files, which
    count as unchanged all the same; their inventories are neither built nor rewritten
    (diff.inventories never names them). Only each directory itself is lstat'ed: one that
    is gone or no longer a directory (a file, a symlink) raises ReusedChanged. A path of
    files inside one (or named like one), or a name that is not a plain directory name,
    is a programming error (ValueError). Where settled cannot hold (the change spans
    several top-level directories, so the whole tree is staged and needs every file; the
    header is only known from a settled inventory; an older meshgen's root inventory
    lists files there) the write looks at everything, as without settled."""
    with _no_sigxfsz(), locked(out):
        root = resolved(out)
        _clear_leftovers(root)
        survey = _survey(root, files, reused, settled)
        if survey.diff.changed:
            rel_dir = _staged_directory(root, survey)
            if not rel_dir and survey.settled:  # staging the root links every file
                survey = _survey(root, files, reused)
                rel_dir = _staged_directory(root, survey)
            _replace(root, files, survey, rel_dir)
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


def _previous(root: Path, rel_dir: str) -> Path:
    """Where the fallback without an atomic exchange moves the directory it replaces: the
    name says which one it was, so that the next build can put it back."""
    suffix = f"-{rel_dir.encode().hex()}" if rel_dir else ""
    return root.parent / f".{root.name}{PREVIOUS_SUFFIX}{suffix}"


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _clear_leftovers(root: Path) -> None:
    """What a killed build left beside out (under the lock, so no build is using it): a
    directory moved away by the fallback's first rename goes back, stages are removed."""
    restore(root, _previous(root, ""))
    previous = f".{root.name}{PREVIOUS_SUFFIX}"
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(root.parent), key=lambda e: e.name):
            if not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name.startswith(f"{previous}-"):
                rel_dir = _hex_path(entry.name.removeprefix(f"{previous}-"))
                target = os.path.join(root, rel_dir) if rel_dir else ""
                if target and os.path.realpath(os.path.dirname(target)) == \
                        os.path.join(root, os.path.dirname(rel_dir)).rstrip("/"):
                    restore(Path(target), Path(entry.path))
            if entry.name.startswith(_stage_prefix(root)) or entry.name == previous \
                    or entry.name.startswith(f"{previous}-"):
                shutil.rmtree(entry.path, ignore_errors=True)


def _hex_path(text: str) -> str:
    """The relative directory a previous-tree name encodes ("" when it encodes none)."""
    try:
        return safe_relative(bytes.fromhex(text).decode())
    except (ValueError, OutputError):
        return ""


def _staged_directory(root: Path, survey: _Survey) -> str:
    """The directory the write exchanges, relative to root ("": the whole tree)."""
    rel_dir = _changed_directory(survey)
    while rel_dir and len(_previous(root, rel_dir).name.encode()) > _name_max(root.parent):
        rel_dir = os.path.dirname(rel_dir)  # the fallback's name for it would not fit
    return rel_dir


def _replace(root: Path, files: dict[str, bytes], survey: _Survey, rel_dir: str) -> None:
    try:
        stage = Path(tempfile.mkdtemp(prefix=_stage_prefix(root), dir=root.parent))
    except OSError as exc:
        raise OutputError(f"cannot create the staging directory beside the output: "
                          f"{exc.strerror}", code="MG140", where=str(root.parent),
                          exit=EXIT_ENVIRONMENT) from None
    survey.diff.staged = rel_dir
    target = root / rel_dir if rel_dir else root
    try:
        _fill(stage, root, rel_dir, files, survey)
        if hasattr(os, "sync"):
            os.sync()  # the staged files are durable before the swap publishes them
        if rel_dir in survey.tree.dirs:
            old = replace_tree(stage, target, _previous(root, rel_dir))
            shutil.rmtree(old, ignore_errors=True)
        else:  # a new directory (or a new tree): one rename creates it whole
            os.rename(stage, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        where = exc.filename if isinstance(exc.filename, str) else str(target)
        where = where.replace(str(stage), str(target), 1)
        raise OutputError(f"cannot write: {exc.strerror or exc}", code="MG140", where=where,
                          exit=EXIT_ENVIRONMENT,
                          hint="the output directory is as it was; free space, raise the "
                               "limit or make it writable, and build again") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _changed_directory(survey: _Survey) -> str:
    """The smallest directory that holds every change, relative to out ("" for the whole
    tree): it exists, or its parent does; and it still holds something afterwards (a
    directory that empties is removed by staging its parent without it)."""
    tree, diff = survey.tree, survey.diff
    if "" not in tree.dirs:
        return ""
    changes = [*diff.added, *diff.modified, *diff.stale, *diff.inventories]
    common = os.path.dirname(changes[0]).split("/") if changes else []
    for rel in changes[1:]:
        parts = os.path.dirname(rel).split("/")
        n = 0
        while n < len(common) and n < len(parts) and common[n] == parts[n]:
            n += 1
        del common[n:]
    rel_dir = "/".join(common)
    while rel_dir and rel_dir not in tree.dirs and os.path.dirname(rel_dir) not in tree.dirs:
        rel_dir = os.path.dirname(rel_dir)
    while rel_dir and not _holds_anything(survey, rel_dir + "/"):
        rel_dir = os.path.dirname(rel_dir)
    return rel_dir


def _holds_anything(survey: _Survey, prefix: str) -> bool:
    gone = set(survey.diff.stale)
    return any(rel.startswith(prefix) for rel in survey.inventories) or \
        any(rel.startswith(prefix) for rel in survey.diff.added) or \
        any(rel.startswith(prefix) for rel in survey.tree.empty_dirs) or \
        any(rel.startswith(prefix) and rel not in gone and rel not in survey.ownership
            .inventories for rel in survey.tree.files)


def _fill(stage: Path, root: Path, rel_dir: str, files: dict[str, bytes],
          survey: _Survey) -> None:
    """The new rel_dir in stage: links to what stays, new bytes for what changes."""
    tree, diff = survey.tree, survey.diff
    prefix = f"{rel_dir}/" if rel_dir else ""
    cut = len(prefix)
    os.chmod(stage, stat.S_IMODE(tree.dirs[rel_dir].st_mode) if rel_dir in tree.dirs
             else 0o777 & ~_umask())
    rewritten = {*diff.stale, *diff.modified, *survey.ownership.inventories}
    keep = [rel for rel in tree.files if rel.startswith(prefix) and rel not in rewritten]
    keep += [rel for rel in survey.ownership.inventories
             if rel.startswith(prefix) and rel not in diff.inventories]
    made: set[str] = {""}
    staged, current = str(stage), str(root)

    def directory(inner: str) -> None:
        if inner in made:
            return
        directory(os.path.dirname(inner))
        os.mkdir(os.path.join(staged, inner))
        if prefix + inner in tree.dirs:
            os.chmod(os.path.join(staged, inner),
                     stat.S_IMODE(tree.dirs[prefix + inner].st_mode))
        made.add(inner)

    for rel in sorted(tree.empty_dirs):
        if rel.startswith(prefix):
            directory(rel[cut:])
    for rel in sorted(keep):
        directory(os.path.dirname(rel[cut:]))
        _link(os.path.join(current, rel), os.path.join(staged, rel[cut:]))
    new = [(rel, files[rel]) for rel in diff.added + diff.modified]
    new += [(rel, survey.inventories[rel]) for rel in diff.inventories
            if rel in survey.inventories]
    for rel, data in new:
        directory(os.path.dirname(rel[cut:]))
        try:
            with open(os.path.join(staged, rel[cut:]), "xb") as handle:
                handle.write(data)
        except OSError as exc:  # name the file the user knows, not the staged one
            raise OSError(exc.errno, exc.strerror, os.path.join(current, rel)) from None
    for inner in sorted(made - {""}, key=lambda d: -d.count("/")):
        if prefix + inner in tree.dirs:  # mkdir and the files inside touched it: old time
            info = tree.dirs[prefix + inner]
            os.utime(os.path.join(staged, inner), ns=(info.st_atime_ns, info.st_mtime_ns))


def _link(source: str | Path, target: str | Path) -> None:
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
