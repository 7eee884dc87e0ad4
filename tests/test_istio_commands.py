"""`meshgen explain` and `graph` for istio meshes; istio builds byte-identical across hash
seeds."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pydot
import pytest
import yaml

from conftest import FleetWriter

TOPOLOGIES = Path(__file__).resolve().parent / "istio"


def _meshgen(*args: str, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, "-m", "meshgen", *args], capture_output=True,
                          text=True, env=env, check=False, timeout=60)


def test_explain_prints_the_remote_secret_command_without_discovery(
        write_fleet: FleetWriter) -> None:
    source = (TOPOLOGIES / "primary-remote-submariner" / "fleet.yaml").read_text()
    source = source.replace(
        '    discovery:\n      externalSecret: {store: vault, storeKind: ClusterSecretStore, '
        'path: "istio/{mesh}/{cluster}"}\n', "    discovery: {none: {}}\n")
    fleet = write_fleet(source)
    result = _meshgen("explain", "central", str(fleet))
    assert result.returncode == 0, result.stderr
    for remote in ("mcsdemo1", "mcsdemo2"):
        assert (f"istioctl create-remote-secret --context={remote} --name={remote} "
                "--create-service-account=false | oc apply --context=hub -n istio-system -f -"
                ) in result.stdout
    data = json.loads(_meshgen("explain", "central", str(fleet), "--format", "json").stdout)
    assert data["clusters"]["mcsdemo1"]["istiod"]["value"] == "hub at 172.30.200.12"
    assert data["clusters"]["hub"]["remote secrets"][0]["service"] == "mcsdemo1"


def test_explain_shows_where_a_remote_reaches_istiod() -> None:
    fleet = TOPOLOGIES / "primary-remote-multi-network" / "fleet.yaml"
    result = _meshgen("explain", "prod", str(fleet))
    assert result.returncode == 0, result.stderr
    assert "east at istio-eastwestgateway.istio-system.apps.east.example.com" in result.stdout
    assert "edge -> ExternalSecret istio-remote-secret-edge, key istio/prod/edge" in result.stdout


def test_istio_build_is_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    fleet = TOPOLOGIES / "multi-primary-multi-network" / "fleet.yaml"
    trees = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        result = _meshgen("build", str(fleet), "--out", str(out), seed=seed)
        assert result.returncode == 0, result.stderr
        trees.append({p.relative_to(out).as_posix(): p.read_bytes()
                      for p in sorted(out.rglob("*")) if p.is_file()})
    assert trees[0] == trees[1]


def test_graph_draws_a_mesh_spanning_clusters() -> None:
    fleet = TOPOLOGIES / "primary-remote-submariner" / "fleet.yaml"
    result = _meshgen("graph", str(fleet))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert '    istio_central_hub["central<br/>istio primary<br/>network clusterset"]' in lines
    assert ('  istio_central_mcsdemo1 -.-|"central: istiod at 172.30.200.12"| '
            "istio_central_hub") in lines


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pydot's use of pyparsing
def test_graph_dot_of_two_control_planes_parses() -> None:
    fleet = TOPOLOGIES / "two-control-planes" / "fleet.yaml"
    result = _meshgen("graph", str(fleet), "--format", "dot")
    assert result.returncode == 0, result.stderr
    graphs = pydot.graph_from_dot_data(result.stdout)
    assert graphs is not None and len(graphs) == 1
    east = graphs[0].get_subgraph('"cluster_east"')[0]
    assert {n.get_name() for n in east.get_nodes()} == {
        '"legacy"', '"istio_prod_east"', '"istio_stage_east"'}
    assert len(graphs[0].get_edges()) == 1


def test_init_example_istio_mesh_builds_once_uncommented(tmp_path: Path) -> None:
    repo = tmp_path / "fleet-repo"
    assert _meshgen("init", str(repo)).returncode == 0
    fleet = repo / "fleet" / "fleet.yaml"
    text = fleet.read_text()
    start = text.index("  # - name: mesh3")
    block = text[start:text.index("\n\n", start)]
    fleet.write_text(text.replace(block, "\n".join(
        line.replace("  # ", "  ", 1) for line in block.splitlines())))
    result = _meshgen("build", str(fleet), "--out", str(repo / "overlays"))
    assert result.returncode == 0, result.stderr
    assert (repo / "overlays" / "east" / "cluster" / "istio-default.yaml").is_file()


def test_ca_init_makes_one_root_and_an_intermediate_per_primary(tmp_path: Path) -> None:
    from cryptography import x509

    from meshgen.certs import signed_by

    source = (TOPOLOGIES / "multi-primary" / "fleet.yaml").read_text()
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(source.replace(
        '        externalSecret: {store: vault, storeKind: ClusterSecretStore, '
        'path: "pki/{mesh}/{cluster}"}', "        none: {}"))
    ca_dir = tmp_path / "ca"
    result = _meshgen("ca", "init", str(fleet), "--dir", str(ca_dir), "--out",
                      str(tmp_path / "out"), "--key-type", "ec-p256")
    assert result.returncode == 0, result.stderr
    root = x509.load_pem_x509_certificate(
        (ca_dir / "roots" / "mesh-prod" / "root-cert.pem").read_bytes())
    secrets = {}
    for cluster in ("east", "west"):
        printed = _meshgen("ca", "secret", "prod", str(fleet), "--dir", str(ca_dir),
                           "--cluster", cluster)
        assert printed.returncode == 0, printed.stderr
        data = yaml.safe_load(printed.stdout)["data"]
        cert = x509.load_pem_x509_certificate(base64.b64decode(data["ca-cert.pem"]))
        assert signed_by(cert, root)
        assert f"prod {cluster} intermediate CA" in cert.subject.rfc4514_string()
        secrets[cluster] = cert
    assert secrets["east"].public_key() != secrets["west"].public_key()
    missing = _meshgen("ca", "secret", "prod", str(fleet), "--dir", str(ca_dir))
    assert missing.returncode == 2
    assert "error[MG124]" in missing.stderr and "--cluster east | west" in missing.stderr


def test_explain_shows_the_migration_state() -> None:
    result = _meshgen("explain", "next", str(TOPOLOGIES / "migration" / "fleet.yaml"))
    assert result.returncode == 0, result.stderr
    assert "moving (ignored by 2.6): bookinfo; still on 2.6, discovered: ratings, " \
        "reviews" in result.stdout
    assert "istiod loads the root of legacy" in result.stdout
