"""A --templates directory mirrors the bundled templates/ layout: an override replaces the
bundled template at the same relative path (`ossm2/servicemeshpeer.yaml.j2`). An override
left at a place where meshgen no longer looks, such as the flat names the ossm2 templates
had before they moved under ossm2/, would be ignored without a word; it is refused instead."""

from __future__ import annotations

from pathlib import Path

from .errors import FleetError, Location, Problem, Problems
from .render import TEMPLATES


def check_overrides(override_dir: Path) -> None:
    """MG142 for every template in override_dir named like a bundled template that lives
    elsewhere in the bundled layout."""
    by_file_name: dict[str, list[str]] = {}
    for name in sorted(TEMPLATES):
        by_file_name.setdefault(name.rsplit("/", 1)[-1], []).append(name)
    problems = Problems()
    for path in sorted(override_dir.rglob("*.j2")):
        relative = path.relative_to(override_dir).as_posix()
        if relative in TEMPLATES or not path.is_file():
            continue
        bundled = by_file_name.get(path.name)
        if not bundled:
            continue  # not a template meshgen renders; a user's own include, say
        places = ", ".join(f"{override_dir / b}" for b in bundled)
        problems.add(Problem(
            "MG142", f"template override {relative} is not read: the bundled template of that "
            f"name is {' or '.join(bundled)}", Location(str(path), 0),
            f"move it to {places} (an override directory mirrors the bundled templates/ "
            "layout)"))
    if problems:
        raise FleetError(problems)
