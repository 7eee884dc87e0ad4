"""The README's worked pull request is generated: this test makes the change it describes
in a Git copy of the bundled example, runs the commands it shows, and compares their output
with the README's blocks (each after a `<!-- worked-example: NAME -->` line).

Regenerate the blocks after a deliberate change:
    MESHGEN_UPDATE_README=1 python -m pytest tests/test_readme.py
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLE_FLEET, EXAMPLE_OVERLAYS, REPO

README = REPO / "README.md"
UPDATE = "MESHGEN_UPDATE_README"
MARKER = re.compile(r"^<!-- worked-example: (?P<name>[a-z-]+) -->\n(?P<fence>`{3,})(?P<lang>\w*)\n",
                    re.M)

# the change: stage-mesh also exports reviews, prod-mesh imports it into its own namespace
EXPORT = "      - namespace: stage-bookinfo\n        name: details\n  - mesh: east-mesh\n"
EXPORTED = ("      - namespace: stage-bookinfo\n        name: details\n"
            "      - namespace: stage-bookinfo\n        name: reviews\n  - mesh: east-mesh\n")
IMPORT = "        alias: {name: details-v2, namespace: prod-bookinfo}\n"
IMPORTED = IMPORT + ("      - namespace: stage-bookinfo\n        name: reviews\n"
                     "        alias: {namespace: prod-bookinfo}\n        asLocal: true\n")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=meshgen", "-c", "user.email=meshgen@example.com",
                    *args], cwd=repo, check=True, capture_output=True)


def meshgen(repo: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "meshgen", *args], cwd=repo,
                          capture_output=True, text=True, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def change_diff(before: str, after: str) -> str:
    """The fleet.yaml change as the README shows it: each hunk with the six lines above it
    and none below, `...` between hunks."""
    hunks: list[list[str]] = []
    for line in list(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                          lineterm="", n=6))[2:]:
        if line.startswith("@@"):
            hunks.append([])
        else:
            hunks[-1].append(line)
    for hunk in hunks:
        while hunk[-1].startswith(" "):
            hunk.pop()
    return "\n ...\n".join("\n".join(hunk) for hunk in hunks) + "\n"


def generate(tmp_path: Path) -> dict[str, str]:
    repo = tmp_path / "fleet-repo"
    shutil.copytree(EXAMPLE_FLEET.parent, repo / "fleet")
    shutil.copytree(EXAMPLE_OVERLAYS, repo / "overlays")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the bundled example")
    fleet = repo / "fleet" / "fleet.yaml"
    before = fleet.read_text()
    assert before.count(EXPORT) == 1 and before.count(IMPORT) == 1
    after = before.replace(EXPORT, EXPORTED).replace(IMPORT, IMPORTED)
    fleet.write_text(after)

    check = meshgen(repo, "build", "--check", "--format", "github")
    meshgen(repo, "build")
    markdown = meshgen(repo, "diff", "--git", "main", "--format", "markdown")
    explained = meshgen(repo, "explain", "prod-mesh").splitlines()
    start = explained.index("  imports")
    end = next((i for i in range(start + 1, len(explained))
                if not explained[i].startswith("    ")), len(explained))
    return {"change": change_diff(before, after), "check": check, "diff": markdown,
            "explain": "\n".join(explained[start:end]) + "\n"}


def blocks(text: str) -> dict[str, tuple[int, int]]:
    """Each marked block's content span in the README."""
    spans = {}
    for match in MARKER.finditer(text):
        close = text.index(f"\n{match['fence']}\n", match.end() - 1)
        spans[match["name"]] = (match.end(), close + 1)
    return spans


def test_the_worked_example_is_what_meshgen_prints(tmp_path: Path) -> None:
    generated = generate(tmp_path)
    text = README.read_text(encoding="utf-8")
    spans = blocks(text)
    assert sorted(spans) == sorted(generated)
    if os.environ.get(UPDATE) == "1":
        for name, (start, end) in sorted(spans.items(), key=lambda item: -item[1][0]):
            text = text[:start] + generated[name] + text[end:]
        README.write_text(text, encoding="utf-8")
        return
    stale = [name for name, (start, end) in spans.items() if text[start:end] != generated[name]]
    assert not stale, (f"README worked example out of date: {stale}; regenerate with "
                       f"{UPDATE}=1 python -m pytest tests/test_readme.py")
