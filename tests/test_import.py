"""meshgen import ossm: a fleet back from the clusters' objects.

The round trip is the proof: meshgen's own output for tests/dumps/fleet.yaml, rendered by
the real kustomize per cluster as `oc get … -o yaml` would list it, imports to a fleet
whose build differs from those objects in nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from ruamel.yaml import YAML

from conftest import REPO, readme_example
from meshgen.ca import make_certificate

DUMPS = Path(__file__).resolve().parent / "dumps"


def meshgen(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshgen", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


SUBMARINER = ("    ingress: {type: LoadBalancer, domain: apps.east.example.com}\n",
              "    ingress: {type: LoadBalancer, domain: apps.east.example.com,"
              " clusterset: true}\n",
              "    ingress: {type: LoadBalancer, domain: apps.west.example.com}\n",
              "    ingress: {type: Submariner}\n")


@pytest.fixture(params=["load-balancers", "submariner"])
def running(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """east.yaml and west.yaml: what the clusters hold once tests/dumps/fleet.yaml synced
    (with west behind Submariner, east in its clusterset, in the second variant)."""
    source = tmp_path / "source"
    (source / "certs").mkdir(parents=True)
    text = (DUMPS / "fleet.yaml").read_text()
    if request.param == "submariner":
        east, east_set, west, west_set = SUBMARINER
        assert text.count(east) == 1 and text.count(west) == 1
        text = text.replace(east, east_set).replace(west, west_set)
    (source / "fleet.yaml").write_text(text)
    for mesh in ("red-mesh", "green-mesh"):
        cert, _ = make_certificate(f"{mesh} root CA")
        (source / "certs" / f"{mesh}.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    dump_synced(source / "fleet.yaml", tmp_path)
    return tmp_path


def dump_synced(fleet: Path, into: Path) -> None:
    """<cluster>.yaml in into, for east and west: the objects fleet builds to, rendered by
    kustomize as `oc get … -o yaml` would list them once synced."""
    overlays = fleet.parent / "overlays"
    built = meshgen("build", fleet, "--out", overlays)
    assert built.returncode == 0, built.stderr
    for cluster in ("east", "west"):
        rendered = subprocess.run(["kubectl", "kustomize", str(overlays / cluster)],
                                  capture_output=True, text=True, check=True)
        (into / f"{cluster}.yaml").write_text(rendered.stdout)


def test_round_trip_changes_nothing(running: Path) -> None:
    run = meshgen("import", "ossm", "east=east.yaml", "west=west.yaml", "--name",
                  "status-fleet", "--out", "fleet/fleet.yaml", "--format", "json", cwd=running)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["problems"] == []
    assert result["changes"] == [] and result["unchanged"] == 10, result
    roots = sorted(p.name for p in (running / "fleet" / "certs").iterdir())
    assert roots == ["green-mesh.pem", "red-mesh.pem"]
    original = (running / "source" / "certs" / "red-mesh.pem").read_bytes()
    assert (running / "fleet" / "certs" / "red-mesh.pem").read_bytes() == original


def test_never_overwrites_without_force(running: Path) -> None:
    args = ("import", "ossm", "east=east.yaml", "west=west.yaml", "--out", "fleet/fleet.yaml")
    assert meshgen(*args, cwd=running).returncode == 0
    fleet = running / "fleet" / "fleet.yaml"
    fleet.write_text("# mine\n")
    again = meshgen(*args, cwd=running)
    assert again.returncode == 2 and "error[MG185]" in again.stderr
    assert fleet.read_text() == "# mine\n" and "Traceback" not in again.stderr
    forced = meshgen(*args, "--force", cwd=running)
    assert forced.returncode == 0 and fleet.read_text().count("name: red-mesh") == 1


def test_a_peer_without_its_mirror_is_reported_where_it_is(running: Path) -> None:
    west = (running / "west.yaml").read_text().split("\n---\n")
    (running / "west.yaml").write_text("\n---\n".join(
        doc for doc in west if "kind: ServiceMeshPeer" not in doc))
    run = meshgen("import", "ossm", "east=east.yaml", "west=west.yaml", "--out",
                  "fleet/fleet.yaml", cwd=running)
    assert run.returncode == 0, run.stderr
    assert "east.yaml:" in run.stderr and "warning[MG184]" in run.stderr
    assert "green-mesh has no ServiceMeshPeer back to red-mesh" in run.stderr
    assert "federations" not in (running / "fleet" / "fleet.yaml").read_text()


def test_upstream_shaped_dumps(tmp_path: Path) -> None:
    """The status dumps: blue-mesh is in no dump, the root ConfigMap holds no certificate."""
    run = meshgen("import", "ossm", f"east={DUMPS / 'east.yaml'}",
                  f"west={DUMPS / 'west.json'}", "--out", "fleet/fleet.yaml", cwd=tmp_path)
    assert "Traceback" not in run.stderr
    assert "ServiceMeshPeer red-mesh/blue-mesh on east: no mesh in the dumps has namespace " \
        "blue-mesh" in run.stderr
    assert "ConfigMap red-mesh/green-mesh-ca-root-cert on east: root-cert.pem is no usable " \
        "root" in run.stderr
    fleet = (tmp_path / "fleet" / "fleet.yaml").read_text()
    assert "name: green-mesh-red-mesh" in fleet and "rootCert" not in fleet
    assert not (tmp_path / "fleet" / "certs").exists()


@pytest.mark.parametrize("running", ["load-balancers"], indirect=True)
def test_readme_example_is_what_import_prints(running: Path) -> None:
    """The README's adoption example: the round trip, with a setting added to red-mesh's
    SMCP by hand (meshgen does not generate it: it goes to smcpSpec) and a peer's discovery
    port changed by hand (meshgen generates it: the diff shows it). Regenerate after a
    deliberate change with MESHGEN_UPDATE_README=1 python -m pytest tests/test_import.py -k
    readme."""
    yaml = YAML(typ="safe")
    objects = list(yaml.load_all((running / "east.yaml").read_text()))
    smcp = next(o for o in objects if o["kind"] == "ServiceMeshControlPlane")
    smcp["spec"]["tracing"] = {"type": "None"}
    peer = next(o for o in objects if o["kind"] == "ServiceMeshPeer")
    peer["spec"]["remote"]["discoveryPort"] = 8189
    writer = YAML()
    writer.explicit_start = True
    with (running / "east.yaml").open("w") as handle:
        writer.dump_all(objects, handle)
    run = meshgen("import", "ossm", "east=east.yaml", "west=west.yaml", "--name",
                  "status-fleet", cwd=running)
    assert run.returncode == 0, run.stderr
    fleet = (running / "fleet" / "fleet.yaml").read_text()
    assert "    smcpSpec:\n      tracing:\n        type: None\n" in fleet
    printed = run.stdout
    readme_example("import-example", printed)


def test_a_hostile_name_writes_nothing_outside(tmp_path: Path) -> None:
    """A peer name from a dump is a file name under certs/: a path in it is never used."""
    east = (DUMPS / "east.yaml").read_text().replace("name: green-mesh\n    namespace: red-mesh",
                                                      "name: ../../evil\n    namespace: red-mesh")
    cert, _ = make_certificate("green-mesh root CA")
    pem = cert.public_bytes(Encoding.PEM).decode().rstrip().replace("\n", "\n      ") + "\n"
    elided = ("-----BEGIN CERTIFICATE-----\n      (elided: configmaps are skipped by meshgen "
              "status)\n      -----END CERTIFICATE-----\n")
    assert east.count(elided) == 1
    (tmp_path / "east.yaml").write_text(east.replace(elided, pem))
    run = meshgen("import", "ossm", "east=east.yaml", f"west={DUMPS / 'west.json'}", "--out",
                  "out/fleet/fleet.yaml", cwd=tmp_path)
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["east.yaml",
                                                                          "fleet.yaml"]


PLUGIN = "    ca: {type: plugin, secret: {none: {}}}\n"


@pytest.mark.parametrize("trust", ["limited", "shared"])
def test_plugged_in_cas_and_shared_trust_round_trip(tmp_path: Path, trust: str) -> None:
    """SMCP security.certificateAuthority Istiod/PrivateKey imports as a plugin CA whose
    `cacerts` arrives out of band; two plugged-in meshes with one root as shared trust."""
    source = tmp_path / "source"
    (source / "certs").mkdir(parents=True)
    text = (DUMPS / "fleet.yaml").read_text()
    red, green = "    rootCert: certs/red-mesh.pem\n", "    rootCert: certs/green-mesh.pem\n"
    if trust == "limited":  # only red-mesh is plugged in
        text = text.replace(red, red + PLUGIN)
        roots = {"red-mesh": "red-mesh", "green-mesh": "green-mesh"}
    else:
        text = text.replace(red, PLUGIN).replace(green, PLUGIN).replace(
            "    meshes: [red-mesh, green-mesh]\n", "    meshes: [red-mesh, green-mesh]\n"
            "    trust: {type: shared, rootCert: certs/shared.pem}\n")
        roots = {"shared": "green-mesh-red-mesh"}
    (source / "fleet.yaml").write_text(text)
    for name in roots:
        cert, _ = make_certificate(f"{name} root CA")
        (source / "certs" / f"{name}.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    dump_synced(source / "fleet.yaml", tmp_path)
    run = meshgen("import", "ossm", "east=east.yaml", "west=west.yaml", "--out",
                  "fleet/fleet.yaml", "--name", "status-fleet", "--format", "json",
                  cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["problems"] == [] and result["changes"] == [], result
    fleet = (tmp_path / "fleet" / "fleet.yaml").read_text()
    assert "smcpSpec" not in fleet
    assert fleet.count("    ca:\n      type: plugin\n      secret:\n        none: {}\n") == \
        (1 if trust == "limited" else 2)
    if trust == "shared":
        assert "    trust:\n      type: shared\n      rootCert: certs/green-mesh-red-mesh.pem\n" \
            in fleet and "rootCert: certs/red-mesh.pem" not in fleet
    for name, imported in roots.items():
        assert (tmp_path / "fleet" / "certs" / f"{imported}.pem").read_bytes() == \
            (source / "certs" / f"{name}.pem").read_bytes()
    assert sorted(p.stem for p in (tmp_path / "fleet" / "certs").iterdir()) == \
        sorted(roots.values())


@pytest.mark.parametrize("running", ["load-balancers"], indirect=True)
def test_a_ca_meshgen_does_not_write_is_kept_and_reported(running: Path) -> None:
    east = (running / "east.yaml").read_text()
    domain = "    trust:\n      domain: red-mesh.local\n"
    assert east.count(domain) == 1
    (running / "east.yaml").write_text(east.replace(
        domain, "    certificateAuthority:\n      type: Custom\n      custom:\n"
        "        address: vault-ca.vault.svc:8200\n" + domain))
    run = meshgen("import", "ossm", "east=east.yaml", "west=west.yaml", "--out",
                  "fleet/fleet.yaml", "--name", "status-fleet", cwd=running)
    assert run.returncode == 0, run.stderr
    assert "warning[MG184]: ServiceMeshControlPlane red-mesh/red-mesh on east: certificate " \
        "authority Custom is no CA meshgen writes; kept in smcpSpec as it is" in run.stderr
    assert "    smcpSpec:\n      security:\n        certificateAuthority:\n          type: " \
        "Custom\n" in (running / "fleet" / "fleet.yaml").read_text()
    assert "no changes" in run.stdout
