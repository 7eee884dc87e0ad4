"""Property tests: any accepted fleet yields symmetric, consistent, CRD-valid federation."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshgen.build import compile_fleet
from meshgen.ca import certificate_pem, make_certificate
from meshgen.verify import SchemaSet

ROOT_PEM = certificate_pem(make_certificate("property root")[0])


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, Any]:
    n_clusters = draw(st.integers(1, 4))
    clusters = []
    for i in range(n_clusters):
        kind = draw(st.sampled_from(["LoadBalancer", "Submariner"]))
        ingress: dict[str, Any] = {"type": kind}
        if kind == "LoadBalancer":
            ingress["domain"] = f"apps.c{i}.example.com"
            ingress["clusterset"] = True  # reaches meshes on Submariner clusters
        clusters.append({"name": f"c{i}", "ingress": ingress})
    n_meshes = draw(st.integers(2, 7))
    meshes = []
    for i in range(n_meshes):
        name = f"m{i}"
        mesh: dict[str, Any] = {
            "name": name, "cluster": f"c{draw(st.integers(0, n_clusters - 1))}",
            "members": [f"{name}-app"], "rootCert": "root.pem",
            "gatewayNaming": draw(st.sampled_from(["suffix", "prefix"])),
            "version": draw(st.sampled_from(["v2.1", "v2.4", "v2.6"])),
        }
        if draw(st.booleans()):
            mesh["namespace"] = f"{name}-system"
        meshes.append(mesh)
    names = [m["name"] for m in meshes]
    federations: list[dict[str, Any]] = []
    used: set[frozenset[str]] = set()
    for f in range(draw(st.integers(1, 3))):
        members = draw(st.lists(st.sampled_from(names), min_size=2, max_size=len(names),
                                unique=True))
        star = draw(st.booleans())
        pairs = ({frozenset((members[0], m)) for m in members[1:]} if star else
                 {frozenset(p) for p in itertools.combinations(members, 2)})
        if pairs & used:
            continue
        used |= pairs
        fed: dict[str, Any] = {"name": f"f{f}", "meshes": members}
        if star:
            fed.update(topology="star", hub=members[0])
        federations.append(fed)
    exports = []
    imports = []
    for pair in sorted(used, key=sorted):
        a, b = sorted(pair)
        if draw(st.booleans()):
            exports.append({"mesh": a, "to": [b], "services": [
                {"namespace": f"{a}-app", "name": "svc", "alias": {"namespace": "shared"}}]})
            imports.append({"mesh": b, "from": a, "services": [
                {"namespace": "shared", "name": "svc",
                 "alias": {"namespace": f"{b}-app"}, "asLocal": draw(st.booleans())}]})
    return {"apiVersion": "meshgen.dev/v1alpha1", "kind": "Fleet",
            "metadata": {"name": "prop"}, "clusters": clusters, "meshes": meshes,
            "federations": federations, "exports": exports, "imports": imports}


def objects_by_cluster(files: dict[str, bytes]) -> dict[str, dict[tuple[str, str, str], Any]]:
    result: dict[str, dict[tuple[str, str, str], Any]] = {}
    for rel, data in files.items():
        obj = yaml.safe_load(data)
        if obj["kind"] == "Kustomization":
            continue
        meta = obj["metadata"]
        result.setdefault(rel.split("/")[0], {})[
            (obj["kind"], meta.get("namespace", ""), meta["name"])] = obj
    return result


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets())
def test_federation_is_symmetric_and_valid(fleet: dict[str, Any], schemas: SchemaSet) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.yaml"
        (Path(tmp) / "root.pem").write_text(ROOT_PEM)
        path.write_text(yaml.safe_dump(fleet))
        build = compile_fleet(path, Path(tmp) / "out")
    plan = build.plan
    objects = objects_by_cluster(build.files)
    directed = {(p.local.name, p.peer.name) for p in plan.peerings}
    assert directed == {(b, a) for a, b in directed}
    for peering in plan.peerings:
        local, peer = peering.local, peering.peer
        mine = objects[local.cluster.name]
        theirs = objects[peer.cluster.name]
        smp = mine[("ServiceMeshPeer", local.namespace, peer.name)]["spec"]
        smcp = mine[("ServiceMeshControlPlane", local.namespace, local.control_plane_name)]
        peer_smcp = theirs[("ServiceMeshControlPlane", peer.namespace, peer.control_plane_name)]
        gateways = smcp["spec"]["gateways"]
        assert smp["gateways"]["ingress"]["name"] in gateways["additionalIngress"]
        assert smp["gateways"]["egress"]["name"] in gateways["additionalEgress"]
        # the client ID names the peer's egress gateway for this mesh, in the peer's SMCP
        td, _, ns, _, sa = smp["security"]["clientID"].split("/")
        assert (td, ns) == (peer_smcp["spec"]["security"]["trust"]["domain"], peer.namespace)
        peer_egress = sa.removesuffix("-service-account")
        egress = peer_smcp["spec"]["gateways"]["additionalEgress"][peer_egress]
        assert egress["service"]["metadata"]["labels"] == {
            "federation.maistra.io/egress-for": local.name}
        # the address names the peer's ingress gateway dedicated to this mesh
        gateway, namespace = smp["remote"]["addresses"][0].split(".")[:2]
        assert namespace == peer.namespace
        ingress = peer_smcp["spec"]["gateways"]["additionalIngress"][gateway]
        assert ingress["service"]["metadata"]["labels"] == {
            "federation.maistra.io/ingress-for": local.name}
        assert ("ConfigMap", local.namespace, f"{peer.name}-ca-root-cert") in mine
        assert smp["security"]["trustDomain"] != smcp["spec"]["security"]["trust"]["domain"]
    for cluster_objects in objects.values():
        for obj in cluster_objects.values():
            assert list(schemas.errors(obj)) == [], obj["kind"]
            assert len(obj["metadata"]["name"]) <= 63
