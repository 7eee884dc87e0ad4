from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLE_FLEET, REPO, crds_dir


def meshgen(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshgen", *args], capture_output=True,
                          text=True, cwd=cwd, check=False)


def example_copy(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE_FLEET.parent, tmp_path / "fleet")
    return tmp_path / "fleet" / "fleet.yaml"


def test_build_then_check(tmp_path: Path) -> None:
    fleet = example_copy(tmp_path)
    first = meshgen("build", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "78 added" in first.stdout
    assert (tmp_path / "overlays" / "east" / "kustomization.yaml").is_file()
    again = meshgen("build", cwd=tmp_path)
    assert "0 added, 0 updated, 0 removed, 78 unchanged" in again.stdout
    assert meshgen("build", "--check", cwd=tmp_path).returncode == 0

    # a change in the fleet: one file modified, some missing, some stale
    fleet.write_text(fleet.read_text().replace(
        "        name: details\n  - mesh: east-mesh",
        "        name: details\n      - namespace: stage-bookinfo\n        name: reviews\n"
        "  - mesh: east-mesh"))
    (tmp_path / "overlays" / "east" / "namespaces" / "prod-mesh.yaml").unlink()
    stale = tmp_path / "overlays" / "gone" / "kustomization.yaml"
    stale.parent.mkdir()
    shutil.copy(tmp_path / "overlays" / "east" / "kustomization.yaml", stale)
    with open(tmp_path / "overlays" / ".meshgen-inventory", "a") as inventory:
        inventory.write("gone/kustomization.yaml\n")  # written by an earlier build
    check = meshgen("build", "--check", cwd=tmp_path)
    assert check.returncode == 1
    lines = check.stdout.splitlines()
    assert "out of date: overlays/east/namespaces/stage-mesh/exportedserviceset-prod-mesh.yaml" \
        in lines
    assert "missing: overlays/east/namespaces/prod-mesh.yaml" in lines
    assert "stale: overlays/gone/kustomization.yaml" in lines
    assert lines[-1].endswith("run: meshgen build fleet/fleet.yaml --out overlays")
    assert stale.exists(), "--check must not write"
    fixed = meshgen("build", "fleet/fleet.yaml", "--out", "overlays", cwd=tmp_path)
    assert fixed.returncode == 0 and not stale.exists()
    assert meshgen("build", "--check", cwd=tmp_path).returncode == 0


def test_validate_with_crds() -> None:
    result = meshgen("validate", str(EXAMPLE_FLEET), "--crds", str(crds_dir()))
    assert result.returncode == 0, result.stderr
    assert "ok: 3 overlay(s), 4 delivery kustomization(s), 71 objects" in result.stdout


def test_validate_fails_on_crd_violation(tmp_path: Path) -> None:
    fleet = example_copy(tmp_path)
    fleet.write_text(fleet.read_text().replace(
        "    members: [prod-bookinfo]\n",
        "    members: [prod-bookinfo]\n    smcpSpec: {security: {dataplane: {mtls: true}}}\n"))
    result = meshgen("validate", str(fleet), "--crds", str(crds_dir()))
    assert result.returncode == 1
    assert "ServiceMeshControlPlane prod-mesh/prod-mesh: spec.security: Additional properties " \
           "are not allowed ('dataplane' was unexpected)" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_input_exits_2_with_located_errors(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("apiVersion: meshgen.dev/v1alpha1\nkind: Fleet\nmetadata: {name: x}\n"
                     "clusters:\n  - name: east\n    ingres: {}\n")
    for command in (["build", str(fleet), "--out", str(tmp_path / "out")],
                    ["build", str(fleet), "--check"], ["validate", str(fleet)]):
        result = meshgen(*command)
        assert result.returncode == 2
        assert result.stderr.startswith(f"{fleet}:6:5: error[MG010]: unknown field \"ingres\"")
        assert '  hint: did you mean "ingress"?' in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert meshgen("build", "--bogus").returncode == 2
    missing = meshgen("build", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "error[MG005]" in missing.stderr


def test_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path) -> None:
    example_copy(tmp_path)
    mine = tmp_path / "overlays" / "east" / "kustomization.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("# hand-written\n")
    result = meshgen("build", cwd=tmp_path)
    assert result.returncode == 2 and "error[MG093]" in result.stderr
    assert mine.read_text() == "# hand-written\n"
