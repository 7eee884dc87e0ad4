"""Property tests of the istio backend: random valid istio fleets build CRD-valid objects
in which every primary holds a remote secret for every other member, every remote's istiod
address reaches its primary, and a cluster's network agrees everywhere it is written."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshgen.build import compile_fleet
from meshgen.verify import SchemaSet


@st.composite
def istio_fleets(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 5))
    clusters: list[dict[str, Any]] = []
    for i in range(n):
        cluster: dict[str, Any] = {"name": f"c{i}",
                                   "apiServer": f"https://api.c{i}.example.com:6443",
                                   "platform": draw(st.sampled_from(["openshift", "kubernetes"]))}
        kind = draw(st.sampled_from(["LoadBalancer", "Submariner", None]))
        if kind == "LoadBalancer":
            cluster["ingress"] = {"type": kind, "domain": f"apps.c{i}.example.com"}
        elif kind == "Submariner":
            cluster["ingress"] = {"type": kind}
            cluster["eastWest"] = {"address": f"198.51.100.{i + 1}"}
        else:
            cluster["eastWest"] = {"address": f"203.0.113.{i + 1}"}
        if draw(st.booleans()):
            cluster["network"] = draw(st.sampled_from(["net-a", "net-b"]))
        clusters.append(cluster)
    primaries = sorted(set(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n))))
    members: list[dict[str, Any]] = []
    for i in range(n):
        if i in primaries:
            members.append({"cluster": f"c{i}", "role": "primary",
                            "istiodClusterIP": f"172.30.200.{i + 1}"})
        else:
            primary = draw(st.sampled_from(primaries))
            members.append({"cluster": f"c{i}", "role": "remote", "controlPlane": f"c{primary}"})
    return {
        "apiVersion": "meshgen.dev/v1alpha1", "kind": "Fleet", "metadata": {"name": "prop"},
        "clusters": clusters,
        "meshes": [{
            "name": "prod", "backend": "istio", "version": "v1.26.3", "clusters": members,
            "members": ["app"],
            "updateStrategy": draw(st.sampled_from(["InPlace", "RevisionBased"])),
            "ca": {"type": "certManager", "issuer": {"name": "root", "kind": "ClusterIssuer"}},
            "discovery": {"externalSecret": {"store": "vault", "path": "istio/{cluster}"}},
        }],
        "operators": {"install": True},
    }


def _objects(files: dict[str, bytes], cluster: str) -> list[dict[str, Any]]:
    return [yaml.safe_load(data) for rel, data in sorted(files.items())
            if rel.startswith(f"{cluster}/") and not rel.endswith("kustomization.yaml")]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=istio_fleets())
def test_random_istio_fleets_are_consistent(fleet: dict[str, Any], schemas: SchemaSet) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.yaml"
        path.write_text(yaml.safe_dump(fleet, sort_keys=False))
        build = compile_fleet(path, Path(tmp) / "out")
    mesh = build.plan.istio[0]
    istio = {m.name: next(o for o in _objects(build.files, m.name) if o["kind"] == "Istio")
             for m in mesh.clusters}
    for member in mesh.clusters:
        objects = _objects(build.files, member.name)
        for obj in objects:
            assert list(schemas.errors(obj)) == [], obj["metadata"]["name"]
        values = istio[member.name]["spec"]["values"]["global"]
        namespace = next(o for o in objects if o["kind"] == "Namespace"
                         and o["metadata"]["name"] == mesh.namespace)
        assert namespace["metadata"]["labels"]["topology.istio.io/network"] == \
            values["network"] == member.network
        assert values["multiCluster"]["clusterName"] == member.name
        gateways = [o for o in objects if o["kind"] == "Service"
                    and o["metadata"]["name"] == "istio-eastwestgateway"]
        assert len(gateways) == (1 if mesh.multi_network else 0)
        for gateway in gateways:
            assert gateway["metadata"]["labels"]["topology.istio.io/network"] == member.network
        secrets = {o["metadata"]["name"] for o in objects if o["kind"] == "ExternalSecret"
                   and o["metadata"]["name"].startswith("istio-remote-secret-")}
        others = {f"istio-remote-secret-{m.name}" for m in mesh.clusters if m is not member}
        assert secrets == (others if member.role == "primary" else set())
        if member.role == "remote":
            primary = mesh.member(member.control_plane or "")
            assert primary is not None
            expected = primary.east_west_address if primary.network != member.network \
                else primary.istiod_cluster_ip
            assert values["remotePilotAddress"] == expected
            assert namespace["metadata"]["annotations"][
                "topology.istio.io/controlPlaneClusters"] == primary.name
        assert ("IstioCNI" in {o["kind"] for o in objects}) == member.openshift
