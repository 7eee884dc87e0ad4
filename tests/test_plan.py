from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from conftest import TWO_CLUSTERS, FleetWriter
from meshgen.backends.ossm2.services import _provides
from meshgen.certs import RootCertificate, read_root
from meshgen.errors import FleetError
from meshgen.model import parse_fleet
from meshgen.plan import Plan, build_plan, deep_merge, gateway_for, substitute
from meshgen.plan.types import ExportRule
from meshgen.source import load


def plan_of(path: Path) -> Plan:
    source = load(path, "fleet.yaml")
    return build_plan(parse_fleet(source), source, path.parent)


def line_of(text: str, needle: str) -> int:
    """1-based line of the first occurrence of needle."""
    return text[: text.index(needle)].count("\n") + 1


def errors_of(path: Path) -> list[tuple[str, int]]:
    with pytest.raises(FleetError) as exc:
        plan_of(path)
    return sorted((p.code, p.location.line) for p in exc.value.problems.errors)


THREE_MESHES = TWO_CLUSTERS + """\
defaults:
  version: v2.5
  addons: {prometheus: true, kiali: true}
  rootCert: "certs/{mesh}.pem"
meshes:
  - {name: red, cluster: east, members: [red-app]}
  - {name: green, cluster: east, members: [green-app], gatewayNaming: prefix,
     addons: {kiali: false}}
  - {name: blue, cluster: west, namespace: blue-system, members: [blue-app],
     trustDomain: blue.example}
federations:
  - name: colours
    meshes: [red, green, blue]
"""


def test_full_federation_mirrors_every_pair(write_fleet: FleetWriter) -> None:
    plan = plan_of(write_fleet(THREE_MESHES, certs=("red", "green", "blue")))
    pairs = [(p.local.name, p.peer.name) for p in plan.peerings]
    assert pairs == [("blue", "green"), ("blue", "red"), ("green", "blue"), ("green", "red"),
                     ("red", "blue"), ("red", "green")]
    assert plan.mesh("red").peers == ["blue", "green"]


def test_defaults_are_deep_merged_under_each_mesh(write_fleet: FleetWriter) -> None:
    plan = plan_of(write_fleet(THREE_MESHES, certs=("red", "green", "blue")))
    assert plan.mesh("red").addons == {"prometheus": True, "kiali": True}
    assert plan.mesh("green").addons == {"prometheus": True, "kiali": False}
    assert plan.mesh("blue").version == "v2.5"
    assert plan.mesh("blue").root_cert_path == "certs/blue.pem"
    assert plan.mesh("blue").origin("trustDomain") == ("meshes", 2, "trustDomain")
    assert plan.mesh("red").origin("version") == ("defaults", "version")


def test_addresses_client_ids_and_gateways(write_fleet: FleetWriter) -> None:
    plan = plan_of(write_fleet(THREE_MESHES, certs=("red", "green", "blue")))
    by = {(p.local.name, p.peer.name): p for p in plan.peerings}
    # same cluster: in-cluster DNS, ClusterIP ingress
    red_green = by[("red", "green")]
    assert red_green.address == "ingress-red.green.svc.cluster.local"  # green uses prefix
    assert red_green.ingress.name == "green-ingress" and red_green.ingress.service_type == \
        "ClusterIP"
    assert red_green.client_id == "green.local/ns/green/sa/egress-red-service-account"
    # red (east, LoadBalancer) seen from blue: <gateway>.<ns>.<domain>
    blue_red = by[("blue", "red")]
    assert blue_red.address == "blue-ingress.red.apps.east.example.com"
    assert blue_red.client_id == "red.local/ns/red/sa/blue-egress-service-account"
    red_blue = by[("red", "blue")]
    assert red_blue.ingress.service_type == "LoadBalancer"
    assert red_blue.ingress.annotations == {
        "external-dns.alpha.kubernetes.io/hostname": "blue-ingress.red.apps.east.example.com"}
    assert not red_blue.service_export
    # blue's cluster is Submariner: clusterset address, ClusterIP + ServiceExport
    assert red_blue.address == "red-ingress.blue-system.svc.clusterset.local"
    assert red_blue.client_id == "blue.example/ns/blue-system/sa/red-egress-service-account"
    assert blue_red.ingress.service_type == "ClusterIP" and blue_red.service_export
    assert red_blue.egress.router_mode is None


def test_star_topology_and_router_mode(write_fleet: FleetWriter) -> None:
    text = THREE_MESHES.replace("version: v2.5", "version: v2.1").replace(
        "meshes: [red, green, blue]", "meshes: [red, green, blue]\n    topology: star\n"
        "    hub: blue")
    plan = plan_of(write_fleet(text, certs=("red", "green", "blue")))
    assert sorted((p.local.name, p.peer.name) for p in plan.peerings) == [
        ("blue", "green"), ("blue", "red"), ("green", "blue"), ("red", "blue")]
    assert {p.egress.router_mode for p in plan.peerings} == {"sni-dnat"}


def test_templates_expand_by_selector_with_substitution(write_fleet: FleetWriter) -> None:
    text = TWO_CLUSTERS + """\
meshTemplates:
  - name: mesh
    clusterSelector: {matchExpressions: [{key: zone, operator: In, values: [a, b]}]}
    template:
      namespace: mesh-system
      members: ["{cluster}-app"]
      rootCert: "certs/{mesh}.pem"
federations:
  - {name: all, meshes: [east-mesh, west-mesh]}
"""
    plan = plan_of(write_fleet(text, certs=("east-mesh", "west-mesh")))
    assert [m.name for m in plan.meshes] == ["east-mesh", "west-mesh"]
    assert plan.mesh("west-mesh").members == ("west-app",)
    assert plan.mesh("east-mesh").namespace == "mesh-system"
    assert plan.mesh("east-mesh").origin("name") == ("meshTemplates", 0, "name")


EXPORTS = THREE_MESHES + """\
exports:
  - mesh: red
    to: [blue]
    services:
      - {namespace: red-app, name: ratings, alias: {namespace: bookinfo}}
      - {namespace: red-app, selector: {app: reviews}, alias: {namespace: shared}}
  - mesh: green
    services:
      - {namespace: "*", name: details}
imports:
  - mesh: blue
    from: red
    services:
      - {namespace: bookinfo, name: ratings, alias: {namespace: blue-app}, asLocal: true}
      - {namespace: shared, name: reviews}
  - mesh: red
    from: green
    services:
      - {namespace: green-app, name: details, alias: {name: details-v2}}
"""


def test_exports_and_imports_resolve_per_peer(write_fleet: FleetWriter) -> None:
    plan = plan_of(write_fleet(EXPORTS, certs=("red", "green", "blue")))
    by = {(p.local.name, p.peer.name): p for p in plan.peerings}
    assert [r.exported_as for r in by[("red", "blue")].exports] == [("bookinfo", "ratings"),
                                                                  ("shared", "*")]
    assert by[("red", "green")].exports == []
    assert len(by[("green", "red")].exports) == len(by[("green", "blue")].exports) == 1
    ratings = by[("blue", "red")].imports[0]
    assert by[("blue", "red")].imported_hostname(ratings, "ratings", "bookinfo") == \
        "ratings.blue-app.svc.cluster.local"
    details = by[("red", "green")].imports[0]
    assert by[("red", "green")].imported_hostname(details, "details", "green-app") == \
        "details-v2.green-app.svc.green-imports.local"


def test_import_must_match_the_exported_name(write_fleet: FleetWriter) -> None:
    # red exports ratings under namespace bookinfo: the original namespace does not match
    text = EXPORTS.replace("{namespace: bookinfo, name: ratings, alias: {namespace: blue-app}, "
                           "asLocal: true}", "{namespace: red-app, name: ratings}")
    assert errors_of(write_fleet(text, certs=("red", "green", "blue"))) == [
        ("MG074", line_of(text, "{namespace: red-app, name: ratings}"))]


def test_cross_object_rules_report_every_error(write_fleet: FleetWriter) -> None:
    text = THREE_MESHES + """\
  - name: again
    meshes: [red, blue]
exports:
  - mesh: red
    services:
      - {namespace: not-a-member, name: x}
"""
    text = text.replace("trustDomain: blue.example", "trustDomain: red.local")
    found = errors_of(write_fleet(text, certs=("red", "green", "blue")))
    assert found == [("MG042", line_of(text, "- name: again")),
                     ("MG044", line_of(text, "trustDomain: red.local")),
                     ("MG071", line_of(text, "not-a-member"))]


def test_missing_root_certificate_is_located(write_fleet: FleetWriter) -> None:
    found = errors_of(write_fleet(THREE_MESHES, certs=("red", "green")))
    # blue's rootCert comes from defaults; its selfSigned root is not imported yet
    assert found == [("MG056", 14)]


def test_substitute_and_deep_merge() -> None:
    assert substitute({"a": ["{mesh}-x", 1], "b": "{cluster}"}, {"mesh": "m", "cluster": "c"}) \
        == {"a": ["m-x", 1], "b": "c"}
    base = {"a": {"b": 1, "c": [1]}, "d": 1}
    assert deep_merge(base, {"a": {"c": [2], "e": 3}}) == {"a": {"b": 1, "c": [2], "e": 3},
                                                           "d": 1}
    assert base == {"a": {"b": 1, "c": [1]}, "d": 1}


def test_gateway_naming(write_fleet: FleetWriter) -> None:
    plan = plan_of(write_fleet(THREE_MESHES, certs=("red", "green", "blue")))
    assert gateway_for(plan.mesh("red"), "egress", "blue") == "blue-egress"
    assert gateway_for(plan.mesh("green"), "ingress", "blue") == "ingress-blue"


def _rule(namespace: str, name: str | None = None, *, selector: dict[str, str] | None = None,
          alias_namespace: str | None = None, alias_name: str | None = None) -> ExportRule:
    return ExportRule(namespace=namespace, name=name, selector=selector,
                      alias_namespace=alias_namespace, alias_name=alias_name, origin=())


@pytest.mark.parametrize(("rules", "wanted", "provided"), [
    # the first rule renames a to b, so the "*" rule after it never exports a as a
    ([_rule("x", "a", alias_name="b"), _rule("x", "*")], ("x", "a"), False),
    ([_rule("x", "a", alias_name="b"), _rule("x", "*")], ("x", "b"), True),
    ([_rule("x", "a", alias_name="b"), _rule("x", "*")], ("x", "c"), True),
    # a label selector may or may not catch a: meshgen cannot know, so it does not refuse
    ([_rule("x", selector={"app": "y"}), _rule("x", "*")], ("x", "a"), True),
    # x/a is caught (and exported as x/a) by the first rule, never moved to y
    ([_rule("x", "a"), _rule("x", "*", alias_namespace="y")], ("y", "a"), False),
    ([_rule("x", "a"), _rule("x", "*", alias_namespace="y")], ("y", "b"), True),
    # a rule for every namespace may export an a that lives in y itself
    ([_rule("*", "a"), _rule("x", "*", alias_namespace="y")], ("y", "a"), True),
])
def test_first_matching_export_rule_wins(rules: list[ExportRule], wanted: tuple[str, str],
                                         provided: bool) -> None:
    assert any(_provides(rules, k, wanted) for k in range(len(rules))) is provided


CONSEQUENCES = TWO_CLUSTERS + """\
meshes:
  - {name: red, cluster: east, members: [red-app], rootCert: certs/red.pem}
  - {name: blue, cluster: weast, members: [blue-app], rootCert: certs/blue.pem}
  - {name: green, cluster: west, members: [green-app], rootCert: certs/green.pem}
meshTemplates:
  - {name: tm, clusters: [north], template: {members: [tm-app]}}
federations:
  - {name: colours, meshes: [red, blue, green, north-tm]}
exports:
  - mesh: blue
    services: [{namespace: blue-app, name: x}]
  - mesh: red
    to: [blue, green]
    services: [{namespace: red-app, name: x}]
imports:
  - mesh: blue
    from: red
    services: [{namespace: red-app, name: x}]
  - mesh: green
    from: blue
    services: [{namespace: blue-app, name: x}]
  - mesh: north-tm
    from: red
    services: [{namespace: red-app, name: x}]
"""


def test_a_mesh_on_an_unknown_cluster_is_reported_once(write_fleet: FleetWriter) -> None:
    """The mesh exists for the rules that name it: no "unknown mesh" or "not a peer"
    errors follow from its unknown cluster."""
    found = errors_of(write_fleet(CONSEQUENCES, certs=("red", "blue", "green")))
    assert found == [("MG030", line_of(CONSEQUENCES, "weast")),
                     ("MG030", line_of(CONSEQUENCES, "[north]"))]


def test_a_star_without_hub_is_reported_once(write_fleet: FleetWriter) -> None:
    text = CONSEQUENCES.replace("weast", "west").replace(
        "  - {name: colours, meshes: [red, blue, green, north-tm]}",
        "  - {name: colours, meshes: [red, blue, green], topology: star}").replace(
        "[north]", "[east]").replace("north-tm", "east-tm")
    found = errors_of(write_fleet(text, certs=("red", "blue", "green")))
    assert found == [("MG041", line_of(text, "- {name: colours"))]


def test_unimported_selfsigned_roots_say_once_how_to_begin(write_fleet: FleetWriter) -> None:
    with pytest.raises(FleetError) as exc:
        plan_of(write_fleet(THREE_MESHES))
    missing = [p for p in exc.value.problems.errors if p.code == "MG056"]
    assert sorted(p.message.split('"')[1] for p in missing) == ["blue", "green", "red"]
    advice = [p for p in missing if "without the federation first" in p.hint]
    assert len(advice) == 1 and "plugin CA" in advice[0].hint
    assert all("meshgen certs import" in p.hint for p in missing)


def test_cluster_annotations_only_on_loadbalancer_gateways(write_fleet: FleetWriter) -> None:
    nlb = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    text = THREE_MESHES.replace(
        "ingress: {type: LoadBalancer, domain: apps.east.example.com, clusterset: true}",
        "ingress: {type: LoadBalancer, domain: apps.east.example.com, clusterset: true,\n"
        "              annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}}")
    plan = plan_of(write_fleet(text, certs=("red", "green", "blue")))
    by = {(p.local.name, p.peer.name): p for p in plan.peerings}
    # red and green share cluster east: a ClusterIP gateway, no load-balancer annotations
    assert by[("red", "green")].ingress.service_type == "ClusterIP"
    assert by[("red", "green")].ingress.annotations == {}
    assert by[("red", "blue")].ingress.annotations == {
        **nlb, "external-dns.alpha.kubernetes.io/hostname":
        "blue-ingress.red.apps.east.example.com"}


SHARED_ROOT = TWO_CLUSTERS + """\
defaults:
  version: v2.5
  rootCert: certs/shared.pem
meshes:
  - {name: red, cluster: east, members: [red-app]}
  - {name: green, cluster: east, members: [green-app], gatewayNaming: prefix}
  - {name: blue, cluster: west, members: [blue-app]}
federations:
  - {name: colours, meshes: [red, green, blue]}
"""


def test_a_root_named_by_every_mesh_is_read_once(write_fleet: FleetWriter,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A large fleet names one root from each of its meshes: the file is read and checked
    once per plan, and each mesh still gets the root, or the problem (at the setting)."""
    from meshgen.backends.ossm2 import trust

    reads: list[Path] = []

    def counted(path: Path, now: datetime.datetime | None = None) -> RootCertificate:
        reads.append(path)
        return read_root(path, now)

    monkeypatch.setattr(trust, "read_root", counted)
    path = write_fleet(SHARED_ROOT, certs=("shared",))
    plan = plan_of(path)
    assert len(reads) == 1
    roots = [plan.mesh(m).root for m in ("red", "green", "blue")]
    assert {r.pem if r else None for r in roots} == \
        {(path.parent / "certs" / "shared.pem").read_text()}
    (path.parent / "certs" / "shared.pem").write_text("not a certificate\n")
    reads.clear()
    assert errors_of(path) == [("MG051", line_of(SHARED_ROOT, "rootCert"))]
    assert len(reads) == 1
