"""Traffic across meshes: `traffic` entries become VirtualServices and DestinationRules
whose imported hosts are exactly the hostnames the ImportedServiceSets produce."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import EXAMPLE_FLEET, FleetWriter
from meshgen.build import compile_fleet
from meshgen.errors import FleetError
from meshgen.explain import explain, format_text
from meshgen.graph import dot, mermaid
from meshgen.ordering import SKIP_DRY_RUN, SYNC_OPTIONS, SYNC_WAVE
from meshgen.verify import SchemaSet

# the documented prod/stage scenario: stage exports details, prod imports it as details-v2
FLEET = """\
apiVersion: meshgen.dev/v1alpha1
kind: Fleet
metadata: {name: test}
delivery:
  repoURL: https://git.example.com/platform/fleet.git
  argocd: {namespace: openshift-gitops}
clusters:
  - name: east
    labels: {topology.kubernetes.io/region: us-east}
    ingress: {type: LoadBalancer, domain: apps.east.example.com}
meshes:
  - {name: prod-mesh, cluster: east, members: [prod-bookinfo], rootCert: certs/prod-mesh.pem}
  - {name: stage-mesh, cluster: east, members: [stage-bookinfo], rootCert: certs/stage-mesh.pem}
federations:
  - {name: stage-to-prod, meshes: [prod-mesh, stage-mesh]}
exports:
  - mesh: stage-mesh
    services:
      - {namespace: stage-bookinfo, name: details}
      - {namespace: stage-bookinfo, name: ratings, alias: {namespace: prod-bookinfo}}
      - {namespace: stage-bookinfo, name: "*", alias: {namespace: stage-all}}
imports:
  - mesh: prod-mesh
    from: stage-mesh
    locality: {region: us-west}
    services:
      - {namespace: stage-bookinfo, name: details, alias: {namespace: prod-bookinfo,
         name: details-v2}}
      - {namespace: prod-bookinfo, name: ratings, alias: {namespace: prod-bookinfo},
         asLocal: true}
      - {namespace: stage-all, name: "*"}
traffic:
  - mesh: prod-mesh
    host: {namespace: prod-bookinfo, name: details}
    subsets:
      v1: {version: v1}
    route:
      - {subset: v1, weight: 80}
      - {import: {from: stage-mesh, namespace: prod-bookinfo, name: details-v2}, weight: 20}
    mirror:
      import: {from: stage-mesh, namespace: stage-all, name: reviews}
      percent: 12.5
  - mesh: prod-mesh
    host: {namespace: prod-bookinfo, name: ratings}
    failover: {from: stage-mesh}
"""
NS = "east/namespaces/prod-bookinfo"
CERTS = ("prod-mesh", "stage-mesh")


def _build(write_fleet: FleetWriter, tmp_path: Path, text: str = FLEET) -> dict[str, bytes]:
    return compile_fleet(write_fleet(text, certs=CERTS), tmp_path / "out").files


def _load(files: dict[str, bytes], rel: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(files[rel])
    return loaded


def test_the_documented_mirror_and_split_resolve_to_the_imported_hostnames(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    files = _build(write_fleet, tmp_path)
    vs = _load(files, f"{NS}/virtualservice-details.yaml")
    assert vs["spec"] == {
        "hosts": ["details.prod-bookinfo.svc.cluster.local"],
        "http": [{
            "route": [
                {"destination": {"host": "details.prod-bookinfo.svc.cluster.local",
                                 "subset": "v1"}, "weight": 80},
                {"destination": {"host":
                                 "details-v2.prod-bookinfo.svc.stage-mesh-imports.local"},
                 "weight": 20},
            ],
            # a wildcard import keeps the exported namespace alias
            "mirror": {"host": "reviews.stage-all.svc.stage-mesh-imports.local"},
            "mirrorPercentage": {"value": 12.5},
        }],
    }
    dr = _load(files, f"{NS}/destinationrule-details.yaml")
    assert dr["spec"] == {"host": "details.prod-bookinfo.svc.cluster.local",
                          "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}


def test_failover_fails_over_to_the_region_the_imported_service_set_sets(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    files = _build(write_fleet, tmp_path)
    iss = _load(files, "east/namespaces/prod-mesh/importedserviceset-stage-mesh.yaml")
    assert iss["spec"]["locality"] == {"region": "us-west"}
    dr = _load(files, f"{NS}/destinationrule-ratings.yaml")
    policy = dr["spec"]["trafficPolicy"]
    assert dr["spec"]["host"] == "ratings.prod-bookinfo.svc.cluster.local"
    assert policy["loadBalancer"]["localityLbSetting"] == {
        "enabled": True, "failover": [{"from": "us-east", "to": "us-west"}]}
    assert policy["outlierDetection"]["consecutive5xxErrors"] >= 1
    # Envoy ejects at most 10% of the hosts unless told otherwise: a failing region would
    # keep most of its traffic
    assert policy["outlierDetection"]["maxEjectionPercent"] == 100
    assert f"{NS}/virtualservice-ratings.yaml" not in files  # failover alone needs no routes


def test_traffic_objects_follow_the_imported_service_set(write_fleet: FleetWriter,
                                                         tmp_path: Path) -> None:
    files = _build(write_fleet, tmp_path)
    iss = _load(files, "east/namespaces/prod-mesh/importedserviceset-stage-mesh.yaml")
    for rel in (f"{NS}/virtualservice-details.yaml", f"{NS}/destinationrule-details.yaml",
                f"{NS}/destinationrule-ratings.yaml"):
        annotations = _load(files, rel)["metadata"]["annotations"]
        assert int(annotations[SYNC_WAVE]) > int(iss["metadata"]["annotations"][SYNC_WAVE])
        assert SKIP_DRY_RUN in annotations[SYNC_OPTIONS]


def test_the_app_project_whitelists_the_traffic_kinds(write_fleet: FleetWriter,
                                                      tmp_path: Path) -> None:
    files = _build(write_fleet, tmp_path)
    project = next(yaml.safe_load(data) for rel, data in files.items()
                   if b"kind: AppProject" in data)
    allowed = project["spec"]["namespaceResourceWhitelist"]
    for kind in ("VirtualService", "DestinationRule"):
        assert {"group": "networking.istio.io", "kind": kind} in allowed


def test_every_traffic_object_is_valid_against_its_crd(write_fleet: FleetWriter,
                                                       tmp_path: Path,
                                                       schemas: SchemaSet) -> None:
    files = _build(write_fleet, tmp_path)
    objects = [yaml.safe_load(data) for rel, data in files.items()
               if rel.startswith(f"{NS}/") or "importedserviceset" in rel]
    assert {o["kind"] for o in objects} == {"VirtualService", "DestinationRule",
                                            "ImportedServiceSet"}
    for obj in objects:
        assert schemas.validator(obj["apiVersion"], obj["kind"]) is not None
        assert list(schemas.errors(obj)) == [], obj["metadata"]["name"]


def test_the_problems_of_every_entry_are_reported_together(write_fleet: FleetWriter,
                                                            tmp_path: Path) -> None:
    text = FLEET.replace("{subset: v1, weight: 80}", "{subset: v2, weight: 70}").replace(
        "namespace: stage-all, name: reviews}", "namespace: stage-al, name: reviews}")
    with pytest.raises(FleetError) as exc:
        _build(write_fleet, tmp_path, text)
    assert sorted(p.code for p in exc.value.problems.errors) == ["MG161", "MG162", "MG163"]


def test_an_import_shadowed_by_an_earlier_rule_is_not_resolved(write_fleet: FleetWriter,
                                                                tmp_path: Path) -> None:
    # the ImportedServiceSet's first matching rule wins: details arrives as details-v2
    text = FLEET.replace("      - {namespace: stage-all, name: \"*\"}", """\
      - {namespace: stage-all, name: "*"}
      - {namespace: stage-bookinfo, name: details, alias: {namespace: prod-bookinfo,
         name: details-v3}}""").replace("name: details-v2}, weight: 20",
                                        "name: details-v3}, weight: 20")
    with pytest.raises(FleetError) as exc:
        _build(write_fleet, tmp_path, text)
    (problem,) = exc.value.problems.errors
    assert problem.code == "MG161"
    assert "comes first" in problem.hint


def test_explain_lists_the_resolved_hosts_and_how_imports_are_reached(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    plan = compile_fleet(write_fleet(FLEET, certs=CERTS), tmp_path / "out").plan
    data = explain(plan, "prod-mesh").as_dict()
    assert [(t["service"], t["routes"]) for t in data["settings"]["traffic"]] == [
        ("prod-bookinfo/details", [
            "route 80% -> details.prod-bookinfo.svc.cluster.local subset v1",
            "route 20% -> details-v2.prod-bookinfo.svc.stage-mesh-imports.local",
            "mirror 12.5% -> reviews.stage-all.svc.stage-mesh-imports.local"]),
        ("prod-bookinfo/ratings", ["failover us-east -> us-west (stage-mesh, asLocal)"]),
    ]
    notes = {i["service"]: i["note"] for i in data["peers"]["stage-mesh"]["imports"]}
    assert notes == {
        "stage-bookinfo/details": "reachable only through VirtualService prod-bookinfo/details",
        "prod-bookinfo/ratings": "merged into the local service",
        "stage-all/*": "pattern; reachable only through VirtualService prod-bookinfo/details",
    }
    text = format_text(explain(plan, "prod-mesh"))
    assert "      mirror 12.5% -> reviews.stage-all.svc.stage-mesh-imports.local" in text


def test_dns_capture_makes_imported_names_resolvable(write_fleet: FleetWriter, tmp_path: Path,
                                                     schemas: SchemaSet) -> None:
    text = FLEET.replace("members: [prod-bookinfo],", "members: [prod-bookinfo], dnsCapture: true,")
    build = compile_fleet(write_fleet(text, certs=CERTS), tmp_path / "out")
    smcp = _load(build.files, "east/namespaces/prod-mesh/servicemeshcontrolplane-prod-mesh.yaml")
    assert smcp["spec"]["proxy"] == {
        "runtime": {"container": {"env": {"ISTIO_META_DNS_CAPTURE": "true"}}}}
    assert list(schemas.errors(smcp)) == []
    stage = _load(build.files,
                  "east/namespaces/stage-mesh/servicemeshcontrolplane-stage-mesh.yaml")
    assert "proxy" not in stage["spec"]
    imports = explain(build.plan, "prod-mesh").as_dict()["peers"]["stage-mesh"]["imports"]
    assert imports[0]["note"] == "reachable by name (dnsCapture)"


def test_an_import_nothing_routes_to_is_said_to_be_unresolvable(write_fleet: FleetWriter,
                                                                 tmp_path: Path) -> None:
    text = FLEET[:FLEET.index("traffic:")]
    plan = compile_fleet(write_fleet(text, certs=CERTS), tmp_path / "out").plan
    imports = explain(plan, "prod-mesh").as_dict()["peers"]["stage-mesh"]["imports"]
    assert imports[0]["note"].startswith("no client can resolve it")


def test_the_graph_draws_traffic_as_directed_edges_of_their_own(write_fleet: FleetWriter,
                                                                tmp_path: Path) -> None:
    plan = compile_fleet(write_fleet(FLEET, certs=CERTS), tmp_path / "out").plan
    label = ("traffic<br/>prod-bookinfo/details: 20%, mirror 12.5%<br/>"
             "prod-bookinfo/ratings: failover")
    assert f'  mesh_prod_mesh ==>|"{label}"| mesh_stage_mesh' in mermaid(plan).splitlines()
    edge = next(line for line in dot(plan).splitlines() if "traffic" in line)
    assert edge.startswith('  "prod-mesh" -- "stage-mesh"')
    assert "dir=forward, style=bold" in edge


def test_the_readme_failover_builds_on_the_bundled_example(tmp_path: Path,
                                                           schemas: SchemaSet) -> None:
    fleet = tmp_path / "fleet"
    shutil.copytree(EXAMPLE_FLEET.parent, fleet)
    text = EXAMPLE_FLEET.read_text().replace(
        "  - mesh: west-mesh\n    from: east-mesh\n",
        "  - mesh: west-mesh\n    from: east-mesh\n    locality: {region: us-east}\n")
    if "\ntraffic:\n" not in text:
        text += "traffic:\n"
    (fleet / "fleet.yaml").write_text(text + """\
  - mesh: west-mesh
    host: {namespace: mesh-bookinfo, name: ratings}
    failover: {from: east-mesh, localRegion: us-west}
""")
    files = compile_fleet(fleet / "fleet.yaml", tmp_path / "out").files
    dr = _load(files, "west/namespaces/mesh-bookinfo/destinationrule-ratings.yaml")
    assert dr["spec"]["trafficPolicy"]["loadBalancer"]["localityLbSetting"]["failover"] == [
        {"from": "us-west", "to": "us-east"}]
    assert list(schemas.errors(dr)) == []
