"""GitOps delivery: Argo CD and ACM hub objects, operator Subscriptions, sync ordering.

The bundled example fleet uses both engines; smaller fleets written here vary one setting
at a time. Everything emitted goes through the real kustomize and the upstream CRDs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import EXAMPLE_FLEET, EXAMPLE_OVERLAYS, TWO_CLUSTERS, FleetWriter
from meshgen import kustomize
from meshgen.build import Build, compile_fleet
from meshgen.ordering import SKIP_DRY_RUN, SYNC_OPTIONS, SYNC_WAVE
from meshgen.output import generated_files, write_tree
from meshgen.verify import SchemaSet, verify_tree


@pytest.fixture(scope="module")
def example() -> Build:
    return compile_fleet(EXAMPLE_FLEET, EXAMPLE_OVERLAYS)


def objects(build: Build, prefix: str) -> list[dict[str, Any]]:
    """Every object written under prefix (kustomizations excluded)."""
    return [yaml.safe_load(data) for rel, data in sorted(build.files.items())
            if rel.startswith(prefix) and not rel.endswith("/kustomization.yaml")]


def one(build: Build, prefix: str, kind: str) -> dict[str, Any]:
    found = [o for o in objects(build, prefix) if o["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind} under {prefix}"
    return found[0]


def overlay_dirs(build: Build) -> list[str]:
    return sorted(rel.split("/")[0] for rel in build.files
                  if rel.count("/") == 1 and rel.endswith("/kustomization.yaml"))


# --- Argo CD ---------------------------------------------------------------------------------


def test_applicationset_lists_every_overlay_once_in_order(example: Build) -> None:
    appset = one(example, "delivery/argocd/", "ApplicationSet")
    elements = appset["spec"]["generators"][0]["list"]["elements"]
    clusters = [c.name for c in example.plan.clusters]
    assert [e["cluster"] for e in elements] == clusters == overlay_dirs(example)
    assert [e["path"] for e in elements] == [f"overlays/{c}" for c in clusters]
    for element in elements:  # the path really is an overlay in this repository
        assert (EXAMPLE_OVERLAYS.parent / element["path"] / "kustomization.yaml").is_file()


def test_applications_sync_automatically_and_keep_resources(example: Build) -> None:
    spec = one(example, "delivery/argocd/", "ApplicationSet")["spec"]
    assert spec["goTemplate"] is True
    assert spec["syncPolicy"] == {"preserveResourcesOnDeletion": True}
    app = spec["template"]["spec"]
    assert app["destination"] == {"name": "{{.cluster}}"}  # by name, never server
    assert app["project"] == "bookinfo-fleet"
    assert app["source"] == {"repoURL": "https://git.example.com/platform/fleet.git",
                             "targetRevision": "main", "path": "{{.path}}"}
    policy = app["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert policy["retry"]["limit"] > 0 and set(policy["retry"]["backoff"]) == {
        "duration", "factor", "maxDuration"}
    assert spec["template"]["metadata"]["name"] == "bookinfo-fleet-{{.cluster}}"


def test_appproject_allows_the_repo_the_clusters_and_only_what_overlays_hold(
        example: Build) -> None:
    project = one(example, "delivery/argocd/", "AppProject")
    assert project["metadata"] == {**project["metadata"], "name": "bookinfo-fleet",
                                   "namespace": "openshift-gitops"}
    spec = project["spec"]
    assert spec["sourceRepos"] == ["https://git.example.com/platform/fleet.git"]
    assert [d["name"] for d in spec["destinations"]] == overlay_dirs(example)
    # the Sail operator's Istio and IstioCNI are cluster-scoped (shop-mesh)
    assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"},
                                                {"group": "sailoperator.io", "kind": "Istio"},
                                                {"group": "sailoperator.io", "kind": "IstioCNI"}]
    allowed = {(k["group"], k["kind"]) for k in spec["namespaceResourceWhitelist"]}
    cluster_scoped = {(k["group"], k["kind"]) for k in spec["clusterResourceWhitelist"]}
    written = {(o["apiVersion"].rpartition("/")[0], o["kind"])
               for c in overlay_dirs(example) for o in objects(example, f"{c}/")} - cluster_scoped
    assert allowed == written


# --- ACM -------------------------------------------------------------------------------------

ACM_SUBSCRIPTIONS = """\
delivery:
  repoURL: https://git.example.com/platform/fleet.git
  acm: {namespace: meshes-hub, gitopsCluster: true}
"""
ACM = "apps.open-cluster-management.io/"


@pytest.fixture
def subscribed(write_fleet: FleetWriter, tmp_path: Path) -> Build:
    return build_variant(write_fleet, tmp_path, ACM_SUBSCRIPTIONS)


def test_acm_subscribes_each_cluster_to_exactly_its_overlay(subscribed: Build) -> None:
    acm = objects(subscribed, "delivery/acm/")
    subscriptions = [o for o in acm if o["kind"] == "Subscription"]
    placements = {o["metadata"]["name"]: o for o in acm if o["kind"] == "Placement"}
    clusters = overlay_dirs(subscribed)
    # prefixed with the fleet ("test"), so another fleet's in the same hub namespace differ
    assert sorted(s["metadata"]["name"] for s in subscriptions) == [
        f"test-{c}" for c in clusters]
    for sub in subscriptions:
        cluster = sub["metadata"]["name"].removeprefix("test-")
        notes = sub["metadata"]["annotations"]
        assert notes[ACM + "git-path"] == f"overlays/{cluster}"
        assert notes[ACM + "git-branch"] == "main"
        assert sub["spec"]["channel"] == "meshes-hub/test"
        ref = sub["spec"]["placement"]["placementRef"]
        assert ref["name"] == sub["metadata"]["name"]
        placement = placements[ref["name"]]
        assert placement["spec"]["numberOfClusters"] == 1
        selector = placement["spec"]["predicates"][0]["requiredClusterSelector"]
        assert selector == {"labelSelector": {"matchLabels": {"name": cluster}}}


def test_acm_placements_tolerate_outages_and_use_a_bound_clusterset(subscribed: Build) -> None:
    acm = objects(subscribed, "delivery/acm/")
    assert {o["metadata"].get("namespace") for o in acm if o["kind"] != "Namespace"} == {
        "meshes-hub"}
    binding = next(o for o in acm if o["kind"] == "ManagedClusterSetBinding")
    assert binding["metadata"]["name"] == binding["spec"]["clusterSet"] == "default"
    channel = next(o for o in acm if o["kind"] == "Channel")
    assert channel["spec"] == {"type": "Git",
                               "pathname": "https://git.example.com/platform/fleet.git"}
    for placement in (o for o in acm if o["kind"] == "Placement"):
        assert placement["spec"]["clusterSets"] == ["default"]
        keys = {(t["key"], t["operator"]) for t in placement["spec"]["tolerations"]}
        assert keys == {("cluster.open-cluster-management.io/unreachable", "Exists"),
                        ("cluster.open-cluster-management.io/unavailable", "Exists")}
    assert not [rel for rel in subscribed.files if "placementrule" in rel.lower()]
    assert all(b"PlacementRule" not in data for data in subscribed.files.values())


def test_acm_bundles_pass_kustomize_and_the_crds(subscribed: Build, tmp_path: Path,
                                                 schemas: SchemaSet) -> None:
    out = tmp_path / "written"
    write_tree(out, subscribed.files)
    report = verify_tree(out, subscribed.files, schemas)
    assert report.problems == []
    assert report.delivery == 2  # delivery/acm and delivery/gitopscluster


def test_two_fleets_share_one_hub_namespace(write_fleet: FleetWriter, tmp_path: Path) -> None:
    first = build_variant(write_fleet, tmp_path / "a", ACM_SUBSCRIPTIONS)
    second = compile_fleet(write_fleet(
        (TWO_CLUSTERS + MESHES + ACM_SUBSCRIPTIONS).replace("{name: test}", "{name: other}")),
        tmp_path / "b" / "out")
    hub = [{(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"])
            for o in objects(build, "delivery/") if o["kind"] in ("Placement", "Subscription",
                                                                 "GitOpsCluster", "Channel")}
           for build in (first, second)]
    assert hub[0] and hub[1] and not hub[0] & hub[1]


def test_gitopscluster_sits_in_the_argocd_namespace_with_its_placement(example: Build) -> None:
    """The GitOpsCluster controller refuses another namespace's Argo CD unless that
    namespace carries apps.open-cluster-management.io/gitops-argo-namespace=true."""
    hub = objects(example, "delivery/gitopscluster/")
    assert {o["metadata"]["namespace"] for o in hub} == {"openshift-gitops"}
    gitops = next(o for o in hub if o["kind"] == "GitOpsCluster")
    assert gitops["spec"]["argoServer"] == {"argoNamespace": "openshift-gitops"}
    ref = gitops["spec"]["placementRef"]
    placement = next(o for o in hub if o["kind"] == "Placement"
                     and o["metadata"]["name"] == ref["name"])
    expression = placement["spec"]["predicates"][0]["requiredClusterSelector"][
        "labelSelector"]["matchExpressions"][0]
    assert expression == {"key": "name", "operator": "In", "values": overlay_dirs(example)}
    binding = next(o for o in hub if o["kind"] == "ManagedClusterSetBinding")
    assert placement["spec"]["clusterSets"] == [binding["spec"]["clusterSet"]]


def test_example_syncs_with_one_engine(example: Build) -> None:
    """ACM registers the clusters (GitOpsCluster), Argo CD syncs: no ACM Subscription."""
    assert not [rel for rel in example.files if rel.startswith("delivery/acm/")]
    assert one(example, "delivery/argocd/", "ApplicationSet")
    assert not [o for o in objects(example, "delivery/")
                if o["kind"] in ("Subscription", "Channel")]
    assert not [w for w in example.plan.warnings if w.code == "MG131"]


def test_acm_replaces_what_meshgen_owns_and_never_deletes_member_namespaces(
        subscribed: Build, example: Build) -> None:
    members = {ns for m in subscribed.plan.meshes for ns in m.members}
    for obj in objects(subscribed, "east/"):
        notes = obj["metadata"]["annotations"]
        group = obj["apiVersion"].rpartition("/")[0]
        if group in ("maistra.io", "federation.maistra.io"):
            assert notes[ACM + "reconcile-option"] == "replace", obj["metadata"]
        else:  # the Subscription's merge: the operator labels member Namespaces
            assert ACM + "reconcile-option" not in notes, obj["metadata"]
        if obj["kind"] == "Namespace" and obj["metadata"]["name"] in members:
            assert notes[ACM + "do-not-delete"] == "true"
        else:
            assert ACM + "do-not-delete" not in notes, obj["metadata"]
    # Argo CD alone has its own annotations for this
    assert not [o for o in objects(example, "east/")
                if any(k.startswith(ACM) for k in o["metadata"]["annotations"])]


def test_both_engines_syncing_is_a_warning(write_fleet: FleetWriter, tmp_path: Path) -> None:
    build = build_variant(write_fleet, tmp_path, ACM_SUBSCRIPTIONS + "  argocd: {}\n")
    assert [w.code for w in build.plan.warnings] == ["MG131"]
    assert objects(build, "delivery/acm/") and objects(build, "delivery/argocd/")


def test_externalsecret_spells_out_what_external_secrets_defaults(
        example: Build, schemas: SchemaSet) -> None:
    [secret] = [o for o in objects(example, "east/")
                if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == "cacerts"]
    refs = [d["remoteRef"] for d in secret["spec"]["data"]]
    assert len(refs) == 4
    for ref in refs:
        assert (ref["conversionStrategy"], ref["decodingStrategy"], ref["metadataPolicy"]) \
            == ("Default", "None", "None")
    # the whole example, this object included, is valid against the v2.9 CRD
    report = verify_tree(EXAMPLE_OVERLAYS, example.files, schemas)
    assert report.problems == []


# --- operators and ordering ------------------------------------------------------------------


def test_operators_come_first_and_follow_the_addons(example: Build) -> None:
    for cluster in overlay_dirs(example):
        subs = [o for o in objects(example, f"{cluster}/") if o["kind"] == "Subscription"]
        packages = sorted(s["spec"]["name"] for s in subs)
        # every example mesh turns Kiali on (stage-mesh off, but prod-mesh on east) and
        # Jaeger off; OSSM 3 (shop-mesh) on east and west only
        ossm3 = ["servicemeshoperator3"] if cluster in ("east", "west") else []
        assert packages == ["kiali-ossm", "servicemeshoperator", *ossm3], cluster
        for sub in subs:
            assert sub["metadata"]["namespace"] == "openshift-operators"
            assert sub["spec"]["source"] == "redhat-operators"
            assert sub["spec"]["sourceNamespace"] == "openshift-marketplace"
            assert sub["spec"]["channel"] == (
                "stable-3.1" if sub["spec"]["name"] == "servicemeshoperator3" else "stable")
            assert int(sub["metadata"]["annotations"][SYNC_WAVE]) < 0


def wave(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["annotations"][SYNC_WAVE])


def test_sync_waves_follow_the_dependency_order(example: Build) -> None:
    for cluster in overlay_dirs(example):
        overlay = objects(example, f"{cluster}/")
        waves: dict[str, set[int]] = {}
        for obj in overlay:
            waves.setdefault(obj["kind"], set()).add(wave(obj))
        late = {"ConfigMap", "ServiceMeshPeer", "ExportedServiceSet", "ImportedServiceSet",
                "ServiceExport"} & set(waves)
        assert late, cluster
        assert max(waves["Namespace"] | waves["Subscription"]) \
            < min(waves["ServiceMeshControlPlane"]) \
            <= max(waves["ServiceMeshControlPlane"]) < min(waves["ServiceMeshMemberRoll"]) \
            <= max(waves["ServiceMeshMemberRoll"]) < min(w for k in late for w in waves[k])


def test_sync_options_skip_dry_run_for_operator_kinds_and_keep_member_namespaces(
        example: Build) -> None:
    members = {(m.cluster.name, ns) for m in example.plan.meshes for ns in m.members} | {
        (c.cluster.name, ns) for m in example.plan.istio for c in m.clusters for ns in m.members}
    control = {(m.cluster.name, m.namespace) for m in example.plan.meshes} | {
        (c.cluster.name, m.namespace) for m in example.plan.istio for c in m.clusters}
    for cluster in overlay_dirs(example):
        for obj in objects(example, f"{cluster}/"):
            options = obj["metadata"]["annotations"].get(SYNC_OPTIONS)
            group = obj["apiVersion"].rpartition("/")[0]
            if group in ("maistra.io", "federation.maistra.io", "multicluster.x-k8s.io",
                         "external-secrets.io", "cert-manager.io", "bitnami.com",
                         "sailoperator.io", "networking.istio.io"):
                assert options == SKIP_DRY_RUN, obj["metadata"]
            elif obj["kind"] == "Namespace" and (cluster, obj["metadata"]["name"]) in members:
                assert options == "Prune=false,Delete=false"
            else:
                assert options is None, obj["metadata"]
    assert control and not control & members


def test_template_override_keeps_its_own_wave_and_adds_to_its_sync_options(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    fleet = write_fleet(TWO_CLUSTERS + """\
        meshes:
          - {name: solo, cluster: east, members: [app]}
        """.replace("        ", ""))
    overrides = tmp_path / "templates"
    (overrides / "ossm2").mkdir(parents=True)
    (overrides / "ossm2/servicemeshmemberroll.yaml.j2").write_text(
        "apiVersion: maistra.io/v1\nkind: ServiceMeshMemberRoll\n"
        "metadata:\n  name: default\n  namespace: {{ mesh.namespace }}\n"
        "  annotations:\n    argocd.argoproj.io/sync-wave: '5'\n"
        "    argocd.argoproj.io/sync-options: Validate=false\n"
        "spec:\n  members: {{ mesh.members | list | tojson }}\n")
    build = compile_fleet(fleet, tmp_path / "out", overrides)
    roll = yaml.safe_load(build.files["east/namespaces/solo/servicemeshmemberroll-default.yaml"])
    assert roll["metadata"]["annotations"] == {
        SYNC_WAVE: "5", SYNC_OPTIONS: f"{SKIP_DRY_RUN},Validate=false"}


# --- variants ---------------------------------------------------------------------------------

MESHES = """\
meshes:
  - name: red
    cluster: east
    members: [red-app]
    addons: {kiali: false}
  - name: blue
    cluster: east
    members: [blue-app]
    addons: {kiali: false}
    smcpSpec: {tracing: {type: Jaeger}}
"""


def build_variant(write_fleet: FleetWriter, tmp_path: Path, extra: str) -> Build:
    fleet = write_fleet(TWO_CLUSTERS + MESHES + extra)
    return compile_fleet(fleet, tmp_path / "out")


def test_no_delivery_section_writes_no_delivery_and_no_operators(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    build = build_variant(write_fleet, tmp_path, "")
    assert not [rel for rel in build.files if rel.startswith("delivery/")]
    assert not [o for o in objects(build, "east/") if o["kind"] == "Subscription"]
    assert build.plan.delivery is None


def test_operator_set_follows_smcp_overrides_and_skips_clusters_without_meshes(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    build = build_variant(write_fleet, tmp_path, """\
operators: {install: true, channel: stable-2.6, source: my-catalog, approval: Manual}
""")
    subs = {o["spec"]["name"]: o for o in objects(build, "east/") if o["kind"] == "Subscription"}
    # Kiali is off on both meshes; blue's smcpSpec turns Jaeger tracing on
    assert sorted(subs) == ["jaeger-product", "servicemeshoperator"]
    assert subs["servicemeshoperator"]["spec"]["channel"] == "stable-2.6"
    assert subs["jaeger-product"]["spec"]["channel"] == "stable"
    assert {s["spec"]["installPlanApproval"] for s in subs.values()} == {"Manual"}
    assert {s["spec"]["source"] for s in subs.values()} == {"my-catalog"}
    assert not [o for o in objects(build, "west/") if o["kind"] == "Subscription"]


def test_default_profile_counts_as_kiali_and_tracing(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    fleet = write_fleet(TWO_CLUSTERS + """\
meshes:
  - {name: plain, cluster: west, members: [app]}
operators: {install: true}
""")
    build = compile_fleet(fleet, tmp_path / "out")
    packages = sorted(o["spec"]["name"] for o in objects(build, "west/")
                      if o["kind"] == "Subscription")
    assert packages == ["jaeger-product", "kiali-ossm", "servicemeshoperator"]


def test_only_argocd_and_custom_names(write_fleet: FleetWriter, tmp_path: Path,
                                      schemas: SchemaSet) -> None:
    build = build_variant(write_fleet, tmp_path, """\
delivery:
  repoURL: git@git.example.com:platform/fleet.git
  targetRevision: HEAD
  path: clusters/rendered
  argocd: {namespace: argocd, project: meshes}
""")
    assert not [rel for rel in build.files if rel.startswith("delivery/acm/")]
    appset = one(build, "delivery/argocd/", "ApplicationSet")
    assert appset["metadata"]["namespace"] == "argocd"
    assert appset["spec"]["template"]["spec"]["project"] == "meshes"
    assert [e["path"] for e in appset["spec"]["generators"][0]["list"]["elements"]] == [
        "clusters/rendered/east", "clusters/rendered/west"]
    out = tmp_path / "out"
    write_tree(out, build.files)
    report = verify_tree(out, build.files, schemas)
    assert report.problems == []
    assert report.delivery == 3


def test_acm_without_gitopscluster(write_fleet: FleetWriter, tmp_path: Path) -> None:
    build = build_variant(write_fleet, tmp_path, """\
delivery:
  repoURL: https://git.example.com/platform/fleet.git
  targetRevision: release-1
  acm: {namespace: meshes-hub}
""")
    kinds = sorted(o["kind"] for o in objects(build, "delivery/acm/"))
    assert kinds == ["Channel", "ManagedClusterSetBinding", "Namespace", "Placement",
                     "Placement", "Subscription", "Subscription"]
    assert not [rel for rel in build.files if rel.startswith("delivery/gitopscluster/")]
    assert not [rel for rel in build.files if rel.startswith("delivery/argocd/")]


def test_removing_delivery_prunes_its_files(write_fleet: FleetWriter, tmp_path: Path) -> None:
    delivered = build_variant(write_fleet, tmp_path, """\
delivery:
  repoURL: https://git.example.com/platform/fleet.git
  argocd: {}
  acm: {namespace: hub}
""")
    out = tmp_path / "out"
    write_tree(out, delivered.files)
    (out / "delivery" / "README.md").write_text("kept: meshgen did not write this\n")
    plain = build_variant(write_fleet, tmp_path, "")
    diff = write_tree(out, plain.files)
    assert sorted(diff.stale) == sorted(r for r in delivered.files if r.startswith("delivery/"))
    assert generated_files(out) == set(plain.files)
    assert (out / "delivery" / "README.md").is_file()


# --- components --------------------------------------------------------------------------------


def test_health_component_adds_checks_to_an_existing_argocd_cm(
        example: Build, tmp_path: Path) -> None:
    """A user's own Argo CD configuration includes the component; kustomize merges the
    checks in and keeps the keys that were there."""
    config = tmp_path / "gitops-config"
    config.mkdir()
    (config / "argocd-cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n"
        "  namespace: openshift-gitops\ndata:\n  kustomize.buildOptions: --enable-helm\n")
    component = EXAMPLE_OVERLAYS / "delivery" / "argocd" / "health" / "argocd-cm"
    relative = Path(*[".."] * len(config.parts[1:])) / component.relative_to("/")
    (config / "kustomization.yaml").write_text(
        f"resources: [argocd-cm.yaml]\ncomponents: [{relative.as_posix()}]\n")
    merged = yaml.safe_load(kustomize.build(config))
    assert merged["data"]["kustomize.buildOptions"] == "--enable-helm"
    assert sorted(merged["data"]) == [
        "kustomize.buildOptions",
        "resource.customizations.health.federation.maistra.io_ServiceMeshPeer",
        "resource.customizations.health.maistra.io_ServiceMeshControlPlane",
        "resource.customizations.health.maistra.io_ServiceMeshMemberRoll",
        "resource.customizations.health.operators.coreos.com_Subscription",
        "resource.customizations.health.sailoperator.io_Istio",
        "resource.customizations.health.sailoperator.io_IstioCNI"]


def test_both_health_forms_carry_the_same_scripts(example: Build) -> None:
    configmap = one(example, "delivery/argocd/health/argocd-cm/", "ConfigMap")
    argocd = one(example, "delivery/argocd/health/openshift-gitops/", "ArgoCD")
    assert argocd["metadata"] == {"name": "openshift-gitops", "namespace": "openshift-gitops"}
    from_operator = {f"resource.customizations.health.{c['group']}_{c['kind']}": c["check"]
                     for c in argocd["spec"]["resourceHealthChecks"]}
    assert from_operator == configmap["data"]
    assert "labels" not in configmap["metadata"]  # a patch must not relabel argocd-cm


def test_upstream_argocd_gets_patches_for_its_own_namespace_and_instance(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    """argocd.namespace/argocd.instance name the Argo CD the patches are for; the argocd-cm
    component then applies to an upstream installation's argocd-cm."""
    build = build_variant(write_fleet, tmp_path, """\
delivery:
  repoURL: https://git.example.com/platform/fleet.git
  argocd: {namespace: argocd, instance: argocd}
""")
    configmap = one(build, "delivery/argocd/health/argocd-cm/", "ConfigMap")
    assert configmap["metadata"] == {"name": "argocd-cm", "namespace": "argocd"}
    argocd = one(build, "delivery/argocd/health/openshift-gitops/", "ArgoCD")
    assert argocd["metadata"] == {"name": "argocd", "namespace": "argocd"}
    # no operators installed: Argo CD's own OLM Subscription check stays untouched
    assert not [k for k in configmap["data"] if "operators.coreos.com" in k]
    out = tmp_path / "out"
    write_tree(out, build.files)
    config = tmp_path / "argocd-config"
    config.mkdir()
    (config / "argocd-cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n"
        "  namespace: argocd\ndata:\n  url: https://argocd.example.com\n")
    component = out / "delivery" / "argocd" / "health" / "argocd-cm"
    (config / "kustomization.yaml").write_text(
        f"resources: [argocd-cm.yaml]\ncomponents: [{os.path.relpath(component, config)}]\n")
    merged = yaml.safe_load(kustomize.build(config))
    assert merged["metadata"]["namespace"] == "argocd"
    assert len(merged["data"]) == 4 and merged["data"]["url"] == "https://argocd.example.com"


# --- delivery.path against where the overlays really are ---------------------------------------

DELIVERED = """\
delivery:
  repoURL: https://git.example.com/platform/fleet.git
  path: clusters
  argocd: {}
"""


def test_warns_when_overlays_are_not_where_delivery_path_says(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the fleet lives in a repository
    build = build_variant(write_fleet, tmp_path, DELIVERED)  # writes to <repo>/out
    warnings = [w for w in build.warnings if w.code == "MG106"]
    assert len(warnings) == 1
    assert warnings[0].location.line == len((TWO_CLUSTERS + MESHES).splitlines()) + 3
    assert 'delivery.path is "clusters" but the overlays are written to "out"' in \
        warnings[0].message
    right = compile_fleet(tmp_path / "fleet.yaml", tmp_path / "clusters")
    assert not [w for w in right.warnings if w.code == "MG106"]


def test_no_path_warning_outside_a_repository(write_fleet: FleetWriter, tmp_path: Path) -> None:
    build = build_variant(write_fleet, tmp_path, DELIVERED)
    assert not [w for w in build.warnings if w.code == "MG106"]
