"""`meshgen init`: the files of a new fleet repository, written only where none exist yet."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .defaults import DEFAULT_FLEET, DEFAULT_OUT
from .discover import repository_root
from .errors import Location, Problem, Problems
from .schema import MODELINE, schema_text

# Where meshgen is published: a placeholder (README: "Using meshgen in a fleet repo") that the
# README, .pre-commit-hooks.yaml and the generated workflow all spell the same way.
HOME = "https://github.com/meshgen-dev/meshgen"
INSTALL = f"git+{HOME}@v{__version__}"
SCHEMA = Path("schema/fleet.schema.json")

FLEET = """\
{modeline}
# The fleet: your clusters, the OpenShift Service Mesh control planes on them, and which
# meshes federate. `meshgen build` compiles it into {out}/<cluster>/ (commit those too);
# `meshgen explain MESH` and `meshgen graph` show what it resolves to.
apiVersion: meshgen.dev/v1alpha1
kind: Fleet
metadata:
  name: {name}

defaults:
  version: v2.6

clusters:
  - name: east
    ingress:                      # how meshes on other clusters reach gateways here
      type: LoadBalancer
      domain: apps.east.example.com

meshes:
  - name: prod-mesh
    cluster: east
    members: [bookinfo]           # namespaces whose workloads join the mesh
    # rootCert: certs/prod-mesh.pem   # the mesh's public root CA, needed once it federates
  # An OpenShift Service Mesh 3 mesh (Sail operator): one mesh across clusters, primaries
  # and remotes; README "OpenShift Service Mesh 3 / Istio".
  # - name: mesh3
  #   backend: istio
  #   version: v1.26.3            # pinned; checked against the operator channel
  #   clusters:
  #     - {{cluster: east, role: primary}}
  #   members: [reviews]

# To federate, add a second mesh, give both a rootCert, and pair them:
# federations:
#   - name: prod
#     meshes: [prod-mesh, other-mesh]
"""

GITIGNORE = """\
# rootCert files are public certificates; private keys never belong in a fleet repository
*.key
*-key.pem
.venv/
__pycache__/
"""

WORKFLOW = """\
# meshgen checks for this fleet repository (written by `meshgen init`).
name: meshgen
on:
  push:
    branches: [main]
  pull_request:
permissions:
  contents: read
env:
  # what pip installs: pin the meshgen release this fleet is built with
  MESHGEN: {install}
jobs:
  meshgen:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # `meshgen diff --git` builds the pull request's base commit
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install meshgen
        run: python -m pip install "$MESHGEN"
      - name: The committed overlays are what fleet.yaml builds
        run: meshgen build {fleet} --out {out} --check --format github
      - name: The upstream CRDs the objects are validated against
        run: meshgen crds fetch
      - name: The fleet and its overlays are valid
        run: meshgen validate {fleet} --format github
      - name: What the pull request changes in the clusters
        if: github.event_name == 'pull_request'
        env:
          BASE: ${{{{ github.event.pull_request.base.sha }}}}
        run: meshgen diff {fleet} --git "$BASE" --format markdown >> "$GITHUB_STEP_SUMMARY"
"""

PRE_COMMIT = """\
# pre-commit hooks (written by `meshgen init`); enable them with `pre-commit install`.
repos:
  - repo: local
    hooks:
      - id: meshgen-check
        name: meshgen build --check
        entry: meshgen build {fleet} --out {out} --check
        language: system
        pass_filenames: false
        files: ^({fleet_dir}|{out_pattern})/
      - id: meshgen-validate
        name: meshgen validate
        entry: meshgen validate {fleet}
        language: system
        pass_filenames: false
        files: ^{fleet_dir}/
"""


def fleet_name(directory: Path) -> str:
    """The directory's name as a DNS-1123 label, or "fleet"."""
    name = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-")[:63]
    return name.strip("-") or "fleet"


def git_root(directory: Path) -> Path:
    """Where `.github/` and `.pre-commit-config.yaml` must be for GitHub and pre-commit to
    see them: the root of the Git repository directory is in, else directory itself."""
    root = repository_root(directory.absolute())
    return root if root is not None else directory.absolute()


def files(directory: Path) -> dict[Path, str]:
    """Every file, by its path (directory joined with it) and its text."""
    root = git_root(directory)
    prefix = directory.absolute().relative_to(root)  # Path(".") when directory is the root
    fleet, out = (prefix / DEFAULT_FLEET).as_posix(), (prefix / DEFAULT_OUT).as_posix()
    schema_ref = Path(os.path.relpath(SCHEMA, DEFAULT_FLEET.parent)).as_posix()
    values = {"fleet": fleet, "out": out, "install": INSTALL, "name": fleet_name(directory),
              "fleet_dir": re.escape((prefix / DEFAULT_FLEET.parent).as_posix()),
              "modeline": MODELINE + schema_ref}
    values["out_pattern"] = re.escape(out)
    at_root = Path(os.path.relpath(root, directory.absolute()))
    return {
        directory / DEFAULT_FLEET: FLEET.format(**values),
        directory / SCHEMA: schema_text(),
        directory / ".gitignore": GITIGNORE,
        directory / at_root / ".github/workflows/meshgen.yml": WORKFLOW.format(**values),
        directory / at_root / ".pre-commit-config.yaml": PRE_COMMIT.format(**values),
    }


@dataclass(frozen=True)
class Written:
    path: Path
    appended: bool  # lines added to an existing file (.gitignore)


def _missing_lines(path: Path, wanted: str) -> str:
    """The patterns of wanted (with their comments) that the existing file lacks."""
    have = {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    lines = [line for line in wanted.splitlines()
             if not line.startswith("#") and line.strip() not in have]
    return "".join(f"{line}\n" for line in lines)


def scaffold(directory: Path) -> list[Written]:
    """Write the files of a new fleet repository into directory (the workflow and the
    pre-commit config at the root of its Git repository); append what an existing
    .gitignore lacks; refuse (MG113, nothing written) if any other file exists."""
    planned = files(directory)
    gitignore = directory / ".gitignore"
    problems = Problems()
    for path in planned:
        if path == gitignore and path.is_file() and not path.is_symlink():
            continue
        if path.exists() or path.is_symlink():
            problems.add(Problem("MG113", "meshgen init would overwrite this file",
                                 Location(os.path.normpath(path), 0, 0),
                                 "meshgen init never overwrites files; run it in a new "
                                 "directory, or move the file away"))
    problems.raise_if_errors()
    written = []
    for path, text in planned.items():
        path = Path(os.path.normpath(path))
        if path == Path(os.path.normpath(gitignore)) and path.is_file():
            missing = _missing_lines(path, text)
            if missing:
                old = path.read_text(encoding="utf-8")
                separator = "" if old.endswith("\n") or not old else "\n"
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(f"{separator}# added by meshgen init\n{missing}")
                written.append(Written(path, appended=True))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
        written.append(Written(path, appended=False))
    return written
