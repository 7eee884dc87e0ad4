"""`traffic` on an istio mesh: routes, mirrors and failover between the clusters of one
mesh, by the `topology.istio.io/cluster` label istiod puts on every endpoint. The golden tree
is tests/istio/traffic-across-clusters (built, kustomized and CRD-checked with the other
topologies in test_istio_topologies.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import FleetWriter
from meshgen.build import Build, compile_fleet
from meshgen.errors import FleetError
from meshgen.explain import explain, format_text
from meshgen.graph import dot, mermaid
from meshgen.ordering import SKIP_DRY_RUN, SYNC_OPTIONS, SYNC_WAVE
from meshgen.verify import SchemaSet

GOLDEN = Path(__file__).resolve().parent / "istio" / "traffic-across-clusters"
HOST = "details.bookinfo.svc.cluster.local"

# two primaries on one network, no region labels, Argo CD delivery
TWO_PRIMARIES = """\
apiVersion: meshgen.dev/v1alpha1
kind: Fleet
metadata: {name: istio-traffic}
delivery:
  repoURL: https://git.example.com/platform/fleet.git
  argocd: {}
clusters:
  - {name: east, network: flat, apiServer: "https://api.east.example.com:6443"}
  - {name: west, network: flat, apiServer: "https://api.west.example.com:6443"}
meshes:
  - name: prod
    backend: istio
    version: v1.26.3
    clusters: [{cluster: east}, {cluster: west}]
    members: [bookinfo]
    ca: {type: certManager, issuer: {name: prod-root, kind: ClusterIssuer}}
    discovery: {none: {}}
traffic:
  - mesh: prod
    host: {namespace: bookinfo, name: ratings}
    failover: {cluster: west}
"""


def _golden() -> Build:
    return compile_fleet(GOLDEN / "fleet.yaml", GOLDEN / "overlays")


def _load(build: Build, rel: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(build.files[rel])
    return loaded


def test_a_route_and_a_mirror_to_a_cluster_use_a_subset_by_its_cluster_label() -> None:
    build = _golden()
    vs = _load(build, "east/namespaces/bookinfo/virtualservice-details.yaml")
    assert vs["spec"] == {"hosts": [HOST], "http": [{
        "route": [{"destination": {"host": HOST, "subset": "v1"}, "weight": 80},
                  {"destination": {"host": HOST, "subset": "west"}, "weight": 20}],
        "mirror": {"host": HOST, "subset": "edge"},
        "mirrorPercentage": {"value": 10.0},
    }]}
    dr = _load(build, "east/namespaces/bookinfo/destinationrule-details.yaml")
    assert dr["spec"] == {"host": HOST, "subsets": [
        {"name": "edge", "labels": {"topology.istio.io/cluster": "edge"}},
        {"name": "v1", "labels": {"version": "v1"}},
        {"name": "west", "labels": {"topology.istio.io/cluster": "west"}},
    ]}


def test_the_objects_go_to_every_primary_and_never_to_a_remote() -> None:
    build = _golden()
    traffic = sorted(rel for rel in build.files
                     if "/virtualservice-" in rel or "/destinationrule-" in rel)
    assert traffic == [f"{cluster}/namespaces/bookinfo/{kind}-{name}.yaml"
                       for cluster in ("east", "west")
                       for kind, name in (("destinationrule", "details"),
                                          ("destinationrule", "ratings"),
                                          ("virtualservice", "details"))]
    for kind, name in (("destinationrule", "details"), ("virtualservice", "details")):
        rel = f"namespaces/bookinfo/{kind}-{name}.yaml"
        assert build.files[f"east/{rel}"] == build.files[f"west/{rel}"]


def test_failover_in_three_regions_keeps_the_own_cluster_first_then_the_target() -> None:
    dr = _load(_golden(), "west/namespaces/bookinfo/destinationrule-ratings.yaml")
    assert dr["spec"]["trafficPolicy"] == {
        "loadBalancer": {"localityLbSetting": {
            "enabled": True,
            "failover": [{"from": "eu-central", "to": "us-west"},
                         {"from": "us-east", "to": "us-west"}],
            "failoverPriority": ["topology.istio.io/cluster"]}},
        "outlierDetection": {"consecutive5xxErrors": 1, "interval": "1s",
                             "baseEjectionTime": "1m", "maxEjectionPercent": 100},
    }


def test_failover_in_two_clusters_needs_no_regions(write_fleet: FleetWriter, tmp_path: Path,
                                                   schemas: SchemaSet) -> None:
    build = compile_fleet(write_fleet(TWO_PRIMARIES), tmp_path / "out")
    dr = _load(build, "east/namespaces/bookinfo/destinationrule-ratings.yaml")
    assert dr["spec"]["trafficPolicy"]["loadBalancer"]["localityLbSetting"] == {
        "enabled": True, "failoverPriority": ["topology.istio.io/cluster"]}
    assert list(schemas.errors(dr)) == []


def test_traffic_objects_come_after_istio_and_skip_the_dry_run() -> None:
    build = _golden()
    istio = _load(build, "east/cluster/istio-default.yaml")
    for rel in ("east/namespaces/bookinfo/virtualservice-details.yaml",
                "west/namespaces/bookinfo/destinationrule-ratings.yaml"):
        annotations = _load(build, rel)["metadata"]["annotations"]
        assert int(annotations[SYNC_WAVE]) > int(istio["metadata"]["annotations"][SYNC_WAVE])
        assert SKIP_DRY_RUN in annotations[SYNC_OPTIONS]


def test_the_app_project_whitelists_the_destination_rule(write_fleet: FleetWriter,
                                                         tmp_path: Path) -> None:
    build = compile_fleet(write_fleet(TWO_PRIMARIES), tmp_path / "out")
    project = next(yaml.safe_load(data) for data in build.files.values()
                   if b"kind: AppProject" in data)
    assert {"group": "networking.istio.io", "kind": "DestinationRule"} in \
        project["spec"]["namespaceResourceWhitelist"]


def test_every_traffic_object_is_valid_against_its_crd(schemas: SchemaSet) -> None:
    build = _golden()
    objects = [yaml.safe_load(data) for rel, data in build.files.items()
               if "/virtualservice-" in rel or "/destinationrule-" in rel]
    assert {o["kind"] for o in objects} == {"VirtualService", "DestinationRule"}
    for obj in objects:
        assert schemas.validator(obj["apiVersion"], obj["kind"]) is not None
        assert list(schemas.errors(obj)) == [], obj["metadata"]["name"]


def test_explain_shows_the_resolved_routes() -> None:
    plan = _golden().plan
    data = explain(plan, "prod").as_dict()
    assert [(t["service"], t["routes"]) for t in data["settings"]["traffic"]] == [
        ("bookinfo/details", [
            f"route 80% -> {HOST} subset v1",
            f"route 20% -> {HOST} subset west (topology.istio.io/cluster=west)",
            f"mirror 10% -> {HOST} subset edge (topology.istio.io/cluster=edge)"]),
        ("bookinfo/ratings", ["failover to cluster west after the caller's own cluster "
                              "(eu-central -> us-west, us-east -> us-west)"]),
    ]
    assert "    bookinfo/details  line 35:5" in format_text(explain(plan, "prod"))


def test_the_graph_draws_traffic_from_each_calling_cluster() -> None:
    plan = _golden().plan
    lines = mermaid(plan).splitlines()
    assert '  istio_prod_east ==>|"traffic<br/>bookinfo/details: 20%<br/>' \
        'bookinfo/ratings: failover"| istio_prod_west' in lines
    assert '  istio_prod_west ==>|"traffic<br/>bookinfo/details: mirror 10%"| ' \
        'istio_prod_edge' in lines
    assert not any(line.startswith("  istio_prod_west ==>") and line.endswith("istio_prod_west")
                   for line in lines)
    edges = [line for line in dot(plan).splitlines() if "dir=forward" in line]
    assert len(edges) == 4
    assert all("dir=forward, style=bold" in edge for edge in edges)


def test_the_problems_of_an_istio_entry_are_reported_together(write_fleet: FleetWriter,
                                                              tmp_path: Path) -> None:
    text = (GOLDEN / "fleet.yaml").read_text().replace(
        "{cluster: west, weight: 20}", "{cluster: wets, weight: 10}").replace(
        "{cluster: edge, percent: 10}", "{cluster: edge, import: {from: x, namespace: a, "
        "name: b}}").replace("{subset: v1, weight: 80}", "{subset: v2, weight: 80}")
    with pytest.raises(FleetError) as exc:
        compile_fleet(write_fleet(text), tmp_path / "out")
    assert sorted(p.code for p in exc.value.problems.errors) == [
        "MG030", "MG162", "MG163", "MG175"]
