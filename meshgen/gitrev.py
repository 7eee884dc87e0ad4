"""A fleet as it was at a git revision, built without touching the work tree or the index.

`git archive` streams the revision's tree into a temporary directory with the repository's
layout, so a fleet's relative paths (rootCert files, a --templates folder inside the
repository) resolve there as they did at that revision.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from .budget import DEFAULT_BUDGET, Budget
from .build import compile_fleet
from .errors import FleetError, Location, Problem, Problems

HINT = "give a commit, branch or tag of the repository that holds the fleet file"


def _fail(fleet: Path, message: str, hint: str = HINT) -> FleetError:
    return FleetError(Problem("MG112", message, Location(str(fleet), 0, 0), hint))


def _git(cwd: Path, *args: str, may_fail: bool = False) -> str:
    """git's output; a failure is an MG112 problem, or "" when it may fail."""
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                              check=False, timeout=120)
    except FileNotFoundError:
        raise _fail(cwd, "git is not installed",
                    "install git, or compare with --against DIR") from None
    except subprocess.TimeoutExpired:
        raise _fail(cwd, f"git {args[0]} timed out", "try again") from None
    if done.returncode != 0:
        if may_fail:
            return ""
        raise _fail(cwd, f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout.strip()


def _inside(path: Path, root: Path) -> str | None:
    """path relative to root (POSIX), or None when it lies outside."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def files_at_revision(fleet: Path, revision: str, templates: Path | None = None,
                      out: Path | None = None, budget: Budget = DEFAULT_BUDGET
                      ) -> dict[str, bytes]:
    """The output tree of fleet as committed at revision ({} if the file did not exist).
    The committed output directory out is left out of the extracted copy (a build does
    not read it, and it may hold tens of thousands of files) unless it holds the fleet
    or the templates."""
    if not fleet.parent.resolve().is_dir():
        raise _fail(fleet, f"{fleet.parent} is not a directory", "check the fleet path")
    root = Path(_git(fleet.parent.resolve(), "rev-parse", "--show-toplevel")).resolve()
    relative = _inside(fleet, root)
    if relative is None:
        raise _fail(fleet, f"{fleet} is not inside the git repository {root}")
    commit = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options",
                  f"{revision}^{{commit}}", may_fail=True) if revision else ""
    if not commit:
        raise _fail(fleet, f'"{revision}" is no commit of {root}')
    with tempfile.TemporaryDirectory(prefix="meshgen-diff-") as tmp:
        tree = Path(tmp, "tree")
        tree.mkdir()
        _extract(root, commit, tree, _skipped(root, out, fleet, templates))
        old_fleet = tree / relative
        if not old_fleet.is_file():
            return {}
        old_templates = templates
        if templates is not None and (inside := _inside(templates, root)) is not None:
            old_templates = tree / inside if (tree / inside).is_dir() else None
        try:
            return compile_fleet(old_fleet, tree / "out", old_templates,
                                 budget=budget).files
        except FleetError as exc:
            raise FleetError(_relabel(exc.problems, str(old_fleet),
                                      f"{revision}:{relative}")) from None


def _skipped(root: Path, out: Path | None, *inputs: Path | None) -> str | None:
    """out relative to root, when it is a directory strictly inside root that holds none
    of the inputs."""
    if out is None or (relative := _inside(out, root)) in (None, "."):
        return None
    resolved = out.resolve()
    if any(i is not None and (i.resolve() == resolved or resolved in i.resolve().parents)
           for i in inputs):
        return None
    return relative


def _extract(root: Path, commit: str, into: Path, skip: str | None = None) -> None:
    pathspec = ["--", ".", f":(exclude,literal){skip}"] if skip else []
    with subprocess.Popen(["git", "-C", str(root), "archive", "--format=tar", commit,
                           *pathspec],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
            archive.extractall(into, filter="data")
        error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise _fail(root, f"git archive {commit}: {error.strip() or 'failed'}")


def _relabel(problems: Problems, path: str, name: str) -> Problems:
    """Problems of the extracted copy, named as REV:path/in/repo."""
    renamed = Problems(cap=problems.cap, dropped=problems.dropped)
    for problem in problems.items:
        location = problem.location
        if location.file == path or location.file.startswith(path + os.sep):
            location = dataclasses.replace(location, file=name + location.file[len(path):])
        renamed.items.append(dataclasses.replace(problem, location=location))
    return renamed
