"""`meshgen init`: the files of a new fleet repository, written only where none exist yet."""

from __future__ import annotations

import os
import re
from pathlib import Path

from . import __version__
from .build import DEFAULT_OUT
from .errors import Location, Problem, Problems
from .schema import MODELINE, schema_text
from .source import DEFAULT_FLEET

# how the generated CI installs meshgen; change it in the workflow to your mirror or a pin
INSTALL = f"git+https://github.com/meshgen-dev/meshgen@v{__version__}"
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
        files: ^({fleet_dir}|{out})/
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


def files(directory: Path) -> dict[Path, str]:
    fleet, out = DEFAULT_FLEET.as_posix(), DEFAULT_OUT.as_posix()
    schema_ref = Path(os.path.relpath(SCHEMA, DEFAULT_FLEET.parent)).as_posix()
    values = {"fleet": fleet, "out": out, "fleet_dir": DEFAULT_FLEET.parent.as_posix(),
              "install": INSTALL, "name": fleet_name(directory),
              "modeline": MODELINE + schema_ref}
    return {
        DEFAULT_FLEET: FLEET.format(**values),
        SCHEMA: schema_text(),
        Path(".gitignore"): GITIGNORE,
        Path(".github/workflows/meshgen.yml"): WORKFLOW.format(**values),
        Path(".pre-commit-config.yaml"): PRE_COMMIT.format(**values),
    }


def scaffold(directory: Path) -> list[Path]:
    """Write the files of a new fleet repository into directory; refuse (MG113, nothing
    written) if any of them exists."""
    planned = files(directory)
    problems = Problems()
    for rel in planned:
        if (directory / rel).exists() or (directory / rel).is_symlink():
            problems.add(Problem("MG113", "meshgen init would overwrite this file",
                                 Location(str(directory / rel), 0, 0),
                                 "meshgen init never overwrites files; run it in a new "
                                 "directory, or move the file away"))
    problems.raise_if_errors()
    written = []
    for rel, text in planned.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
        written.append(path)
    return written
