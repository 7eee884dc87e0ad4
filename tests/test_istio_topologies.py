"""The istio backend's four topologies: golden trees, real kustomize, yamllint and the
upstream CRDs (sail-operator, istio networking, mcs-api, external-secrets, cert-manager).

Regenerate a golden tree after a deliberate change with:
    cd tests/istio/<topology> && meshgen build fleet.yaml --out overlays
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen.build import Build, compile_fleet
from meshgen.output import generated_files
from meshgen.verify import SchemaSet, verify_tree

TOPOLOGIES = Path(__file__).resolve().parent / "istio"
NAMES = sorted(p.name for p in TOPOLOGIES.iterdir() if (p / "fleet.yaml").is_file())


def _build(name: str) -> Build:
    return compile_fleet(TOPOLOGIES / name / "fleet.yaml", TOPOLOGIES / name / "overlays")


def _obj(build: Build, rel: str) -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load(build.files[rel])
    assert isinstance(data, dict)
    return data


def test_four_topologies_are_covered() -> None:
    assert NAMES == ["migration", "multi-primary", "multi-primary-multi-network",
                     "primary-remote-multi-network", "primary-remote-submariner",
                     "traffic-across-clusters", "two-control-planes"]


@pytest.mark.parametrize("name", NAMES)
def test_golden_tree_kustomize_and_crds(name: str, schemas: SchemaSet) -> None:
    build = _build(name)
    overlays = TOPOLOGIES / name / "overlays"
    assert generated_files(overlays) == set(build.files), f"regenerate {name}"
    for rel, data in build.files.items():
        assert (overlays / rel).read_bytes() == data, f"{name}/{rel} is stale"
    report = verify_tree(overlays, build.files, schemas)
    assert report.problems == []
    assert report.objects == len([r for r in build.files if not r.endswith("kustomization.yaml")])


def test_multi_network_gets_gateways_and_remote_secrets() -> None:
    build = _build("multi-primary-multi-network")
    for cluster, other, network in (("east", "west", "east"), ("west", "east", "west")):
        ns = f"{cluster}/namespaces/istio-system"
        assert _obj(build, f"{cluster}/namespaces/istio-system.yaml")["metadata"]["labels"][
            "topology.istio.io/network"] == network
        istio = _obj(build, f"{cluster}/cluster/istio-default.yaml")
        assert istio["spec"]["values"]["global"] == {
            "meshID": "prod", "multiCluster": {"clusterName": cluster}, "network": network}
        assert "profile" not in istio["spec"]  # the operator applies "openshift"
        gateway = _obj(build, f"{ns}/gateway-cross-network-gateway.yaml")
        assert gateway["spec"]["servers"] == [{
            "port": {"number": 15443, "name": "tls", "protocol": "TLS"},
            "tls": {"mode": "AUTO_PASSTHROUGH"}, "hosts": ["*.local"]}]
        service = _obj(build, f"{ns}/service-istio-eastwestgateway.yaml")
        assert service["metadata"]["labels"]["topology.istio.io/network"] == network
        assert [p["port"] for p in service["spec"]["ports"]] == [15021, 15443, 15012, 15017]
        secret = _obj(build, f"{ns}/externalsecret-istio-remote-secret-{other}.yaml")
        template = secret["spec"]["target"]["template"]
        assert template["metadata"] == {"labels": {"istio/multiCluster": "true"},
                                        "annotations": {"networking.istio.io/cluster": other}}
        kubeconfig = yaml.safe_load(template["data"][other])
        assert kubeconfig["clusters"][0]["cluster"]["server"] == \
            f"https://api.{other}.example.com:6443"
        assert kubeconfig["current-context"] == other
        assert _obj(build, f"{ns}/certificate-cacerts.yaml")["spec"]["uris"] == [
            f"spiffe://prod.local/cluster/{cluster}/ca/istio-ca"]
    # the default east-west address of a LoadBalancer cluster is published by external-dns
    east = _obj(build, "east/namespaces/istio-system/service-istio-eastwestgateway.yaml")
    assert east["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/hostname"] == \
        "istio-eastwestgateway.istio-system.apps.east.example.com"


def test_waves_put_cacerts_and_cni_before_istio_and_gateways_after() -> None:
    build = _build("multi-primary-multi-network")
    waves = {}
    for rel in build.files:
        if rel.startswith("east/") and not rel.endswith("kustomization.yaml"):
            obj = _obj(build, rel)
            waves[obj["kind"]] = int(obj["metadata"]["annotations"][
                "argocd.argoproj.io/sync-wave"])
    assert waves["Namespace"] < waves["Certificate"] < waves["Istio"]
    assert waves["IstioCNI"] < waves["Istio"] < waves["Deployment"] < waves["Gateway"]
    assert waves["Subscription"] < waves["IstioCNI"]


def test_primary_remote_across_networks() -> None:
    build = _build("primary-remote-multi-network")
    remote = _obj(build, "edge/cluster/istio-default.yaml")["spec"]
    assert remote["profile"] == "remote"
    assert remote["values"]["istiodRemote"] == {"injectionPath": "/inject/cluster/edge/net/edge"}
    assert remote["values"]["global"]["remotePilotAddress"] == \
        "istio-eastwestgateway.istio-system.apps.east.example.com"
    ns = _obj(build, "edge/namespaces/istio-system.yaml")["metadata"]
    assert ns["annotations"]["topology.istio.io/controlPlaneClusters"] == "east"
    primary = _obj(build, "east/cluster/istio-default.yaml")["spec"]["values"]["global"]
    assert primary["externalIstiod"] is True
    vs = _obj(build, "east/namespaces/istio-system/virtualservice-istiod-vs.yaml")["spec"]
    assert [r["route"][0]["destination"] for r in vs["tls"]] == [
        {"host": "istiod.istio-system.svc.cluster.local", "port": {"number": 15012}},
        {"host": "istiod.istio-system.svc.cluster.local", "port": {"number": 443}}]
    assert "east/namespaces/istio-system/gateway-istiod-gateway.yaml" in build.files
    # a remote runs no istiod: no cacerts, no remote secrets, but IstioCNI on OpenShift
    assert not any(r.startswith("edge/namespaces/istio-system/certificate")
                   or "remote-secret" in r for r in build.files if r.startswith("edge/"))
    assert "edge/cluster/istiocni-default.yaml" in build.files


def test_primary_remote_on_one_submariner_network() -> None:
    build = _build("primary-remote-submariner")
    service = _obj(build, "hub/namespaces/istio-system/service-istiod-remote.yaml")["spec"]
    assert service["clusterIP"] == "172.30.200.12"
    assert [(p["port"], p["targetPort"]) for p in service["ports"]] == \
        [(15012, 15012), (443, 15017)]
    assert "hub/namespaces/istio-system/serviceexport-istiod-remote.yaml" in build.files
    for remote in ("mcsdemo1", "mcsdemo2"):
        values = _obj(build, f"{remote}/cluster/istio-default.yaml")["spec"]["values"]
        assert values["global"]["remotePilotAddress"] == "172.30.200.12"
        assert values["global"]["network"] == "clusterset"
    assert not any("eastwestgateway" in rel for rel in build.files)
    assert {r for r in build.files if "remote-secret" in r} == {
        "hub/namespaces/istio-system/externalsecret-istio-remote-secret-mcsdemo1.yaml",
        "hub/namespaces/istio-system/externalsecret-istio-remote-secret-mcsdemo2.yaml"}


def test_one_network_revision_based_plugin_ca() -> None:
    build = _build("multi-primary")
    assert not any("eastwestgateway" in rel or "gateway-" in rel for rel in build.files)
    member = _obj(build, "east/namespaces/bookinfo.yaml")["metadata"]["labels"]
    assert member["istio.io/rev"] == "default-v1-24-5"
    assert member["meshgen.dev/mesh"] == "prod"
    cacerts = _obj(build, "west/namespaces/istio-system/externalsecret-cacerts.yaml")["spec"]
    assert {d["remoteRef"]["key"] for d in cacerts["data"]} == {"pki/prod/west"}
    # IstioCNI only on OpenShift clusters
    assert "east/cluster/istiocni-default.yaml" in build.files
    assert "west/cluster/istiocni-default.yaml" not in build.files
    values = _obj(build, "east/cluster/istio-default.yaml")["spec"]["values"]
    assert values["pilot"] == {"env": {"PILOT_ENABLE_WORKLOAD_ENTRY_AUTOREGISTRATION": "true"}}


def test_two_control_planes_on_one_cluster_stay_apart() -> None:
    build = _build("two-control-planes")
    east = {rel for rel in build.files if rel.startswith("east/")}
    assert {r for r in east if r.startswith("east/cluster/")} == {
        "east/cluster/istio-prod.yaml", "east/cluster/istio-stage.yaml",
        "east/cluster/istiocni-default.yaml"}
    # each mesh's istiod sees its own namespaces only; each member is injected by its mesh
    for mesh, namespace, member, revision in (
            ("prod", "istio-prod", "bookinfo", "prod"),
            ("stage", "istio-stage", "bookinfo-stage", "stage-v1-26-2")):
        spec = _obj(build, f"east/cluster/istio-{mesh}.yaml")["spec"]
        assert spec["namespace"] == namespace
        assert spec["values"]["meshConfig"]["discoverySelectors"] == [
            {"matchLabels": {"meshgen.dev/mesh": mesh}}]
        labels = _obj(build, f"east/namespaces/{member}.yaml")["metadata"]["labels"]
        assert (labels["meshgen.dev/mesh"], labels["istio.io/rev"]) == (mesh, revision)
        assert "istio-injection" not in labels
        assert _obj(build, f"east/namespaces/{namespace}.yaml")["metadata"]["labels"][
            "meshgen.dev/mesh"] == mesh
    # the IstioCNI of the cluster follows its newest Istio
    assert _obj(build, "east/cluster/istiocni-default.yaml")["spec"]["version"] == "v1.26.3"
    # the ossm2 mesh beside them is untouched: its SMCP and member roll as ever
    assert "east/namespaces/legacy/servicemeshcontrolplane-legacy.yaml" in east
    legacy = _obj(build, "east/namespaces/legacy-app.yaml")["metadata"]["labels"]
    assert "meshgen.dev/mesh" not in legacy
    # west hosts only prod: its Istio keeps the mesh's name, so revisions match the primary
    assert "west/cluster/istio-prod.yaml" in build.files


def test_defaults_layer_under_istio_meshes(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("""\
apiVersion: meshgen.dev/v1alpha1
kind: Fleet
metadata: {name: layered}
defaults:
  backend: istio
  version: v1.26.3
  namespace: "{mesh}-system"
  members: ["{mesh}-app"]
  istioValues: {pilot: {env: {A: "1"}}}
clusters:
  - name: east
meshes:
  - name: prod
    cluster: east
    istioValues: {pilot: {env: {B: "2"}}}
""")
    build = compile_fleet(fleet, tmp_path / "out")
    spec = _obj(build, "east/cluster/istio-default.yaml")["spec"]
    assert spec["namespace"] == "prod-system"
    assert spec["values"]["pilot"] == {"env": {"A": "1", "B": "2"}}
    assert "east/namespaces/prod-app.yaml" in build.files


def test_migration_takes_over_the_smcp_namespace() -> None:
    """Red Hat's guide (openshift-service-mesh/sail-operator, main:
    docs/ossm/ossm2-migration/multi-tenancy/README.md): the Istio in the SMCP's namespace,
    the 2.6 mesh's namespaces discovered, a moving namespace labelled for the OSSM 3
    revision and ignored by the 2.6 injector while it stays in the member roll."""
    build = _build("migration")
    istio = _obj(build, "east/cluster/istio-next.yaml")["spec"]
    assert istio["namespace"] == "legacy-system"
    assert istio["values"]["meshConfig"] == {
        "trustDomain": "legacy.local",
        "discoverySelectors": [{"matchLabels": {"meshgen.dev/mesh": "next"}}]}
    roll = _obj(build, "east/namespaces/legacy-system/servicemeshmemberroll-default.yaml")
    assert roll["spec"]["members"] == ["bookinfo", "ratings", "reviews"]
    labels = {ns: _obj(build, f"east/namespaces/{ns}.yaml")["metadata"]["labels"]
              for ns in ("legacy-system", "bookinfo", "ratings", "reviews")}
    assert all(labels[ns]["meshgen.dev/mesh"] == "next" for ns in labels)
    assert labels["bookinfo"]["istio.io/rev"] == "next"
    assert labels["bookinfo"]["maistra.io/ignore-namespace"] == "true"
    for unmoved in ("ratings", "reviews"):
        assert "istio.io/rev" not in labels[unmoved]
        assert "maistra.io/ignore-namespace" not in labels[unmoved]
    # one Namespace object each; the SMCP's CA (istio-ca-secret) serves both istiods
    assert sum(1 for r in build.files if r.endswith("/bookinfo.yaml")) == 1
    assert not [r for r in build.files if "cacerts" in r]
    assert "east/namespaces/legacy-system/servicemeshcontrolplane-legacy.yaml" in build.files


def test_migration_over_keeps_the_istio_name(tmp_path: Path) -> None:
    """The ossm2 mesh deleted from the fleet: the Istio keeps its name and revision, the
    moved namespaces keep the ignore label (removed by hand, if at all, once the 2.6
    operator is gone: cleaning-2.6/README.md), the unmoved ones are no longer written."""
    source = (TOPOLOGIES / "migration" / "fleet.yaml").read_text()
    start, end = source.index("  - name: legacy\n"), source.index("  - name: next\n")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(source[:start] + source[end:])
    build = compile_fleet(fleet, tmp_path / "overlays")
    assert "east/cluster/istio-next.yaml" in build.files
    labels = _obj(build, "east/namespaces/bookinfo.yaml")["metadata"]["labels"]
    assert labels["istio.io/rev"] == "next" and labels["maistra.io/ignore-namespace"] == "true"
    assert "east/namespaces/ratings.yaml" not in build.files
