"""Small fleets that ask for huge output are refused before it is made, with the figure,
unless the budget is raised; fleets with many problems cost linear time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from conftest import EXAMPLE_FLEET, TWO_CLUSTERS
from meshgen.ca import certificate_pem, make_certificate
from meshgen.errors import Location, Problem, Problems, Severity


def meshgen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshgen", *args], capture_output=True,
                          text=True, cwd=cwd, check=False, timeout=120)


def full_federation(directory: Path, size: int) -> Path:
    """size meshes in one full federation, under one shared root: n·(n-1) peerings."""
    (directory / "certs").mkdir()
    (directory / "certs" / "root.pem").write_text(certificate_pem(make_certificate("r")[0]))
    meshes = "".join(f"  - {{name: m{i}, cluster: {('east', 'west')[i % 2]}, namespace: m{i}, "
                     "ca: {type: plugin, secret: {none: {}}}}\n" for i in range(size))
    names = ", ".join(f"m{i}" for i in range(size))
    fleet = directory / "fleet.yaml"
    fleet.write_text(TWO_CLUSTERS + "meshes:\n" + meshes + "federations:\n  - name: all\n"
                     f"    meshes: [{names}]\n    trust: {{type: shared, rootCert: "
                     "certs/root.pem}\n")
    return fleet


def test_a_full_federation_of_many_meshes_is_refused_up_front(tmp_path: Path) -> None:
    full_federation(tmp_path, 300)
    start = time.monotonic()
    result = meshgen("build", "fleet.yaml", cwd=tmp_path)
    assert time.monotonic() - start < 60
    assert result.returncode == 2, result.stderr
    line = 12 + 300 + 2  # the federation's `meshes`
    expected = (f"fleet.yaml:{line}:13: error[MG150]: the fleet would generate at least "
                "179,400 objects")
    assert result.stderr.startswith(expected), result.stderr
    assert "more than the 50,000 allowed" in result.stderr
    assert "--max-objects" in result.stderr
    assert not (tmp_path / "overlays").exists()


def test_the_budget_can_be_lowered_and_raised(tmp_path: Path) -> None:
    fleet = str(EXAMPLE_FLEET)
    objects = meshgen("build", fleet, "--out", "out", "--max-objects", "10", cwd=tmp_path)
    assert objects.returncode == 2 and "error[MG150]" in objects.stderr, objects.stderr
    size = meshgen("build", fleet, "--out", "out", "--max-bytes", "1000", cwd=tmp_path)
    assert size.returncode == 2 and "error[MG151]" in size.stderr, size.stderr
    assert not (tmp_path / "out").exists()
    raised = meshgen("build", fleet, "--out", "out", "--max-objects", "1000000", cwd=tmp_path)
    assert raised.returncode == 0, raised.stderr


def test_diff_keeps_the_budget_it_is_given(tmp_path: Path) -> None:
    """A fleet past the default budget can be compared once the budget is raised, and a
    lowered one refuses the comparison (the work tree's fleet and, with --git, the
    committed one: both are built)."""
    full_federation(tmp_path, 250)  # 124,500 objects
    refused = meshgen("diff", "fleet.yaml", "--out", "out", cwd=tmp_path)
    assert refused.returncode == 2 and "error[MG150]" in refused.stderr, refused.stderr
    lowered = meshgen("diff", str(EXAMPLE_FLEET), "--out", "out", "--max-objects", "10",
                      cwd=tmp_path)
    assert lowered.returncode == 2 and "error[MG150]" in lowered.stderr, lowered.stderr
    (tmp_path / "small").mkdir()
    full_federation(tmp_path / "small", 3)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path / "small", check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path / "small", check=True)
    subprocess.run([*git, "commit", "-qm", "fleet"], cwd=tmp_path / "small", check=True)
    committed = meshgen("diff", "fleet.yaml", "--out", "out", "--git", "HEAD",
                        "--max-objects", "5", cwd=tmp_path / "small")
    assert committed.returncode == 2 and "error[MG150]" in committed.stderr
    raised = meshgen("diff", "fleet.yaml", "--out", "out", "--git", "HEAD",
                     "--max-objects", "1000", cwd=tmp_path / "small")
    assert raised.returncode == 0, raised.stderr


def test_many_warnings_cost_linear_time() -> None:
    problems = Problems()
    start = time.perf_counter()
    for i in range(40_000):
        problems.add(Problem("MG034", f"template t{i} matches no cluster",
                             Location("fleet.yaml", i + 1, 5), "check", Severity.WARNING))
    problems.add(Problem("MG034", "template t0 matches no cluster",
                         Location("fleet.yaml", 1, 5), "check", Severity.WARNING))
    assert time.perf_counter() - start < 2  # quadratic took minutes
    assert len(problems.warnings) == 40_000
