"""Incremental builds (meshgen/reuse.py, meshgen/cachedetail.py): after a change, only the
clusters whose fingerprint changed are rendered, and the tree is always byte for byte what
a build without the cache writes into a fresh directory."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from test_bench import bench_module

from conftest import EXAMPLE_FLEET, REPO
from meshgen import cache
from meshgen.ca import certificate_pem, make_certificate
from meshgen.cachedetail import Detail, detail_path, load_detail
from meshgen.cli import main

NAMESPACE_OVERRIDE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {{ name }}
  labels:
    team: platform
"""
REUSED = re.compile(r"rendering (\d+) of (\d+) clusters \((\d+) reused\)")

Entry = dict[str, Any]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


def reused(result: Result) -> int:
    found = REUSED.search(result.output)
    return int(found.group(3)) if found else 0


def root_pem(name: str) -> str:
    return certificate_pem(make_certificate(name)[0])


class Fleet:
    """The bench's synthetic fleet in a directory, edited at random: ten clusters and
    federations of three, so that most edits leave most clusters as they were."""

    def __init__(self, directory: Path, rng: random.Random) -> None:
        self.bench = bench_module()
        vars(self.bench).update(MESHES_PER_CLUSTER=2, FEDERATION_SIZE=3)
        self.directory = directory
        self.rng = rng
        self.entry: Entry = self.bench.synthetic_fleet(20)
        self.pem = root_pem("root")
        self.templates: Path | None = None
        self.path = self.write()

    def write(self) -> Path:
        path: Path = self.bench.write_fleet(self.entry, self.directory, self.pem)
        return path

    def mesh(self) -> Entry:
        meshes: list[Entry] = self.entry["meshes"]
        return self.rng.choice(meshes)

    def add_member(self) -> str:
        mesh = self.mesh()
        mesh["members"].append(f"{mesh['name']}-x{self.rng.randrange(1000)}")
        return f"add a member to {mesh['name']}"

    def remove_member(self) -> str:
        mesh = self.mesh()
        if len(mesh["members"]) > 1:
            mesh["members"].pop()
        return f"remove a member of {mesh['name']}"

    def change_setting(self) -> str:
        mesh = self.mesh()
        addons = mesh.setdefault("addons", {})
        addons["kiali"] = not addons.get("kiali", True)
        return f"switch kiali of {mesh['name']}"

    def remove_mesh(self) -> str:
        mesh = self.mesh()
        name = mesh["name"]
        entry = self.entry
        entry["meshes"] = [m for m in entry["meshes"] if m["name"] != name]
        for federation in entry["federations"]:
            federation["meshes"] = [m for m in federation["meshes"] if m != name]
        entry["federations"] = [f for f in entry["federations"] if len(f["meshes"]) > 1]
        federated = {m for f in entry["federations"] for m in f["meshes"]}
        exports = []
        for export in entry["exports"]:
            if "to" in export:
                export["to"] = [m for m in export["to"] if m != name]
            if export["mesh"] in federated and export.get("to", [None]):
                exports.append(export)
        entry["exports"] = exports
        entry["imports"] = [i for i in entry["imports"]
                            if i["mesh"] in federated and i["from"] in federated]
        return f"remove {name}"

    def add_cluster(self) -> str:
        clusters: list[Entry] = self.entry["clusters"]
        cluster = self.bench.cluster_entry(len(clusters))
        clusters.append(cluster)
        mesh = self.mesh()
        mesh["cluster"] = cluster["name"]
        return f"move {mesh['name']} to the new {cluster['name']}"

    def edit_certificate(self) -> str:
        self.pem = root_pem(f"root-{self.rng.randrange(1000)}")
        return "replace the root certificate"

    def switch_templates(self) -> str:
        if self.templates is None:
            self.templates = self.directory.parent / "templates"
            self.templates.mkdir(exist_ok=True)
            (self.templates / "namespace.yaml.j2").write_text(NAMESPACE_OVERRIDE)
            return "build with --templates"
        self.templates = None
        return "build without --templates"

    def edit(self) -> str:
        edits = [self.add_member, self.remove_member, self.change_setting, self.remove_mesh,
                 self.add_cluster, self.edit_certificate, self.switch_templates]
        what: str = self.rng.choice(edits)()
        self.write()
        return what

    def options(self) -> list[str]:
        return ["--templates", str(self.templates)] if self.templates else []


@pytest.mark.parametrize("seed", [1, 2])
def test_an_incremental_build_writes_what_a_fresh_build_writes(tmp_path: Path,
                                                                seed: int) -> None:
    (tmp_path / "repo").mkdir()
    fleet = Fleet(tmp_path / "repo", random.Random(seed))
    out = tmp_path / "repo" / "overlays"
    first = run("build", str(fleet.path), "--out", str(out))
    assert first.exit_code == 0, first.output
    reuses = 0
    for step in range(8):
        what = fleet.edit()
        incremental = run("build", str(fleet.path), "--out", str(out), "--progress",
                          *fleet.options())
        fresh_out = tmp_path / "repo" / f"fresh-{step}"  # beside out: the same headers
        fresh = run("build", str(fleet.path), "--out", str(fresh_out), "--no-cache",
                    *fleet.options())
        assert incremental.exit_code == fresh.exit_code, (what, incremental.output)
        if fresh.exit_code == 0:
            assert tree(out) == tree(fresh_out), what
            # the entry it stored (its tree digest made of earlier records and the
            # exchanged directory walked again) describes the tree exactly
            again = run("build", str(fleet.path), "--out", str(out), *fleet.options())
            assert "(cached)" in again.output, (what, again.output)
        reuses += reused(incremental)
    assert reuses > 0  # the edits did not all touch every cluster


def test_the_detail_keeps_the_chunks_of_the_directories_the_build_left_alone(
        tmp_path: Path) -> None:
    """After a one-member change the detail's chunk of every cluster directory that was
    neither rendered nor written is stored again byte for byte; those of the rendered
    clusters and the written directory are made anew and name the change."""
    (tmp_path / "repo").mkdir()
    fleet = Fleet(tmp_path / "repo", random.Random(3))
    out = tmp_path / "repo" / "overlays"
    assert run("build", str(fleet.path), "--out", str(out)).exit_code == 0

    def detail() -> Detail:
        entry = cache.load_entry(cache.entry_path(fleet.path, out))
        assert entry is not None
        loaded = load_detail(detail_path(cache.entry_path(fleet.path, out)), entry.detail)
        assert loaded is not None
        return loaded

    before = detail()
    mesh = fleet.entry["meshes"][0]
    mesh["members"].append(f"{mesh['name']}-extra")
    fleet.write()
    result = run("build", str(fleet.path), "--out", str(out), "--progress")
    assert reused(result) > 0, result.output
    after = detail()
    assert before.chunks.keys() == after.chunks.keys()
    changed = {top for top in after.chunks if after.chunks[top] != before.chunks[top]}
    assert mesh["cluster"] in changed
    kept = set(after.chunks) - changed
    assert kept and all(after.chunks[top] == before.chunks[top] for top in kept)
    assert f"{mesh['name']}-extra".encode() in after.chunks[mesh["cluster"]].data


def example(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(EXAMPLE_FLEET.parent, tmp_path / "fleet")
    return tmp_path / "fleet" / "fleet.yaml", tmp_path / "overlays"


def build(fleet: Path, out: Path, *extra: str) -> Result:
    result = run("build", str(fleet), "--out", str(out), "--progress", *extra)
    assert result.exit_code == 0, result.output
    return result


def add_member(fleet: Path, before: str, after: str) -> None:
    text = fleet.read_text()
    assert before in text
    fleet.write_text(text.replace(before, after))


def test_an_istio_mesh_change_is_built_as_a_fresh_build(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    build(fleet, out)
    add_member(fleet, "members: [shop]", "members: [shop, shop-extra]")
    result = build(fleet, out)
    assert reused(result) == 1  # the ossm2-only cluster
    run("build", str(fleet), "--out", str(tmp_path / "fresh"), "--no-cache")
    assert tree(out) == tree(tmp_path / "fresh")


def test_a_hand_edit_of_a_reusable_file_means_a_full_build(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    build(fleet, out)
    original = (out / "central" / "kustomization.yaml").read_bytes()
    (out / "central" / "kustomization.yaml").write_bytes(original + b"# edited\n")
    add_member(fleet, "members: [shop]", "members: [shop, shop-extra]")
    result = build(fleet, out)
    assert reused(result) == 0 and "rendering 3 clusters" in result.output
    assert (out / "central" / "kustomization.yaml").read_bytes() == original


@pytest.mark.parametrize("damage", [b"", b"{", b'{"format": 3, "clusters": {}}'])
def test_a_damaged_detail_file_means_a_full_build(tmp_path: Path, damage: bytes) -> None:
    fleet, out = example(tmp_path)
    build(fleet, out)
    detail_path(cache.entry_path(fleet, out)).write_bytes(damage)
    add_member(fleet, "members: [shop]", "members: [shop, shop-extra]")
    result = build(fleet, out)
    assert reused(result) == 0 and "rendering 3 clusters" in result.output
    run("build", str(fleet), "--out", str(tmp_path / "fresh"), "--no-cache")
    assert tree(out) == tree(tmp_path / "fresh")


def test_an_entry_of_another_format_is_not_reused(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    build(fleet, out)
    path = cache.entry_path(fleet, out)
    data = json.loads(path.read_bytes())
    path.write_text(json.dumps({**data, "format": cache.FORMAT - 1}))
    add_member(fleet, "members: [shop]", "members: [shop, shop-extra]")
    assert reused(build(fleet, out)) == 0


def test_a_corrupted_reused_file_after_the_swap_stores_no_entry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kept file whose bytes are not what the entry says once the tree is written (here:
    edited between the write and the stats): no entry, and the next build is a full one."""
    fleet, out = example(tmp_path)
    build(fleet, out)
    add_member(fleet, "members: [shop]", "members: [shop, shop-extra]")
    real_records = cache.rewalked
    kept = out / "central" / "kustomization.yaml"

    def edited_first(root: Path, *walked: Any) -> cache.TreeRecords | None:
        with open(kept, "a") as handle:
            handle.write("# edited during the build\n")
        walked_again: cache.TreeRecords | None = real_records(root, *walked)
        return walked_again

    with monkeypatch.context() as patch:  # undo() would also undo the cache dir fixture
        patch.setattr(cache, "rewalked", edited_first)
        assert reused(build(fleet, out)) == 1
    assert not cache.entry_path(fleet, out).exists()
    again = build(fleet, out)
    assert "(cached)" not in again.output and reused(again) == 0
    run("build", str(fleet), "--out", str(tmp_path / "fresh"), "--no-cache")
    assert tree(out) == tree(tmp_path / "fresh")


def _cli(fleet: Path, out: Path, seed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    process = subprocess.run([sys.executable, "-m", "meshgen", "build", str(fleet), "--out",
                              str(out), "--progress"], env=env, capture_output=True,
                             text=True, check=True)
    return process.stdout + process.stderr


def test_builds_under_other_hash_seeds_reuse_each_others_clusters(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path, random.Random(0))
    out = tmp_path / "overlays"
    _cli(fleet.path, out, 1)
    fleet.entry["meshes"][0]["members"].append("mesh-0000-extra")
    fleet.write()
    said = _cli(fleet.path, out, 2)
    found = REUSED.search(said)
    assert found is not None, said
    # mesh-0000's federation spans three clusters, but its peers' overlays show nothing
    # of its members (reuse.PEER_VIEW): only its own cluster is rendered
    assert (int(found.group(1)), int(found.group(3))) == (1, 9)


def test_an_edit_outside_the_exchanged_directory_during_the_build_is_not_trusted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a write that exchanged one directory only that directory is walked again;
    a file elsewhere edited during the build keeps its earlier record in the entry, which
    no longer matches: the next build neither trusts the tree as up to date nor reuses
    it, and puts the file back."""
    fleet, out = example(tmp_path)
    build(fleet, out)
    add_member(fleet, "members: [stage-bookinfo]", "members: [stage-bookinfo, stage-extra]")
    real_records = cache.rewalked
    edited: list[tuple[str, Path, bytes]] = []

    def edited_first(root: Path, *walked: Any) -> cache.TreeRecords | None:
        staged = walked[1] if len(walked) > 1 else ""
        assert staged, "the change should stay inside one cluster's directory"
        other = next(d for d in sorted(root.iterdir())
                     if d.name not in (staged.split("/")[0], "delivery") and d.is_dir())
        target = other / "kustomization.yaml"
        edited.append((staged, target, target.read_bytes()))
        with open(target, "a") as handle:
            handle.write("# edited during the build\n")
        walked_again: cache.TreeRecords | None = real_records(root, *walked)
        return walked_again

    with monkeypatch.context() as patch:
        patch.setattr(cache, "rewalked", edited_first)
        assert reused(build(fleet, out)) >= 1
    [(_, target, original)] = edited
    assert cache.entry_path(fleet, out).exists()  # stored, with the file's earlier record
    again = build(fleet, out)
    assert "(cached)" not in again.output and reused(again) == 0
    assert target.read_bytes() == original
    run("build", str(fleet), "--out", str(tmp_path / "fresh"), "--no-cache")
    assert tree(out) == tree(tmp_path / "fresh")


def change_after_the_proof(monkeypatch: pytest.MonkeyPatch, victim: Path, change: str
                           ) -> list[int]:
    """Remove or edit victim once the build has proven the tree (the proof is made by a
    child while the fleet loads: the change comes after it, while the fleet compiles);
    the compiles the build runs are counted in the returned list."""
    from meshgen import build as build_module

    real_compile = build_module.compile_fleet
    real_proven = build_module.CacheState.proven
    calls: list[int] = []
    edited: list[int] = []

    def changed_once_proven(state: Any) -> Any:
        proven = real_proven(state)
        if not edited:
            edited.append(1)
            if change == "remove":
                victim.unlink()
            else:
                with open(victim, "a") as handle:
                    handle.write("# edited during the build\n")
        return proven

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real_compile(*args, **kwargs)

    monkeypatch.setattr(build_module, "compile_fleet", counted)
    monkeypatch.setattr(build_module.CacheState, "proven", changed_once_proven)
    return calls


@pytest.mark.parametrize("change", ["remove", "edit"])
def test_a_reused_file_changed_during_the_compile_means_a_full_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """The change spans two cluster directories, so the write stages the whole tree and
    looks at every file: a kept file removed or edited after the proof is seen, and
    the build compiles again without reuse (no traceback); the tree ends exactly as a
    fresh build's, with no entry stored."""
    (tmp_path / "repo").mkdir()
    fleet = Fleet(tmp_path / "repo", random.Random(4))
    out = tmp_path / "repo" / "overlays"
    build(fleet.path, out)
    meshes = fleet.entry["meshes"]
    first = meshes[0]
    last = next(m for m in reversed(meshes) if m["cluster"] != first["cluster"])
    for mesh in (first, last):
        mesh["members"].append(f"{mesh['name']}-extra")
    fleet.write()
    kept = next(d for d in sorted(out.iterdir()) if d.is_dir() and
                d.name not in (first["cluster"], last["cluster"], "delivery"))
    with monkeypatch.context() as patch:
        calls = change_after_the_proof(patch, kept / "kustomization.yaml", change)
        result = build(fleet.path, out)
    assert len(calls) == 2, result.output
    assert "building it whole" in result.output
    assert not cache.entry_path(fleet.path, out).exists()
    run("build", str(fleet.path), "--out", str(tmp_path / "repo" / "fresh"), "--no-cache")
    assert tree(out) == tree(tmp_path / "repo" / "fresh")


@pytest.mark.parametrize("change", ["remove", "edit"])
def test_a_file_changed_during_the_compile_where_the_build_does_not_write_waits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """A kept file of a directory the build leaves as it was (settled: the write does not
    look into it) removed or edited after the proof: the build compiles once and leaves
    it as it is now; the entry keeps its earlier record, so the next build is a full one
    and puts it back."""
    fleet, out = example(tmp_path)
    build(fleet, out)
    add_member(fleet, "members: [stage-bookinfo]", "members: [stage-bookinfo, stage-extra]")
    victim = out / "west" / "kustomization.yaml"
    original = victim.read_bytes()
    with monkeypatch.context() as patch:
        calls = change_after_the_proof(patch, victim, change)
        result = build(fleet, out)
    assert len(calls) == 1 and reused(result) >= 1, result.output
    assert victim.exists() == (change == "edit")
    assert cache.entry_path(fleet, out).exists()
    again = build(fleet, out)
    assert "(cached)" not in again.output and reused(again) == 0
    assert victim.read_bytes() == original
    run("build", str(fleet), "--out", str(tmp_path / "fresh"), "--no-cache")
    assert tree(out) == tree(tmp_path / "fresh")


def test_an_override_that_reads_more_of_a_peer_renders_its_peers_again(
        tmp_path: Path) -> None:
    """With --templates a peering's whole peer mesh counts (reuse.PEER_VIEW is what the
    bundled templates read): an override of the ServiceMeshPeer that shows the peer's
    members is rendered again on every cluster peered with a mesh that got a member."""
    (tmp_path / "repo").mkdir()
    fleet = Fleet(tmp_path / "repo", random.Random(5))
    templates = tmp_path / "templates" / "ossm2"
    templates.mkdir(parents=True)
    bundled = (REPO / "templates" / "ossm2" / "servicemeshpeer.yaml.j2").read_text()
    (templates / "servicemeshpeer.yaml.j2").write_text(bundled.replace(
        '"discoveryPort": 8188,',
        '"discoveryPort": 8188, "note": {{ peering.peer.members | join(",") | tojson }},'))
    out = tmp_path / "repo" / "overlays"
    options = ["--templates", str(tmp_path / "templates")]
    build(fleet.path, out, *options)
    mesh = fleet.entry["meshes"][0]
    mesh["members"].append(f"{mesh['name']}-extra")
    fleet.write()
    result = build(fleet.path, out, *options)
    assert reused(result) > 0, result.output
    run("build", str(fleet.path), "--out", str(tmp_path / "repo" / "fresh"), "--no-cache",
        *options)
    assert tree(out) == tree(tmp_path / "repo" / "fresh")
    assert sum(f"{mesh['name']}-extra".encode() in data for data in tree(out).values()) > 2
