"""meshgen status against dumps shaped as istiod and the operator write them (tests/dumps).

east.yaml (`oc get … -o yaml`, a List): red-mesh's peer green-mesh is partially connected
(one istiod pod watching, one inactive after a 503), its import set shows an exported
service no rule matches, and a ServiceMeshPeer blue-mesh the fleet does not declare.
west.json (`-o json`): green-mesh's peer red-mesh never connected (x509 error).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from ruamel.yaml import YAML

from conftest import REPO, readme_example
from meshgen.ca import make_certificate

DUMPS = Path(__file__).resolve().parent / "dumps"


def meshgen(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshgen", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=60)


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """tests/dumps/fleet.yaml beside real roots for its two meshes."""
    shutil.copy(DUMPS / "fleet.yaml", tmp_path / "fleet.yaml")
    (tmp_path / "certs").mkdir()
    for mesh in ("red-mesh", "green-mesh"):
        cert, _ = make_certificate(f"{mesh} root CA")
        (tmp_path / "certs" / f"{mesh}.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    return tmp_path / "fleet.yaml"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((DUMPS / name).read_text())
    return data


def directions(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{d['local']}->{d['peer']}": d for d in result["federations"]}


def test_text_report_per_direction(fleet: Path) -> None:
    run = meshgen("status", fleet, f"east={DUMPS / 'east.yaml'}", f"west={DUMPS / 'west.json'}")
    assert run.returncode == 1, run.stderr
    out = run.stdout
    assert "red-mesh -> green-mesh (east, federation red-green, line 25): partially connected " \
        "since 2026-11-30T08:15:42Z, pods: 1/2 active" in out
    assert "last error: 503 Service Unavailable" in out
    assert "green-mesh -> red-mesh (west, federation red-green, line 25): never connected" in out
    assert "last error: x509: certificate signed by unknown authority" in out
    assert "exported by green-mesh, not imported: reviews.bookinfo.svc.red-mesh-exports.local" \
        in out
    assert "import bookinfo/ratings (line 42): ratings.red-bookinfo.svc.green-mesh-imports.local" \
        in out
    assert "unmanaged: east ServiceMeshPeer red-mesh/blue-mesh" in out
    assert "mesh red-mesh (east, line 15): control plane Ready, member roll Ready" in out
    assert run.stderr == ""


def test_json_report(fleet: Path) -> None:
    run = meshgen("status", fleet, f"east={DUMPS / 'east.yaml'}", f"west={DUMPS / 'west.json'}",
                  "--format", "json")
    assert run.returncode == 1, run.stderr
    result = json.loads(run.stdout)
    assert result["healthy"] is False and result["problems"] == []
    pairs = directions(result)
    red = pairs["red-mesh->green-mesh"]
    assert red["state"] == "partially connected"
    assert red["pods"] == {"istiod-red-mesh-6d8f9c7b5-k2x4p": "active",
                           "istiod-red-mesh-6d8f9c7b5-q9w7z": "inactive"}
    assert red["not_imported"] == ["reviews.bookinfo.svc.red-mesh-exports.local"]
    green = pairs["green-mesh->red-mesh"]
    assert green["state"] == "never connected" and green["since"] is None
    assert [s["seen"] for s in green["exports"]] == [
        "ratings.bookinfo.svc.red-mesh-exports.local",
        "reviews.bookinfo.svc.red-mesh-exports.local"]
    assert [(u["kind"], u["name"]) for u in result["unmanaged"]] == [
        ("ServiceMeshPeer", "blue-mesh")]


def healthy_dumps(tmp_path: Path) -> tuple[Path, Path]:
    """The dumps once both istiod watches connect and blue-mesh is gone."""
    east, west = load("east.yaml"), load("west.json")
    east["items"] = [o for o in east["items"] if o["metadata"]["name"] != "blue-mesh"]
    peer = next(o for o in east["items"] if o["kind"] == "ServiceMeshPeer")
    stale = peer["status"]["discoveryStatus"].pop("inactive")[0]
    stale["watch"] = {**stale["watch"], "connected": True}
    peer["status"]["discoveryStatus"]["active"].append(stale)
    peer = next(o for o in west["items"] if o["kind"] == "ServiceMeshPeer")
    entry = peer["status"]["discoveryStatus"].pop("inactive")[0]
    entry["watch"] = {"connected": True, "lastConnected": "2026-12-01T08:10:02Z"}
    peer["status"]["discoveryStatus"]["active"] = [entry]
    (tmp_path / "east.json").write_text(json.dumps(east))
    (tmp_path / "west.json").write_text(json.dumps(west))
    return tmp_path / "east.json", tmp_path / "west.json"


def test_healthy_exits_0(fleet: Path, tmp_path: Path) -> None:
    east, west = healthy_dumps(tmp_path)
    run = meshgen("status", fleet, f"east={east}", f"west={west}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "green-mesh -> red-mesh (west, federation red-green, line 25): connected since " \
        "2026-12-01T08:10:02Z" in run.stdout
    assert run.stdout.endswith("healthy\n") and "unmanaged" not in run.stdout


def test_stream_of_documents_reads_like_the_list(fleet: Path, tmp_path: Path) -> None:
    stream = tmp_path / "east-stream.yaml"
    yaml = YAML()
    yaml.explicit_start = True
    with stream.open("w") as handle:
        yaml.dump_all(copy.deepcopy(load("east.yaml")["items"]), handle)
    args = ("status", fleet, f"west={DUMPS / 'west.json'}", "--format", "json")
    listed = json.loads(meshgen(*args, f"east={DUMPS / 'east.yaml'}").stdout)
    streamed = json.loads(meshgen(*args, f"east={stream}").stdout)
    for result in (listed, streamed):
        for item in result["unmanaged"]:
            item.pop("location")
    assert streamed == listed


def test_github_annotations_at_the_federation_line(fleet: Path) -> None:
    run = meshgen("status", fleet, f"east={DUMPS / 'east.yaml'}", f"west={DUMPS / 'west.json'}",
                  "--format", "github")
    assert run.returncode == 1
    annotations = [line for line in run.stdout.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 2
    assert all(",line=25,col=1,title=MG183::" in a for a in annotations)


@pytest.mark.parametrize(("text", "code", "line"), [
    ("apiVersion: v1\nkind: List\nitems:\n- kind: [\n", "MG180", 5),
    ("apiVersion: v1\nkind: List\nitems:\n- &a {kind: ServiceMeshPeer}\n- *a\n", "MG180", 4),
    ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: federation.maistra.io/v2\n"
     "  kind: ServiceMeshPeer\n  metadata: {name: x, namespace: y}\n", "MG181", 4),
    ("---\napiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: x}\n",
     "MG181", 2),
    ("---\n- just\n- a list\n", "MG181", 2),
])
def test_bad_dumps_are_located(fleet: Path, tmp_path: Path, text: str, code: str,
                               line: int) -> None:
    dump = tmp_path / "bad.yaml"
    dump.write_text(text)
    run = meshgen("status", fleet, f"east={dump}", f"west={DUMPS / 'west.json'}")
    assert run.returncode == 2
    assert f"{dump}:{line}:" in run.stderr and f"error[{code}]" in run.stderr
    assert "Traceback" not in run.stderr and "hint:" in run.stderr


def test_unreadable_dump_and_unknown_cluster(fleet: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    run = meshgen("status", fleet, f"east={missing}", f"west={DUMPS / 'west.json'}")
    assert run.returncode == 2 and f"{missing}:1:1: error[MG180]" in run.stderr
    run = meshgen("status", fleet, f"north={DUMPS / 'west.json'}", "--format", "json")
    assert run.returncode == 2
    [problem] = json.loads(run.stdout)
    assert problem["code"] == "MG182" and problem["line"] > 0
    assert "Traceback" not in run.stderr


def test_readme_example_is_what_status_prints(fleet: Path) -> None:
    """The README's "Is my federation up?" block; regenerate after a deliberate change
    with MESHGEN_UPDATE_README=1 python -m pytest tests/test_status.py -k readme."""
    here = fleet.parent
    shutil.copy(DUMPS / "east.yaml", here / "east.yaml")
    shutil.copy(DUMPS / "west.json", here / "west.json")
    printed = meshgen("status", "fleet.yaml", "east=east.yaml", "west=west.json",
                      cwd=here).stdout
    readme_example("status-example", printed)


ISTIOD_POD = """\
apiVersion: v1
kind: Pod
metadata:
  labels:
    app: istiod
    istio.io/rev: red-mesh
    pod-template-hash: 6d8f9c7b5
  name: istiod-red-mesh-6d8f9c7b5-k2x4p
  namespace: red-mesh
spec:
  containers:
  - name: discovery
    image: registry.redhat.io/openshift-service-mesh/pilot-rhel8:2.6.4
status:
  phase: Running
"""


def test_entries_of_istiod_pods_gone_are_stale(fleet: Path, tmp_path: Path) -> None:
    """With `oc get pods -l app=istiod` in the dump, the inactive entry of a pod that no
    longer runs is stale (only the leader prunes it), not a peer istiod cannot reach."""
    stream = tmp_path / "east-with-pods.yaml"
    stream.write_text((DUMPS / "east.yaml").read_text() + "---\n" + ISTIOD_POD)
    run = meshgen("status", fleet, f"east={stream}", f"west={DUMPS / 'west.json'}",
                  "--format", "json")
    red = directions(json.loads(run.stdout))["red-mesh->green-mesh"]
    assert red["state"] == "connected" and red["problems"] == []
    assert red["stale"] == ["istiod-red-mesh-6d8f9c7b5-q9w7z"]
    assert red["last_error"] is None


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://127.0.0.1:1"}
  name: east
contexts:
- context: {cluster: east, user: nobody}
  name: east
users:
- name: nobody
  user: {token: not-a-token}
"""


@pytest.mark.skipif(shutil.which("oc") is None and shutil.which("kubectl") is None,
                    reason="needs oc or kubectl")
def test_kubeconfig_failures_are_located_at_the_cluster(fleet: Path, tmp_path: Path) -> None:
    """The real client against a context whose server refuses, and a context that is not
    in the kubeconfig: both reported at the cluster's fleet.yaml line, exit 2."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    run = meshgen("status", fleet, "--kubeconfig", kubeconfig, "--format", "json")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    problems = json.loads(run.stdout)
    assert [(p["code"], p["line"]) for p in problems] == [("MG186", 9), ("MG186", 11)]
    assert "context east failed" in problems[0]["message"]
    assert "context west failed" in problems[1]["message"]
    # a dump given for a cluster is read instead of asking its context
    run = meshgen("status", fleet, f"west={DUMPS / 'west.json'}", "--kubeconfig", kubeconfig)
    assert run.returncode == 2 and run.stderr.count("error[MG186]") == 1


def _garbled(value: Any, filler: Any) -> Any:
    """Every value below the objects' spec and status replaced by filler, keys kept."""
    if isinstance(value, dict):
        return {k: _garbled(v, filler) for k, v in value.items()}
    if isinstance(value, list):
        return [_garbled(v, filler) for v in value]
    return filler


@pytest.mark.parametrize("filler", [7, "x", None, [1], {"a": 1}])
def test_status_and_import_of_strange_shapes_never_crash(fleet: Path, tmp_path: Path,
                                                          filler: Any) -> None:
    """Fields of other shapes than the upstream types (a hand-edited dump, a future
    version under the same apiVersion) are not read; they never crash either command."""
    east = load("east.yaml")
    for item in east["items"]:
        for part in ("spec", "status"):
            if part in item:
                item[part] = _garbled(item[part], filler)
    strange = tmp_path / "east.json"
    strange.write_text(json.dumps(east))
    run = meshgen("status", fleet, f"east={strange}", f"west={DUMPS / 'west.json'}")
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    run = meshgen("import", "ossm", f"east={strange}", f"west={DUMPS / 'west.json'}",
                  "--out", tmp_path / "imported" / "fleet.yaml")
    assert run.returncode in (0, 2) and "Traceback" not in run.stderr, run.stderr


CLIENT = """\
#!{python}
# a stand-in for {name}: logs its arguments, answers with the dump of the context asked for
import json, pathlib, sys
here = pathlib.Path(__file__).parent
with (here / "calls.jsonl").open("a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
context = sys.argv[sys.argv.index("--context") + 1]
sys.stdout.write((here / f"{{context}}.json").read_text())
"""


@pytest.mark.parametrize("client", ["oc", "kubectl"])
def test_kubeconfig_reads_each_cluster_through_its_context(fleet: Path, tmp_path: Path,
                                                           client: str) -> None:
    """With --kubeconfig, meshgen runs oc (else kubectl) once per cluster, asks the context
    named like it for the dump kinds as JSON, and reports as from the same dumps by hand."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / client
    stand_in.write_text(CLIENT.format(python=sys.executable, name=client))
    stand_in.chmod(0o755)
    (bin_dir / "east.json").write_text(json.dumps(load("east.yaml")))
    shutil.copy(DUMPS / "west.json", bin_dir / "west.json")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    path = f"{bin_dir}:{os.environ['PATH']}"
    assert shutil.which("oc", path=path) == (str(stand_in) if client == "oc" else None)
    run = subprocess.run([sys.executable, "-m", "meshgen", "status", str(fleet),
                          "--kubeconfig", str(kubeconfig)], capture_output=True, text=True,
                         cwd=REPO, timeout=60, env={**os.environ, "PATH": path})
    by_hand = meshgen("status", fleet, f"east={DUMPS / 'east.yaml'}",
                      f"west={DUMPS / 'west.json'}")
    assert run.returncode == by_hand.returncode == 1, run.stderr
    assert "unmanaged: east ServiceMeshPeer red-mesh/blue-mesh (east (--context east):" \
        in run.stdout
    unmanaged = "unmanaged: "
    assert [line for line in run.stdout.splitlines() if not line.startswith(unmanaged)] == \
        [line for line in by_hand.stdout.splitlines() if not line.startswith(unmanaged)]
    calls = [json.loads(line) for line in (bin_dir / "calls.jsonl").read_text().splitlines()]
    assert calls == [["--kubeconfig", str(kubeconfig), "--context", cluster, "get",
                      "smcp,smmr,servicemeshpeers,exportedservicesets,importedservicesets",
                      "-A", "-o", "json", "--request-timeout=60s"]
                     for cluster in ("east", "west")]
