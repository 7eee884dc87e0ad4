"""meshgen graph and meshgen explain read the plan of a real fleet."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pydot
import pytest
from click.testing import CliRunner, Result

from conftest import EXAMPLE_FLEET, REPO, TWO_CLUSTERS, FleetWriter
from meshgen.backends.ossm2.graph import edges
from meshgen.build import plan_fleet
from meshgen.cli import main

README = REPO / "README.md"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def fleet_line(text: str) -> int:
    """The line of the bundled fleet that holds text (it must be there once)."""
    lines = EXAMPLE_FLEET.read_text().splitlines()
    found = [i for i, line in enumerate(lines, 1) if line == text] or \
        [i for i, line in enumerate(lines, 1) if text in line]
    assert len(found) == 1, (text, found)
    return found[0]


# --- graph -------------------------------------------------------------------------------------


def test_one_edge_per_federated_pair() -> None:
    plan = plan_fleet(EXAMPLE_FLEET)
    assert len(plan.peerings) == 8  # directed: two per pair
    assert [(e.a, e.b) for e in edges(plan)] == [
        ("central-mesh", "east-mesh"), ("central-mesh", "west-mesh"),
        ("east-mesh", "west-mesh"), ("prod-mesh", "stage-mesh")]
    labels = {(e.a, e.b): e.lines for e in edges(plan)}
    assert labels[("prod-mesh", "stage-mesh")] == (
        "stage-to-prod",
        "stage-mesh → prod-mesh: export stage-bookinfo/details; import stage-bookinfo/details")
    assert labels[("east-mesh", "west-mesh")][1].endswith("import bookinfo/ratings as local")
    assert labels[("central-mesh", "west-mesh")][1] == (
        "west-mesh → central-mesh: export bookinfo/* (app=reviews); import bookinfo/*")


def test_mermaid_groups_meshes_by_cluster() -> None:
    result = invoke("graph", str(EXAMPLE_FLEET))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    assert lines.count("  end") == 3
    east = lines.index('  subgraph cluster_east ["cluster east"]')
    assert lines[east + 1:east + 4] == [
        '    mesh_east_mesh["east-mesh<br/>namespace mesh-system"]',
        '    mesh_prod_mesh["prod-mesh<br/>namespace prod-mesh"]',
        '    mesh_stage_mesh["stage-mesh<br/>namespace stage-mesh"]']
    assert sum(" ---|" in line for line in lines) == 4


def test_readme_shows_the_bundled_fleets_graph() -> None:
    """The README's Mermaid block is the command's output (regenerate: meshgen graph)."""
    blocks = re.findall(r"```mermaid\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README.md has no mermaid block"
    assert blocks[0] == invoke("graph", str(EXAMPLE_FLEET)).stdout


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pydot's use of pyparsing
def test_dot_parses_and_has_the_same_graph() -> None:
    result = invoke("graph", str(EXAMPLE_FLEET), "--format", "dot")
    assert result.exit_code == 0, result.output
    graphs = pydot.graph_from_dot_data(result.stdout)
    assert graphs is not None and len(graphs) == 1
    graph = graphs[0]
    assert graph.get_type() == "graph"  # undirected

    def name(value: object) -> str:
        return str(value).strip('"')

    clusters = {name(s.get_name()): sorted(name(n.get_name()) for n in s.get_nodes())
                for s in graph.get_subgraphs()}
    assert clusters == {"cluster_central": ["central-mesh"],
                        "cluster_east": ["east-mesh", "istio_shop_mesh_east", "prod-mesh",
                                         "stage-mesh"],
                        "cluster_west": ["istio_shop_mesh_west", "west-mesh"]}
    pairs = sorted((name(e.get_source()), name(e.get_destination())) for e in graph.get_edges()
                   if e.get("dir") is None)
    assert pairs == [("central-mesh", "east-mesh"), ("central-mesh", "west-mesh"),
                     ("east-mesh", "west-mesh"),
                     ("istio_shop_mesh_east", "istio_shop_mesh_west"),
                     ("prod-mesh", "stage-mesh")]
    # traffic across meshes: directed edges of their own, caller -> peer; in shop-mesh,
    # calling cluster -> the cluster whose endpoints it reaches
    traffic = sorted((name(e.get_source()), name(e.get_destination()))
                     for e in graph.get_edges() if e.get("dir") == "forward")
    assert traffic == [("central-mesh", "east-mesh"),
                       ("istio_shop_mesh_east", "istio_shop_mesh_west"),
                       ("istio_shop_mesh_west", "istio_shop_mesh_east"),
                       ("prod-mesh", "stage-mesh")]


def test_graph_is_the_same_under_any_hash_seed() -> None:
    for fmt in ("mermaid", "dot"):
        outputs = {subprocess.run([sys.executable, "-m", "meshgen", "graph", str(EXAMPLE_FLEET),
                                   "--format", fmt], capture_output=True, text=True, check=True,
                                  env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}).stdout
                   for seed in ("0", "7")}
        assert len(outputs) == 1


def test_graph_of_a_fleet_without_federation(write_fleet: FleetWriter) -> None:
    fleet = write_fleet(TWO_CLUSTERS + "meshes:\n  - {name: solo, cluster: west}\n")
    result = invoke("graph", str(fleet))
    assert result.stdout == ('flowchart LR\n  subgraph cluster_west ["cluster west"]\n'
                             '    mesh_solo["solo<br/>namespace solo"]\n  end\n')


# --- explain -----------------------------------------------------------------------------------


def test_explain_text_names_every_fact_with_its_line() -> None:
    result = invoke("explain", "prod-mesh", str(EXAMPLE_FLEET))
    assert result.exit_code == 0, result.output
    text = result.stdout
    cert = fleet_line("rootCert: certs/prod-mesh.pem")
    assert re.search(rf"^  root cert +certs/prod-mesh.pem +line {cert}:17$", text, re.M)
    assert re.search(rf"^  ca +plugin: cacerts via ExternalSecret from ClusterSecretStore "
                     rf"vault, key pki/meshes/prod-mesh +line {cert - 1}:13$", text, re.M)
    assert re.search(r"^  trust domain +prod-mesh.local +\(default: <mesh>.local\)$", text,
                     re.M)
    assert "peer stage-mesh  line " in text
    imported = fleet_line("alias: {name: details-v2, namespace: prod-bookinfo}") - 2
    assert (f"    stage-bookinfo/details -> details-v2.prod-bookinfo.svc.stage-mesh-imports."
            f"local  line {imported}:9") in text
    assert re.search(r"^  address +prod-mesh-ingress\.stage-mesh\.svc\.cluster\.local .*"
                     r"\(same cluster\)$", text, re.M)
    assert re.search(r"^  client ID +stage-mesh\.local/ns/stage-mesh/sa/"
                     r"prod-mesh-egress-service-account ", text, re.M)


def test_explain_json_has_hostnames_patterns_and_positions() -> None:
    result = invoke("explain", "central-mesh", str(EXAMPLE_FLEET), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mesh"] == "central-mesh" and data["problems"] == []
    assert sorted(data["peers"]) == ["east-mesh", "west-mesh"]
    west = data["peers"]["west-mesh"]
    assert west["address"]["value"] == "central-mesh-ingress.mesh-system.apps.west.example.com"
    assert west["address"]["line"] == fleet_line("domain: apps.west.example.com")
    assert west["ingressGateway"]["value"] == "west-mesh-ingress"
    assert west["egressGateway"]["value"] == "west-mesh-egress"
    assert west["trustDomain"]["value"] == "west-mesh.local"
    assert west["imports"] == [{
        "service": "bookinfo/*", "hostname": "*.bookinfo.svc.west-mesh-imports.local",
        "line": fleet_line('name: "*"') - 1, "column": 9,
        "note": "pattern; no client can resolve it: route to it with `traffic`, or set "
                "dnsCapture"}]
    settings = data["settings"]
    assert settings["namespace"] == {"value": "mesh-system", "line": fleet_line(
        "namespace: mesh-system"), "column": 18, "note": None}
    # an import merged into the local namespace keeps the cluster.local name
    west_mesh = json.loads(invoke("explain", "west-mesh", str(EXAMPLE_FLEET), "--format",
                                  "json").stdout)
    assert west_mesh["peers"]["east-mesh"]["imports"][0]["hostname"] == \
        "ratings.mesh-bookinfo.svc.cluster.local"
    assert west_mesh["peers"]["central-mesh"]["exports"] == [{
        "service": "bookinfo/*", "source": "services of mesh-bookinfo with labels app=reviews",
        "line": fleet_line("selector: {app: reviews}") - 1, "column": 9, "note": None}]


def test_explain_unknown_mesh_is_a_located_error() -> None:
    result = invoke("explain", "prod", str(EXAMPLE_FLEET))
    assert result.exit_code == 2
    assert result.stderr == (
        f'{EXAMPLE_FLEET}:{fleet_line("meshes:")}:1: error[MG031]: no mesh "prod" in the '
        'fleet\n  hint: did you mean "prod-mesh"? known meshes: central-mesh, east-mesh, '
        "prod-mesh, stage-mesh, west-mesh\n1 error, 0 warnings\n")
    as_json = invoke("explain", "zzz", str(EXAMPLE_FLEET), "--format", "json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)[0]["hint"].startswith("known meshes: central-mesh")
