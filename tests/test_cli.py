from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from click.testing import CliRunner

from conftest import EXAMPLE_FLEET, REPO, crds_dir
from meshgen.cli import main


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
    assert "101 added" in first.stdout
    assert (tmp_path / "overlays" / "east" / "kustomization.yaml").is_file()
    again = meshgen("build", cwd=tmp_path)
    assert "0 added, 0 updated, 0 removed, 101 unchanged" in again.stdout
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
    listing = (tmp_path / "overlays" / "east" / ".meshgen-inventory").read_text()
    (stale.parent / ".meshgen-inventory").write_text(  # as written by an earlier build
        "".join(listing.splitlines(keepends=True)[:2]) + "kustomization.yaml\n")
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
    assert "ok: 3 overlays, 4 delivery kustomizations, 94 objects" in result.stdout


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


# --- usage errors in every format, -h ---------------------------------------------------------


def test_usage_errors_follow_the_format(tmp_path: Path) -> None:
    """A directory given as FLEET is a usage error that click reports before the command
    runs: json gets one JSON document on stdout, github one annotation, text click's usage."""
    for args in (["build", str(tmp_path), "--format", "json"],
                 ["validate", "--format=json", str(tmp_path)],
                 ["diff", "--format", "json", "--no-such-option"]):
        result = meshgen(*args)
        assert result.returncode == 2, result
        problems = json.loads(result.stdout)
        assert [(p["code"], p["severity"]) for p in problems] == [("MG115", "error")], args
        assert problems[0]["hint"] == f"see `meshgen {args[0]} --help`"
    assert json.loads(meshgen("build", str(tmp_path), "--format", "json").stdout)[0][
        "message"] == f"Invalid value for '[FLEET]': File '{tmp_path}' is a directory."

    github = meshgen("build", str(tmp_path), "--format", "github")
    assert github.returncode == 2
    assert github.stdout == (f"::error title=MG115::Invalid value for '[FLEET]'%3A File "
                             f"'{tmp_path}' is a directory.%0A(hint: see `meshgen build "
                             "--help`)\n").replace("%3A", ":")
    text = meshgen("build", str(tmp_path))
    assert text.returncode == 2 and text.stdout == ""
    assert text.stderr.startswith("Usage: meshgen build [OPTIONS] [FLEET]\n")


def test_h_is_help_for_every_command() -> None:
    def commands(group: click.Group, path: list[str]) -> Iterator[list[str]]:
        for name, command in sorted(group.commands.items()):
            yield [*path, name]
            if isinstance(command, click.Group):
                yield from commands(command, [*path, name])

    assert isinstance(main, click.Group)
    every = [[], *commands(main, [])]
    assert ["crds", "fetch"] in every and ["ca", "init"] in every
    runner = CliRunner()
    for path in every:
        short = runner.invoke(main, [*path, "-h"], prog_name="meshgen")
        long = runner.invoke(main, [*path, "--help"], prog_name="meshgen")
        assert short.exit_code == 0, (path, short.output)
        assert short.output == long.output and short.output.startswith("Usage: meshgen")


# --- finding the fleet from a subdirectory ---------------------------------------------------


def test_build_finds_the_fleet_from_a_subdirectory_like_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copytree(EXAMPLE_FLEET.parent, repo / "fleet")
    deep = repo / "fleet" / "certs"
    built = meshgen("build", cwd=deep)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("../../overlays: 101 files for 3 clusters; 101 added")
    assert (repo / "overlays" / "east" / "kustomization.yaml").is_file()
    assert not (deep / "overlays").exists()
    checked = meshgen("build", "--check", cwd=repo / "overlays" / "east")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == ".. is up to date (101 files)\n"
    # an explicit --out stays relative to the working directory
    elsewhere = meshgen("build", "--check", "--out", "other", cwd=deep)
    assert elsewhere.returncode == 1 and "other is out of date" in elsewhere.stdout


def test_without_a_fleet_it_says_where_it_looked(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a" / "b").mkdir(parents=True)
    result = meshgen("graph", cwd=repo / "a" / "b")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "fleet/fleet.yaml: error[MG116]: no FLEET given and no fleet/fleet.yaml in this "
        "directory or above it up to the repository root; looked for "
        f"{repo}/a/b/fleet/fleet.yaml, {repo}/a/fleet/fleet.yaml, {repo}/fleet/fleet.yaml",
        "  hint: pass the fleet file (meshgen build path/to/fleet.yaml), or start one with "
        "`meshgen init`",
        "1 error, 0 warnings"]
    outside = meshgen("build", "--format", "json", cwd=tmp_path)
    assert outside.returncode == 2
    [problem] = json.loads(outside.stdout)
    assert problem["code"] == "MG116"
    assert problem["message"].endswith("in this directory (not in a Git repository); looked "
                                       f"for {tmp_path}/fleet/fleet.yaml")


def test_a_template_that_changes_an_objects_identity_is_described_without_none(
        tmp_path: Path) -> None:
    """MG092 names a cluster-scoped object as `Kind name`, never `None/name`."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "namespace.yaml.j2").write_text(
        '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "renamed"}}\n')
    fleet = example_copy(tmp_path)
    result = meshgen("build", str(fleet), "--out", str(tmp_path / "out"), "--templates",
                     str(templates))
    assert result.returncode == 2
    assert "None" not in result.stderr
    assert "error[MG092]: template namespace.yaml.j2 produced Namespace renamed (v1), " \
           "expected Namespace " in result.stderr


def test_an_override_left_at_its_old_flat_name_stops_the_build(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "servicemeshcontrolplane.yaml.j2").write_text("{}\n")
    out = tmp_path / "out"
    result = meshgen("build", str(example_copy(tmp_path)), "--out", str(out), "--templates",
                     str(templates))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{templates}/servicemeshcontrolplane.yaml.j2: error[MG142]: template override " \
        "servicemeshcontrolplane.yaml.j2 is not read" in result.stderr
    assert f"hint: move it to {templates}/ossm2/servicemeshcontrolplane.yaml.j2" in result.stderr
    assert not out.exists()


def test_every_error_code_meshgen_emits_has_a_readme_row() -> None:
    emitted = {code for path in (REPO / "meshgen").rglob("*.py")
               for code in re.findall(r"MG\d{3}", path.read_text())}
    rows = set(re.findall(r"^\| (MG\d{3}) \|", (REPO / "README.md").read_text(), re.M))
    assert {"MG114", "MG115", "MG116"} <= emitted
    assert not emitted - rows, f"no README error-code row for {sorted(emitted - rows)}"
