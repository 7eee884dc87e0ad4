"""--format text|json|github for the problems of build, validate and diff."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner, Result

from conftest import EXAMPLE_FLEET, EXAMPLE_OVERLAYS, TWO_CLUSTERS, FleetWriter, crds_dir
from meshgen.ca import certificate_pem, make_certificate
from meshgen.cli import main
from meshgen.errors import (
    Location,
    Problem,
    Problems,
    Severity,
    escape_data,
    escape_property,
    format_problems,
    github_annotation,
)

BAD = ("apiVersion: meshgen.dev/v1alpha1\nkind: Fleet\nmetadata: {name: x}\n"
       "clusters:\n  - name: east\n    ingres: {}\n")
HINT = ('did you mean "ingress"? allowed here: apiServer, eastWest, ingress, labels, name, '
        'network, platform')


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_github_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b"
    assert escape_property("C:\\x,y%\n") == "C%3A\\x%2Cy%25%0A"
    problem = Problem("MG031", "no mesh, sorry: 100%", Location("a,b:c.yaml", 3, 7), "try\nthis")
    assert github_annotation(problem) == \
        "::error file=a%2Cb%3Ac.yaml,line=3,col=7,title=MG031::no mesh, sorry: 100%25%0A" \
        "(hint: try\\nthis)"
    nowhere = Problem("MG094", "kustomize not found", Location("", 0, 0), "",
                      Severity.WARNING)
    assert github_annotation(nowhere) == "::warning title=MG094::kustomize not found"


def test_bad_input_in_every_format(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(BAD)
    out = str(tmp_path / "out")
    for command in (["build", str(fleet), "--out", out], ["validate", str(fleet)],
                    ["diff", str(fleet), "--out", out]):
        as_json = invoke(*command, "--format", "json")
        assert as_json.exit_code == 2
        assert json.loads(as_json.stdout) == [{
            "file": str(fleet), "line": 6, "column": 5, "severity": "error", "code": "MG010",
            "message": 'unknown field "ingres" in clusters.0', "hint": HINT}]
        assert as_json.stderr == ""
        github = invoke(*command, "--format", "github")
        assert github.exit_code == 2
        assert github.stdout == (
            f"::error file={escape_property(str(fleet))},line=6,col=5,title=MG010::unknown "
            f'field "ingres" in clusters.0%0A(hint: {HINT})\n')
        text = invoke(*command)  # the default stays as it was
        assert text.exit_code == 2 and text.stdout == ""
        assert text.stderr == (f'{fleet}:6:5: error[MG010]: unknown field "ingres" in '
                               f"clusters.0\n  hint: {HINT}\n1 error, 0 warnings\n")
    assert not Path(out).exists()


def test_json_lists_warnings_and_stays_parseable(tmp_path: Path,
                                                 write_fleet: FleetWriter) -> None:
    fleet = write_fleet(TWO_CLUSTERS + """\
meshes:
  - {name: a-mesh, cluster: east, rootCert: certs/a-mesh.pem}
  - {name: b-mesh, cluster: west, rootCert: certs/soon.pem}
federations:
  - {name: ab, meshes: [a-mesh, b-mesh]}
""", certs=("a-mesh",))
    cert, _ = make_certificate("soon root CA", days=10)
    (tmp_path / "certs" / "soon.pem").write_text(certificate_pem(cert))
    result = invoke("build", str(fleet), "--out", str(tmp_path / "out"), "--format", "json")
    assert result.exit_code == 0, result.output
    problems = json.loads(result.stdout)
    line = fleet.read_text().splitlines().index(
        "  - {name: b-mesh, cluster: west, rootCert: certs/soon.pem}") + 1
    assert [(p["severity"], p["code"], p["line"]) for p in problems] == [
        ("warning", "MG054", line)]
    assert "files for 2 clusters" in result.stderr  # the message for people


def test_more_errors_than_the_cap(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("apiVersion: meshgen.dev/v1alpha1\nkind: Fleet\nmetadata: {name: x}\n"
                     "clusters:\n" + "".join(f"  - name: Bad{i}\n" for i in range(60)))
    problems = json.loads(invoke("build", str(fleet), "--format", "json").stdout)
    assert len(problems) == 51
    assert problems[-1]["code"] == "MG099" and problems[-1]["message"].startswith("10 more")
    github = invoke("build", str(fleet), "--format", "github").stdout.splitlines()
    assert github[-1] == "::error title=MG099::10 more errors not shown (stopped after 50)"
    many = Problems()
    many.extend(Problem("MG020", f"bad {i}", Location("f", i + 1, 1)) for i in range(52))
    assert format_problems(many).splitlines()[-2:] == [
        "error[MG099]: 2 more errors not shown (stopped after 50)", "52 errors, 0 warnings"]


def test_build_check_reports_stale_files_as_annotations(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE_FLEET.parent, tmp_path / "fleet")
    shutil.copytree(EXAMPLE_OVERLAYS, tmp_path / "overlays")
    fleet, out = tmp_path / "fleet" / "fleet.yaml", tmp_path / "overlays"
    (out / "west" / "namespaces" / "mesh-bookinfo.yaml").unlink()
    peer = out / "east" / "namespaces" / "prod-mesh" / "servicemeshpeer-stage-mesh.yaml"
    peer.write_text(peer.read_text().replace("8188", "8189"))
    result = invoke("build", str(fleet), "--out", str(out), "--check", "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    fix = escape_data(f"run: meshgen build {fleet} --out {out}")
    assert f"::error file={escape_property(str(peer))},title=MG110::generated file is " \
           f"out of date: {peer}%0A(hint: {fix})" in lines
    assert any(x.startswith("::error file=") and "title=MG110::generated file is missing" in x
               for x in lines)
    assert lines[-1] == f"{out} is out of date; to fix it run: meshgen build {fleet} --out {out}"
    as_json = invoke("build", str(fleet), "--out", str(out), "--check", "--format", "json")
    assert as_json.exit_code == 1
    assert sorted(p["message"].split(":")[0] for p in json.loads(as_json.stdout)) == [
        "generated file is missing", "generated file is out of date"]


def test_validate_formats(tmp_path: Path) -> None:
    ok = invoke("validate", str(EXAMPLE_FLEET), "--format", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout) == []
    assert "ok: 3 overlays, 4 delivery kustomizations, 94 objects" in ok.stderr
    shutil.copytree(EXAMPLE_FLEET.parent, tmp_path / "fleet")
    fleet = tmp_path / "fleet" / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace(
        "    members: [prod-bookinfo]\n",
        "    members: [prod-bookinfo]\n    smcpSpec: {security: {dataplane: {mtls: true}}}\n"))
    bad = invoke("validate", str(fleet), "--crds", str(crds_dir()), "--format", "github")
    assert bad.exit_code == 1
    assert bad.stdout.splitlines() == [
        f"::error file={escape_property(str(fleet))},title=MG111::east: "
        "ServiceMeshControlPlane prod-mesh/prod-mesh: spec.security: Additional properties "
        "are not allowed ('dataplane' was unexpected)%0A(hint: fix the setting (such as "
        "smcpSpec) or the --templates override that produces this object)"]
    assert "1 problem in the built output" in bad.stderr
