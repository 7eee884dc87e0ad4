"""meshgen schema (the committed copy stays fresh; fleets validate against it) and
meshgen init (a fleet repository that builds right away)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result

from conftest import EXAMPLE_FLEET, REPO
from meshgen import __version__, kustomize
from meshgen.cli import main
from meshgen.scaffold import GITIGNORE, HOME, INSTALL
from meshgen.schema import COMMITTED, MODELINE, fleet_schema, schema_text
from meshgen.yamlc import SafeLoader

BROKEN = Path(__file__).resolve().parent / "broken"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads((REPO / COMMITTED).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


# --- schema ------------------------------------------------------------------------------------


def test_committed_schema_is_fresh() -> None:
    """After a change to meshgen/model.py: meshgen schema --out schema/fleet.schema.json"""
    assert (REPO / COMMITTED).read_text() == schema_text(), \
        "run: meshgen schema --out schema/fleet.schema.json"
    assert invoke("schema").stdout == schema_text()


def test_schema_out_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "fleet.schema.json"
    result = invoke("schema", "--out", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_text() == schema_text()


def test_schema_uses_the_names_written_in_fleet_yaml() -> None:
    schema = fleet_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"apiVersion", "kind", "metadata", "clusters", "meshTemplates"} <= \
        set(schema["properties"])
    mesh = schema["$defs"]["MeshSpec"]["properties"]
    assert {"controlPlaneName", "trustDomain", "rootCert", "smcpSpec", "gatewayNaming"} <= \
        set(mesh)
    assert "from" in schema["$defs"]["Import"]["properties"]
    assert schema["$defs"]["ImportedService"]["properties"]["asLocal"]["type"] == "boolean"


def test_bundled_fleet_validates_and_names_the_schema(validator: Any) -> None:
    text = EXAMPLE_FLEET.read_text()
    first = text.splitlines()[0]
    assert first.startswith(MODELINE)
    assert (EXAMPLE_FLEET.parent / first.removeprefix(MODELINE)).resolve() == REPO / COMMITTED
    assert list(validator.iter_errors(yaml.load(text, Loader=SafeLoader))) == []


@pytest.mark.parametrize("change, complaint", [
    (("  name: bookinfo-fleet", "  name: Bookinfo"), "does not match"),
    (("    members: [prod-bookinfo]", "    member: [prod-bookinfo]"), "'member' was unexpected"),
    (("  version: v2.6", "  version: v3.0"), "is not valid under any of the given schemas"),
    (("    topology: full", "    topology: mesh"), "'mesh' is not one of"),
    (("kind: Fleet", "kind: fleet"), "'Fleet' was expected"),
    (("        asLocal: true", '        asLocal: "yes"'), "is not of type 'boolean'"),
])
def test_a_bad_fleet_does_not_validate(validator: Any, change: tuple[str, str],
                                       complaint: str) -> None:
    text = EXAMPLE_FLEET.read_text()
    assert change[0] in text
    errors = list(validator.iter_errors(yaml.load(text.replace(change[0], change[1], 1),
                                                  Loader=SafeLoader)))
    assert errors and any(complaint in e.message for e in errors), [e.message for e in errors]


def test_schema_refuses_the_broken_fleets_of_shape(validator: Any) -> None:
    """Every broken fleet whose fault is an unknown or missing field, or a bad name, is
    refused by the schema as well as by meshgen."""
    codes = ("mg010-", "mg011-", "mg020-bad-mesh-name")
    cases = [p for p in sorted(BROKEN.glob("*.yaml")) if p.name.startswith(codes)]
    assert len(cases) >= 6
    for case in cases:
        data = yaml.load(case.read_text(), Loader=SafeLoader)
        assert list(validator.iter_errors(data)), f"{case.name} passes the schema"


# --- init --------------------------------------------------------------------------------------


def test_init_scaffolds_a_repository_that_builds(tmp_path: Path) -> None:
    repo = tmp_path / "My Fleet"
    result = invoke("init", str(repo))
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file())
    assert written == [".github/workflows/meshgen.yml", ".gitignore", ".pre-commit-config.yaml",
                       "fleet/fleet.yaml", "schema/fleet.schema.json"]
    fleet = (repo / "fleet" / "fleet.yaml").read_text()
    assert fleet.startswith(f"{MODELINE}../schema/fleet.schema.json\n")
    assert "  name: my-fleet\n" in fleet
    assert (repo / "schema" / "fleet.schema.json").read_text() == schema_text()

    # meshgen build succeeds right away, with the defaults, from the repository's root
    built = subprocess.run([sys.executable, "-m", "meshgen", "build"], cwd=repo,
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    assert built.stderr == ""
    assert "overlays: 5 files for 1 cluster; 5 added" in built.stdout
    # ... and the real kustomize builds the overlay
    objects = [d for d in yaml.load_all(kustomize.build(repo / "overlays" / "east"),
                                        Loader=SafeLoader) if d]
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("Namespace", "bookinfo"), ("Namespace", "prod-mesh"),
        ("ServiceMeshControlPlane", "prod-mesh"), ("ServiceMeshMemberRoll", "default")]
    for command in (["build", "--check"], ["validate"]):
        done = subprocess.run([sys.executable, "-m", "meshgen", *command], cwd=repo,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "fleet").mkdir()
    (tmp_path / "fleet" / "fleet.yaml").write_text("mine\n")
    (tmp_path / ".pre-commit-config.yaml").write_text("mine too\n")
    result = invoke("init", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{tmp_path / '.pre-commit-config.yaml'}: error[MG113]: meshgen init would overwrite "
        "this file",
        "  hint: meshgen init never overwrites files; run it in a new directory, or move the "
        "file away",
        f"{tmp_path / 'fleet' / 'fleet.yaml'}: error[MG113]: meshgen init would overwrite "
        "this file",
        "  hint: meshgen init never overwrites files; run it in a new directory, or move the "
        "file away",
        "2 errors, 0 warnings"]
    assert (tmp_path / "fleet" / "fleet.yaml").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        ".pre-commit-config.yaml", "fleet", "fleet.yaml"]


def test_init_appends_what_an_existing_gitignore_lacks(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n*.key")  # no final newline
    result = invoke("init", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert f"appended to {tmp_path / '.gitignore'}" in result.stdout
    assert (tmp_path / ".gitignore").read_text() == (
        "node_modules/\n*.key\n# added by meshgen init\n*-key.pem\n.venv/\n__pycache__/\n")
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / ".gitignore").write_text(GITIGNORE)
    assert invoke("init", str(tmp_path / "again")).exit_code == 0
    assert (tmp_path / "again" / ".gitignore").read_text() == GITIGNORE  # nothing to add


def test_init_in_a_subdirectory_puts_the_ci_files_at_the_git_root(tmp_path: Path) -> None:
    """GitHub reads workflows only from the repository root's .github/, and pre-commit its
    config only from the root: they go there, naming the fleet by its path from the root."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = invoke("init", str(tmp_path / "infra" / "fleets"))
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                     if p.is_file() and ".git/" not in p.relative_to(tmp_path).as_posix() + "/")
    assert written == [".github/workflows/meshgen.yml", ".pre-commit-config.yaml",
                       "infra/fleets/.gitignore", "infra/fleets/fleet/fleet.yaml",
                       "infra/fleets/schema/fleet.schema.json"]
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "meshgen.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["meshgen"]["steps"]]
    assert "meshgen build infra/fleets/fleet/fleet.yaml --out infra/fleets/overlays --check " \
           "--format github" in runs
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    check = hooks["repos"][0]["hooks"][0]
    assert check["entry"] == ("meshgen build infra/fleets/fleet/fleet.yaml --out "
                              "infra/fleets/overlays --check")
    assert re.match(check["files"], "infra/fleets/overlays/east/kustomization.yaml")
    assert re.match(check["files"], "infra/fleets/fleet/fleet.yaml")
    assert not re.match(check["files"], "fleet/fleet.yaml")
    # what the hook and the workflow run works from the root
    built = subprocess.run([sys.executable, "-m", "meshgen", *check["entry"].split()[1:3],
                            "--out", "infra/fleets/overlays"], cwd=tmp_path,
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr


def test_init_into_a_file_path_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("")
    result = invoke("init", str(target))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_init_names_the_fleet_after_the_directory(tmp_path: Path) -> None:
    for name, expected in (("Prod_Fleet.git", "prod-fleet-git"), ("---", "fleet")):
        invoke("init", str(tmp_path / name))
        text = (tmp_path / name / "fleet" / "fleet.yaml").read_text()
        assert re.search(rf"^  name: {re.escape(expected)}$", text, re.M)


def test_one_placeholder_names_where_meshgen_is_published() -> None:
    """README, .pre-commit-hooks.yaml and the generated workflow spell the install location
    the same way, and no other placeholder is left."""
    readme = (REPO / "README.md").read_text()
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert f"git+{HOME}@v{__version__}" == INSTALL
    assert INSTALL in readme and f"repo: {HOME}" in readme and f"repo: {HOME}" in hooks
    owner_repo = HOME.removeprefix("https://github.com/")
    assert f"uses: {owner_repo}@v{__version__}" in readme
    for text in (readme, hooks):
        assert "<owner>" not in text and "<URL of this repository>" not in text
