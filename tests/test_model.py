from __future__ import annotations

import pytest

from meshgen.errors import FleetError
from meshgen.model import (
    ACM,
    ArgoCD,
    Delivery,
    Fleet,
    MeshSettings,
    Operators,
    field_names,
    parse_fleet,
)
from meshgen.source import loads

HEAD = "apiVersion: meshgen.dev/v1alpha1\nkind: Fleet\nmetadata: {name: f}\n"


def problems(text: str) -> list[tuple[str, int, str, str]]:
    with pytest.raises(FleetError) as exc:
        parse_fleet(loads(HEAD + text, "fleet.yaml"))
    return [(p.code, p.location.line, p.message, p.hint) for p in exc.value.problems]


def test_valid_minimal_fleet() -> None:
    fleet = parse_fleet(loads(HEAD + "clusters: [{name: east}]\n", "fleet.yaml"))
    assert fleet.clusters[0].name == "east"
    assert fleet.meshes == [] and fleet.defaults == MeshSettings()


def test_unknown_field_has_did_you_mean_at_the_key() -> None:
    found = problems("clusters:\n  - name: east\n    lables: {a: b}\n")
    assert found[0][:2] == ("MG010", 6)
    assert 'did you mean "labels"?' in found[0][3]


def test_unknown_nested_field_in_a_template() -> None:
    found = problems("clusters: [{name: e}]\nmeshTemplates:\n  - name: t\n    clusters: [e]\n"
                     "    template:\n      rootcert: x.pem\n")
    assert found[0][:2] == ("MG010", 9)
    assert 'did you mean "rootCert"?' in found[0][3]


def test_all_errors_are_reported_not_only_the_first() -> None:
    found = problems("clusters:\n  - name: East\n  - name: west\n    ingress: {type: LB}\n"
                     "meshes:\n  - {name: m, cluster: west, version: 2.6, members: [1]}\n")
    assert [f[:2] for f in found] == [("MG020", 5), ("MG012", 7), ("MG012", 9), ("MG012", 9)]
    assert "expected 'LoadBalancer' or 'Submariner'" in found[1][3]


def test_missing_required_field() -> None:
    found = problems("clusters: [{name: e}]\nfederations:\n  - name: f\n")
    assert found == [("MG011", 6, 'missing required field "meshes" in federations.0',
                      'add "meshes"')]


def test_strict_types_do_not_coerce() -> None:
    found = problems("clusters: [{name: e}]\nimports:\n  - mesh: a\n    from: b\n"
                     "    services: [{namespace: x, name: y, asLocal: 'true'}]\n")
    assert found[0][0] == "MG012" and found[0][2].endswith("expected boolean, got string")


def test_version_and_trust_domain_formats() -> None:
    found = problems("clusters: [{name: e}]\nmeshes:\n"
                     "  - {name: m, cluster: e, version: '2.6', trustDomain: 'Bad_Domain'}\n")
    assert [f[0] for f in found] == ["MG045", "MG046"]


def test_wrong_api_version_and_kind() -> None:
    with pytest.raises(FleetError) as exc:
        parse_fleet(loads("apiVersion: v1\nkind: Fleat\nmetadata: {name: f}\nclusters: []\n",
                          "fleet.yaml"))
    assert [(p.code, p.location.line) for p in exc.value.problems] == [("MG012", 1),
                                                                       ("MG012", 2)]


def test_field_names_are_the_documented_camel_case_names() -> None:
    assert set(field_names(Fleet)) == {"apiVersion", "kind", "metadata", "defaults", "clusters",
                                       "meshes", "meshTemplates", "federations", "exports",
                                       "imports", "traffic", "delivery", "operators"}
    assert set(field_names(Delivery)) == {"repoURL", "targetRevision", "path", "argocd", "acm"}
    assert {"namespace", "clusterSet", "gitopsCluster"} <= set(field_names(ACM))
    assert {"namespace", "project"} <= set(field_names(ArgoCD))
    assert {"install", "channel", "source"} <= set(field_names(Operators))
    assert "controlPlaneName" in field_names(MeshSettings)
    assert "smcpSpec" in field_names(MeshSettings)
