"""The fingerprint's view of a peering's peer mesh (meshgen.reuse.PEER_VIEW) holds all
that the bundled templates and the ossm2 objects read of it: rendering with peers that
have nothing else gives the same files, and a change of a peer outside the view leaves
the clusters peered with it reusable."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any, cast

import pytest
from test_bench import bench_module

from conftest import EXAMPLE_FLEET, REPO
from meshgen import build as build_module
from meshgen import reuse
from meshgen.ca import certificate_pem, make_certificate
from meshgen.plan.types import MeshPlan, Plan


class PeerView:
    """A peer mesh that has only PEER_VIEW: reading anything else fails the render."""

    def __init__(self, mesh: Any) -> None:
        self._mesh = mesh

    def __getattr__(self, name: str) -> Any:
        if name not in reuse.PEER_VIEW:
            raise AttributeError(f"rendering read {name!r} of a peer mesh, outside PEER_VIEW")
        return getattr(self._mesh, name)


def fleets(tmp_path: Path) -> list[Path]:
    shutil.copytree(EXAMPLE_FLEET.parent, tmp_path / "example")
    bench = bench_module()
    vars(bench).update(MESHES_PER_CLUSTER=2, FEDERATION_SIZE=3)
    pem = certificate_pem(make_certificate("root")[0])
    (tmp_path / "synthetic").mkdir()
    synthetic: Path = bench.write_fleet(bench.synthetic_fleet(20), tmp_path / "synthetic", pem)
    return [tmp_path / "example" / "fleet.yaml", synthetic]


def test_rendering_reads_nothing_of_a_peer_outside_the_view(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Plan.peerings_of
    for fleet in fleets(tmp_path):
        whole = build_module.compile_fleet(fleet, fleet.parent / "overlays").files
        with monkeypatch.context() as patch:
            patch.setattr(Plan, "peerings_of", lambda plan, mesh: [
                dataclasses.replace(p, peer=cast(MeshPlan, PeerView(p.peer)))
                for p in real(plan, mesh)])
            viewed = build_module.compile_fleet(fleet, fleet.parent / "overlays").files
        assert viewed == whole, fleet
        assert any(b"ServiceMeshPeer" in data for data in whole.values()), fleet


def test_every_peer_attribute_the_bundled_templates_name_is_in_the_view() -> None:
    """Also what no test fleet reaches: `peer.<attribute>` in any bundled template."""
    named = {match.group(1) for path in (REPO / "templates").rglob("*.j2")
             for match in re.finditer(r"\bpeer\.([a-z_]+)", path.read_text())}
    assert named and named <= set(reuse.PEER_VIEW), named - set(reuse.PEER_VIEW)


def test_a_peer_change_outside_the_view_leaves_its_peers_reusable(tmp_path: Path) -> None:
    fleet = fleets(tmp_path)[1]
    plan = build_module.plan_fleet(fleet)
    mesh = next(m for m in plan.meshes if plan.peerings_of(m))
    peer = plan.peerings_of(mesh)[0].peer
    cluster = mesh.cluster.name
    narrow = reuse.fingerprint(plan, cluster, "f", overridden=False)
    whole = reuse.fingerprint(plan, cluster, "f", overridden=True)
    peer.members = (*peer.members, "another-namespace")
    assert reuse.fingerprint(plan, cluster, "f", overridden=False) == narrow
    assert reuse.fingerprint(plan, cluster, "f", overridden=True) != whole
    peer.trust_domain = "elsewhere.local"
    assert reuse.fingerprint(plan, cluster, "f", overridden=False) != narrow
