"""Finding the fleet when no FLEET is given, the way git finds its repository: from the
working directory up to the root of the Git repository it is in."""

from __future__ import annotations

import os
from pathlib import Path

from .defaults import DEFAULT_FLEET
from .errors import FleetError, Location, Problem


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above start that holds `.git` (a directory, or the file
    of a worktree or submodule)."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def searched(start: Path) -> list[Path]:
    """The directories looked in, nearest first: start up to its repository root, or start
    alone outside a repository."""
    root = repository_root(start)
    if root is None:
        return [start]
    return [start, *start.parents[:len(start.relative_to(root).parts)]]


def find_fleet_root(start: Path | None = None) -> Path:
    """The nearest directory, from start up to the repository root, holding fleet/fleet.yaml;
    MG116 naming every directory looked in when there is none."""
    start = (start or Path.cwd()).absolute()
    places = searched(start)
    for directory in places:
        if (directory / DEFAULT_FLEET).is_file():
            return directory
    looked = ", ".join(str(d / DEFAULT_FLEET) for d in places)
    scope = ("in this directory or above it up to the repository root"
             if repository_root(start) else "in this directory (not in a Git repository)")
    raise FleetError(Problem(
        "MG116", f"no FLEET given and no {DEFAULT_FLEET} {scope}; looked for {looked}",
        Location(DEFAULT_FLEET.as_posix(), 0, 0),
        "pass the fleet file (meshgen build path/to/fleet.yaml), or start one with "
        "`meshgen init`"))


def relative(path: Path) -> Path:
    """path as the user would type it from the working directory."""
    return Path(os.path.relpath(path))
