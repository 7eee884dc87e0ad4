"""Property test of `traffic` on istio meshes: for random meshes (primaries and remotes,
clusters with or without a region) and random routes, mirrors and failovers between their
clusters, either meshgen refuses the fleet with a traffic rule's code, or every subset a
VirtualService routes or mirrors to is declared by the DestinationRule of the same host on
the same cluster, every cluster a subset selects (`topology.istio.io/cluster`) is a member
of the mesh, the objects are on every primary and on no other cluster, and each is valid
against its CRD."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from meshgen.build import compile_fleet
from meshgen.errors import FleetError
from meshgen.verify import SchemaSet

CLUSTER_LABEL = "topology.istio.io/cluster"
# the rules a random entry may break: unknown or non-member cluster, weights, subsets,
# a mirror of the only route, a subset named like a cluster, failover without regions
REFUSALS = {"MG030", "MG162", "MG163", "MG165", "MG174", "MG176", "MG177", "MG178"}
TRAFFIC_KINDS = ("VirtualService", "DestinationRule")


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 4))
    names = [f"c{i}" for i in range(n)]
    clusters: list[dict[str, Any]] = []
    for name in [*names, "outside"]:
        cluster: dict[str, Any] = {"name": name, "network": "flat",
                                   "apiServer": f"https://api.{name}.example.com:6443"}
        region = draw(st.sampled_from([f"r-{name}"] * 8 + ["r-shared", None]))
        if region is not None:
            cluster["labels"] = {"topology.kubernetes.io/region": region}
        clusters.append(cluster)
    primaries = sorted(set(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n))))
    members = [{"cluster": f"c{i}", "role": "primary", "istiodClusterIP": f"172.30.200.{i + 1}"}
               if i in primaries else
               {"cluster": f"c{i}", "role": "remote",
                "controlPlane": f"c{draw(st.sampled_from(primaries))}"} for i in range(n)]
    targets = st.sampled_from([*names * 4, "outside"])
    traffic = []
    for host in draw(st.lists(st.sampled_from(["details", "ratings", "reviews"]), min_size=1,
                              max_size=3, unique=True)):
        entry: dict[str, Any] = {"mesh": "prod", "host": {"namespace": "app", "name": host}}
        if draw(st.booleans()):
            entry["subsets"] = {draw(st.sampled_from(["v1", "v1", "v2", "c0"])): {"version": "v1"}}
        if draw(st.booleans()):
            route = [{"cluster": draw(targets)} if draw(st.booleans()) else
                     {"subset": draw(st.sampled_from(["v1", "v2"]))} if draw(st.booleans())
                     else {} for _ in range(draw(st.integers(1, 3)))]
            weights = [100 // len(route)] * len(route)
            weights[0] += 100 - sum(weights)
            entry["route"] = [{**d, "weight": w} for d, w in zip(route, weights, strict=True)]
        if draw(st.booleans()):
            entry["mirror"] = {"cluster": draw(targets)}
        if draw(st.booleans()) or ("route" not in entry and "mirror" not in entry):
            entry["failover"] = {"cluster": draw(targets)}
        traffic.append(entry)
    return {
        "apiVersion": "meshgen.dev/v1alpha1", "kind": "Fleet", "metadata": {"name": "prop"},
        "clusters": clusters,
        "meshes": [{
            "name": "prod", "backend": "istio", "version": "v1.26.3", "clusters": members,
            "members": ["app"],
            "ca": {"type": "certManager", "issuer": {"name": "root", "kind": "ClusterIssuer"}},
            "discovery": {"externalSecret": {"store": "vault", "path": "istio/{cluster}"}},
        }],
        "traffic": traffic,
    }


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets())
def test_istio_traffic_routes_only_to_declared_subsets_of_member_clusters(
        fleet: dict[str, Any], schemas: SchemaSet) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.yaml"
        path.write_text(yaml.safe_dump(fleet, sort_keys=False))
        try:
            build = compile_fleet(path, Path(tmp) / "out")
        except FleetError as exc:
            codes = {p.code for p in exc.problems.errors}
            event("refused")
            assert codes <= REFUSALS, [str(p) for p in exc.problems.errors]
            return
    mesh = build.plan.istio[0]
    members = set(mesh.cluster_names)
    primaries = {m.name for m in mesh.primaries}
    placed: dict[str, set[str]] = {}
    for rel, data in build.files.items():
        obj = yaml.safe_load(data)
        if not isinstance(obj, dict) or obj.get("kind") not in TRAFFIC_KINDS \
                or obj["metadata"]["namespace"] != "app":
            continue
        cluster = rel.split("/")[0]
        placed.setdefault(f"{obj['kind']}/{obj['metadata']['name']}", set()).add(cluster)
        assert list(schemas.errors(obj)) == [], rel
        if obj["kind"] == "DestinationRule":
            for subset in obj["spec"].get("subsets", []):
                if CLUSTER_LABEL in subset["labels"]:
                    assert subset["labels"][CLUSTER_LABEL] in members
            continue
        rule = build.files.get(rel.replace("/virtualservice-", "/destinationrule-"))
        declared = {s["name"] for s in yaml.safe_load(rule)["spec"].get("subsets", [])} \
            if rule else set()
        http = obj["spec"]["http"][0]
        used = [d["destination"] for d in http["route"]] + \
            ([http["mirror"]] if "mirror" in http else [])
        for destination in used:
            assert destination["host"] == f"{obj['metadata']['name']}.app.svc.cluster.local"
            if "subset" in destination:
                assert destination["subset"] in declared, (rel, destination)
    event("accepted")
    assert placed, "an accepted fleet has traffic objects"
    assert all(clusters == primaries for clusters in placed.values()), placed
