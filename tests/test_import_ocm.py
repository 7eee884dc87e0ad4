"""meshgen import ocm: a fleet from the multicluster-mesh addon's hub objects.

tests/dumps/hub.yaml is shaped as the addon's controllers write their objects
(stolostron/multicluster-mesh-addon @72f8fbdb). The round trip is the proof: the fleet the
hub imports to, built and rendered by the real kustomize as the clusters would list it,
imports again (with those dumps) to the same fleet and a diff with no change.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from test_import import DUMPS, dump_synced, meshgen

from conftest import readme_example
from meshgen.ca import make_certificate

HUB = DUMPS / "hub.yaml"
DOMAINS = ("--domain", "east=apps.east.example.com", "--domain", "west=apps.west.example.com")


def imported(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return meshgen("import", "ocm", *args, cwd=cwd)


@pytest.fixture
def running(tmp_path: Path) -> Path:
    """east.yaml and west.yaml: what the clusters hold once the fleet the hub imports to
    synced (with roots made here for the two federated meshes)."""
    source = tmp_path / "source"
    source.mkdir()
    (tmp_path / "hub.yaml").write_text(HUB.read_text())
    first = imported(source, HUB, *DOMAINS, "--name", "ocm-fleet")
    assert first.returncode == 2 and "error[MG056]" in first.stderr  # no roots yet
    for mesh in ("east-ossm", "west-ossm"):
        cert, _ = make_certificate(f"{mesh} root CA")
        (source / "fleet" / "certs").mkdir(exist_ok=True)
        (source / "fleet" / "certs" / f"{mesh}.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    dump_synced(source / "fleet" / "fleet.yaml", tmp_path)
    return tmp_path


def test_round_trip_changes_nothing(running: Path) -> None:
    run = imported(running, HUB, "east=east.yaml", "west=west.yaml", *DOMAINS, "--name",
                   "ocm-fleet", "--format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["changes"] == [] and result["unchanged"] == 10, result
    assert result["discovered"] == ["west-istio-system-basic"]
    assert [p["code"] for p in result["problems"]] == ["MG190"]
    fleet = (running / "fleet" / "fleet.yaml").read_text()
    assert fleet == (running / "source" / "fleet" / "fleet.yaml").read_text()
    assert "meshTemplates:\n  - name: ossm\n    clusters:\n      - east\n      - west\n" in fleet
    assert "  - name: west-istio-system-basic  # discovered by the addon" in fleet
    assert "    controlPlaneName: basic\n    namespace: istio-system\n" in fleet
    for mesh in ("east-ossm", "west-ossm"):
        assert (running / "fleet" / "certs" / f"{mesh}.pem").read_bytes() == \
            (running / "source" / "fleet" / "certs" / f"{mesh}.pem").read_bytes()


def test_readme_example_is_what_import_prints(running: Path) -> None:
    """The README's example: the addon's agent gave east's peer the LoadBalancer hostname it
    read from the ingress Service status (pkg/agent/federation/federation-ossm.go); meshgen
    writes the gateway's name under the cluster's domain. Regenerate after a deliberate
    change with MESHGEN_UPDATE_README=1 python -m pytest tests/test_import_ocm.py -k readme."""
    east = (running / "east.yaml").read_text()
    address = "- east-ossm-ingress.mesh-system.apps.west.example.com\n"
    assert east.count(address) == 1
    (running / "east.yaml").write_text(east.replace(
        address, "- a3f9c1e2d4b5-1187423.us-east-1.elb.amazonaws.com\n"))
    run = imported(running, "hub.yaml", "east=east.yaml", "west=west.yaml", *DOMAINS,
                   "--name", "ocm-fleet")
    assert run.returncode == 0, run.stderr
    assert "warning[MG184]: ServiceMeshPeer mesh-system/west-ossm on east: address " \
        "a3f9c1e2d4b5-1187423.us-east-1.elb.amazonaws.com is not <gateway>.mesh-system." \
        "<domain>" in run.stderr
    readme_example("import-ocm-example", run.stdout)


@pytest.fixture
def hub(tmp_path: Path) -> str:
    (tmp_path / "hub.yaml").write_text(HUB.read_text())
    return HUB.read_text()


def test_without_domains_or_dumps_the_import_says_what_is_missing(tmp_path: Path,
                                                                  hub: str) -> None:
    run = imported(tmp_path, "hub.yaml")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "hub.yaml:11:3: warning[MG193]: cluster east: its federated meshes are reached" \
        in run.stderr and "hint: pass --domain east=DOMAIN" in run.stderr
    assert "error[MG032]" in run.stderr  # the build: a federated cluster without ingress


def test_complete_trust_and_istio_meshes_are_not_imported(tmp_path: Path, hub: str) -> None:
    """The addon's default trust is Complete (federation.go); Upstream Istio meshes run the
    IstioOperator, which meshgen does not write."""
    text = hub.replace("    trustConfig:\n      trustType: Limited\n", "")
    text = text.replace("    meshProvider: Openshift Service Mesh\n- apiVersion: mesh.open-"
                        "cluster-management.io/v1alpha1\n  kind: Mesh\n  metadata:\n    "
                        "creationTimestamp: \"2026-10-20",
                        "    meshProvider: Upstream Istio\n- apiVersion: mesh.open-"
                        "cluster-management.io/v1alpha1\n  kind: Mesh\n  metadata:\n    "
                        "creationTimestamp: \"2026-10-20", 1)
    assert text.count("Upstream Istio") == 1 and "trustType: Limited" not in text
    (tmp_path / "hub.yaml").write_text(text)
    run = imported(tmp_path, "hub.yaml", *DOMAINS)
    assert run.returncode == 0, run.stderr
    assert "hub.yaml:144:3: warning[MG189]: MeshFederation open-cluster-management/ossm-" \
        "federation on hub: trust Complete (the addon's default) is not imported" in run.stderr
    assert "warning[MG189]: Mesh west/west-ossm on hub: an Upstream Istio mesh is not " \
        "imported" in run.stderr
    fleet = (tmp_path / "fleet" / "fleet.yaml").read_text()
    assert "federations" not in fleet and "rootCert" not in fleet
    assert "clusters:\n      - east\n    template:" in fleet  # west's Mesh is left out


def test_a_mesh_a_federation_names_must_be_in_the_dump(tmp_path: Path, hub: str) -> None:
    lines = hub.splitlines(keepends=True)
    start = lines.index("- apiVersion: mesh.open-cluster-management.io/v1alpha1\n")
    end = lines.index("- apiVersion: mesh.open-cluster-management.io/v1alpha1\n", start + 1)
    assert "    name: east-ossm\n" in lines[start:end]
    (tmp_path / "hub.yaml").write_text("".join(lines[:start] + lines[end:]))
    run = imported(tmp_path, "hub.yaml", *DOMAINS)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "error[MG188]: MeshFederation open-cluster-management/ossm-federation: " \
        "meshPeers[0] names Mesh east/east-ossm, which is not in the hub dump" in run.stderr
    assert "warning[MG192]" in run.stderr  # the MeshDeployment's Mesh on east is gone too
    assert not (tmp_path / "fleet").exists()


def test_a_mesh_edited_after_its_deployment_is_a_mesh_of_its_own(tmp_path: Path,
                                                                 hub: str) -> None:
    text = hub.replace("    meshMemberRoll:\n    - bookinfo\n", "    meshMemberRoll:\n"
                       "    - bookinfo\n    - reviews\n", 1)
    (tmp_path / "hub.yaml").write_text(text)
    run = imported(tmp_path, "hub.yaml", *DOMAINS)
    assert "warning[MG192]: Mesh east/east-ossm on hub: differs from MeshDeployment ossm" \
        in run.stderr
    fleet = (tmp_path / "fleet" / "fleet.yaml").read_text()
    assert "  - name: east-ossm\n    cluster: east\n    namespace: mesh-system\n" in fleet
    assert "members:\n      - bookinfo\n      - reviews\n    rootCert: certs/east-ossm.pem" \
        in fleet


@pytest.mark.parametrize(("edit", "expected"), [
    (("kind: MeshFederation", "kind: MultiClusterMesh"), "hub.yaml:145:9: error[MG187]: "
     "MultiClusterMesh is not a kind this dump holds"),
    (("- apiVersion: mesh.open-cluster-management.io/v1alpha1\n  kind: MeshDeployment",
      "- apiVersion: mesh.open-cluster-management.io/v1beta1\n  kind: MeshDeployment"),
     "hub.yaml:111:15: error[MG181]: MeshDeployment of API version "
     "'mesh.open-cluster-management.io/v1beta1'"),
    (("  spec:\n    clusters:", "  spec: [\n    clusters:"), "error[MG180]: dump is not "
     "valid YAML or JSON"),
])
def test_garbled_hub_dumps_are_refused_where_they_are(tmp_path: Path, hub: str,
                                                      edit: tuple[str, str],
                                                      expected: str) -> None:
    assert hub.count(edit[0]) == 1
    (tmp_path / "hub.yaml").write_text(hub.replace(*edit))
    run = imported(tmp_path, "hub.yaml", *DOMAINS)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert expected in run.stderr
    assert not (tmp_path / "fleet").exists()


def test_json_hub_dump_and_no_overwrite_without_force(tmp_path: Path, hub: str) -> None:
    from ruamel.yaml import YAML

    (tmp_path / "hub.json").write_text(json.dumps(YAML(typ="safe").load(hub)))
    (tmp_path / "fleet").mkdir()
    (tmp_path / "fleet" / "fleet.yaml").write_text("# mine\n")
    run = imported(tmp_path, "hub.json", *DOMAINS)
    assert run.returncode == 2 and "error[MG185]" in run.stderr
    assert (tmp_path / "fleet" / "fleet.yaml").read_text() == "# mine\n"
    forced = imported(tmp_path, "hub.json", *DOMAINS, "--force")
    assert "name: west-istio-system-basic" in (tmp_path / "fleet" / "fleet.yaml").read_text()
    assert "Traceback" not in forced.stderr


def test_what_the_addon_itself_refuses_is_not_imported(tmp_path: Path, hub: str) -> None:
    """federation.go stops at an entry that is not two different meshes; no agent deploys
    a Mesh of another provider."""
    text = hub.replace("      - cluster: west\n        name: west-ossm\n    trustConfig:",
                       "      - cluster: east\n        name: east-ossm\n    trustConfig:")
    text = text.replace("      trustType: Limited\nkind: List",
                        "      trustType: Limited\n- apiVersion: mesh.open-"
                        "cluster-management.io/v1alpha1\n  kind: Mesh\n  metadata:\n"
                        "    name: east-other\n    namespace: east\n  spec:\n"
                        "    cluster: east\n    meshProvider: Linkerd\nkind: List")
    (tmp_path / "hub.yaml").write_text(text)
    run = imported(tmp_path, "hub.yaml", *DOMAINS)
    assert run.returncode == 0, run.stderr
    assert "warning[MG191]: MeshFederation open-cluster-management/ossm-federation on hub: " \
        "meshPeers[0] does not name two different meshes" in run.stderr
    assert "warning[MG191]: Mesh east/east-other on hub: meshProvider 'Linkerd'" in run.stderr
    assert "federations" not in (tmp_path / "fleet" / "fleet.yaml").read_text()


def test_peers_a_federation_does_not_give_are_reported(tmp_path: Path, hub: str) -> None:
    """The agent builds the gateways from the Mesh's peers (translate-ossm.go); discovery
    rebuilds a discovered Mesh without them. Both ways a mismatch is told, not guessed."""
    text = hub.replace("      peers:\n      - cluster: east\n        name: east-ossm\n", "")
    text = text.replace("      namespace: istio-system\n", "      namespace: istio-system\n"
                        "      peers:\n      - cluster: east\n        name: east-ossm\n")
    (tmp_path / "hub.yaml").write_text(text)
    run = imported(tmp_path, "hub.yaml", *DOMAINS)
    assert "hub.yaml:45:3: warning[MG194]: Mesh west/west-ossm on hub: does not list peer " \
        "east-ossm yet" in run.stderr
    assert "hub.yaml:76:3: warning[MG194]: Mesh west/west-istio-system-basic on hub: peer " \
        "east-ossm comes from no Limited MeshFederation" in run.stderr
    assert "federations:\n  - name: ossm-federation\n" in \
        (tmp_path / "fleet" / "fleet.yaml").read_text()


def test_a_domain_for_a_cluster_without_meshes_is_reported(tmp_path: Path, hub: str) -> None:
    run = imported(tmp_path, "hub.yaml", *DOMAINS, "--domain", "north=apps.north.example.com")
    assert "hub.yaml: warning[MG193]: --domain for north: no mesh of the hub runs there" \
        in run.stderr
    assert "north" not in (tmp_path / "fleet" / "fleet.yaml").read_text()


def test_a_trust_domain_edited_in_a_deployed_mesh_is_kept(tmp_path: Path, hub: str) -> None:
    (tmp_path / "hub.yaml").write_text(hub.replace("trustDomain: east-ossm.local",
                                                   "trustDomain: east.example.com"))
    run = imported(tmp_path, "hub.yaml", *DOMAINS)
    assert "warning[MG192]: Mesh east/east-ossm on hub: differs from MeshDeployment ossm" \
        in run.stderr
    assert "    trustDomain: east.example.com\n" in \
        (tmp_path / "fleet" / "fleet.yaml").read_text()
