from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from meshgen.ca import certificate_pem, make_certificate
from meshgen.cache import DIR_ENV as CACHE_DIR_ENV
from meshgen.cache import NO_CACHE_ENV
from meshgen.crds import ENV, locate
from meshgen.verify import SchemaSet

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_FLEET = REPO / "fleet" / "fleet.yaml"
EXAMPLE_OVERLAYS = REPO / "overlays"


WORKSPACE_CRDS = REPO.parent / "shared" / "crds"
NO_CRDS = ("no upstream CRDs: run `meshgen crds fetch` (or set MESHGEN_CRDS to a directory "
           "of CRDs)")


def crds_dir() -> Path:
    """The upstream CRDs: $MESHGEN_CRDS, else shared/crds beside the repository (the
    workspace meshgen is developed in), else the cache of `meshgen crds fetch`. Without any,
    the test is skipped with NO_CRDS, or fails when MESHGEN_REQUIRE_CRDS=1 (.ci/run)."""
    found = locate()
    if os.environ.get(ENV) is None and (WORKSPACE_CRDS / "maistra").is_dir():
        return WORKSPACE_CRDS
    if found is not None and (found.directory / "maistra").is_dir():
        return found.directory
    if os.environ.get("MESHGEN_REQUIRE_CRDS") == "1":
        pytest.fail(f"{NO_CRDS}; MESHGEN_REQUIRE_CRDS=1 forbids skipping")
    pytest.skip(NO_CRDS)


@pytest.fixture(autouse=True)
def build_cache(tmp_path_factory: pytest.TempPathFactory,
                monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own build cache (meshgen/cache.py), never the user's, and on: every
    build test also checks that a cached build behaves as a full one."""
    directory = tmp_path_factory.mktemp("build-cache")
    monkeypatch.setenv(CACHE_DIR_ENV, str(directory))
    monkeypatch.delenv(NO_CACHE_ENV, raising=False)
    return directory


@pytest.fixture(scope="session")
def schemas() -> SchemaSet:
    return SchemaSet(crds_dir())


FleetWriter = Callable[..., Path]


@pytest.fixture
def write_fleet(tmp_path: Path) -> FleetWriter:
    """Write a fleet file (dedented) plus a real root CA for every name in `certs`."""

    def write(text: str, certs: tuple[str, ...] = (), name: str = "fleet.yaml") -> Path:
        (tmp_path / "certs").mkdir(exist_ok=True)
        for mesh in certs:
            cert, _ = make_certificate(f"{mesh} root CA")
            (tmp_path / "certs" / f"{mesh}.pem").write_text(certificate_pem(cert))
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


def fleet_head(name: str) -> str:
    """A fleet's first lines: cluster east (LoadBalancer) and west (Submariner)."""
    return f"""\
apiVersion: meshgen.dev/v1alpha1
kind: Fleet
metadata: {{name: {name}}}
clusters:
  - name: east
    ingress: {{type: LoadBalancer, domain: apps.east.example.com, clusterset: true}}
  - name: west
    ingress: {{type: Submariner}}
"""


TWO_CLUSTERS = """\
apiVersion: meshgen.dev/v1alpha1
kind: Fleet
metadata: {name: test}
clusters:
  - name: east
    labels: {zone: a}
    ingress: {type: LoadBalancer, domain: apps.east.example.com, clusterset: true}
  - name: west
    labels: {zone: b}
    ingress: {type: Submariner}
"""


Snapshot = dict[str, tuple[bytes | None, int]]


def snapshot(root: Path) -> Snapshot:
    """Every file's bytes and every file's and directory's mtime_ns under root."""
    result: Snapshot = {".": (None, root.stat().st_mtime_ns)}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory, name)
            rel = path.relative_to(root).as_posix()
            data = None if path.is_dir() else path.read_bytes()
            result[rel] = (data, path.lstat().st_mtime_ns)
    return result


def condition(kind: str, status: str, reason: str, message: str = "") -> dict[str, str]:
    """A status condition as the operators write it (Maistra, Sail, OLM share the shape)."""
    found = {"type": kind, "status": status, "reason": reason,
             "lastTransitionTime": "2026-11-23T10:00:00Z"}
    if message:
        found["message"] = message
    return found


def readme_example(marker: str, printed: str) -> None:
    """The README's text block after `<!-- MARKER: text -->` is what a command printed; with
    MESHGEN_UPDATE_README=1 the block is rewritten instead."""
    readme = REPO / "README.md"
    pattern = re.compile(rf"<!-- {re.escape(marker)}: text -->\n```text\n(?P<block>.*?)```\n",
                         re.S)
    text = readme.read_text(encoding="utf-8")
    match = pattern.search(text)
    assert match is not None, f"README.md has no {marker} block"
    if os.environ.get("MESHGEN_UPDATE_README") == "1":
        readme.write_text(text[:match.start("block")] + printed + text[match.end("block"):],
                          encoding="utf-8")
        return
    assert match["block"] == printed
