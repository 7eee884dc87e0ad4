"""Istio meshes delivered by ACM Subscriptions: a `cacerts` a controller writes is refused
(MG107, as for ossm2 meshes), the two-step form (`secret: {none: {}}`) builds, and its
overlays and hub bundle pass kustomize and the CRDs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen.build import compile_fleet
from meshgen.errors import FleetError
from meshgen.output import write_tree
from meshgen.verify import SchemaSet, verify_tree

TOPOLOGIES = Path(__file__).resolve().parent / "istio"
ACM = """delivery:
  repoURL: https://git.example.com/platform/mesh.git
  targetRevision: main
  path: overlays
  acm: {namespace: mesh-fleet}
"""
CERT_MANAGER = "    ca: {type: certManager, issuer: {name: prod-root, kind: ClusterIssuer}}\n"


def _fleet(tmp_path: Path, ca: str) -> Path:
    source = (TOPOLOGIES / "primary-remote-multi-network" / "fleet.yaml").read_text()
    assert CERT_MANAGER in source
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(source.replace(CERT_MANAGER, ca) + ACM)
    return fleet


def test_acm_subscriptions_refuse_a_controller_written_cacerts(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path, CERT_MANAGER)
    with pytest.raises(FleetError) as raised:
        compile_fleet(fleet, tmp_path / "overlays")
    problems = [p for p in raised.value.problems if p.code == "MG107"]
    assert len(problems) == 1
    line = fleet.read_text().splitlines().index(CERT_MANAGER.rstrip("\n")) + 1
    assert problems[0].location.line == line
    assert "meshgen ca secret prod --cluster east | oc apply -f -" in problems[0].hint


def test_acm_subscriptions_deliver_a_cacerts_made_first(tmp_path: Path,
                                                      schemas: SchemaSet) -> None:
    fleet = _fleet(tmp_path, "    ca: {type: plugin, secret: {none: {}}}\n")
    out = tmp_path / "overlays"
    build = compile_fleet(fleet, out)
    write_tree(out, build.files)
    report = verify_tree(out, build.files, schemas)
    assert report.problems == []
    subscriptions = [yaml.safe_load(data) for rel, data in build.files.items()
                     if rel.startswith("delivery/acm/subscription-")]
    assert sorted(s["metadata"]["annotations"]["apps.open-cluster-management.io/git-path"]
                  for s in subscriptions) == ["overlays/east", "overlays/edge"]
    # no cacerts source in Git: the Secret is there before the Subscription exists
    assert not [rel for rel in build.files if "cacerts" in rel]
