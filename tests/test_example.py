"""The bundled example fleet: golden tree, real kustomize, yamllint and CRD schemas.

Regenerate the golden tree after a deliberate change with:  meshgen build
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE_FLEET, EXAMPLE_OVERLAYS, REPO
from meshgen import kustomize
from meshgen.build import Build, compile_fleet
from meshgen.output import generated_files
from meshgen.verify import YAMLLINT_CONFIG, SchemaSet, lint, verify_tree


@pytest.fixture(scope="module")
def example() -> Build:
    return compile_fleet(EXAMPLE_FLEET, EXAMPLE_OVERLAYS)


def test_committed_overlays_match_the_build(example: Build) -> None:
    assert generated_files(EXAMPLE_OVERLAYS) == set(example.files), "run: meshgen build"
    for rel, data in example.files.items():
        assert (EXAMPLE_OVERLAYS / rel).read_bytes() == data, f"{rel} is stale: meshgen build"


def test_example_models_both_documented_scenarios(example: Build) -> None:
    plan = example.plan
    assert [m.name for m in plan.meshes_on("east")] == ["east-mesh", "prod-mesh", "stage-mesh"]
    pairs = {(p.local.name, p.peer.name) for p in plan.peerings}
    assert {("prod-mesh", "stage-mesh"), ("stage-mesh", "prod-mesh")} <= pairs
    for a in ("east-mesh", "west-mesh", "central-mesh"):
        for b in ("east-mesh", "west-mesh", "central-mesh"):
            assert a == b or (a, b) in pairs
    prod_from_stage = next(p for p in plan.peerings
                           if (p.local.name, p.peer.name) == ("prod-mesh", "stage-mesh"))
    assert prod_from_stage.imports[0].alias_name == "details-v2"
    assert {c.ingress_type for c in plan.clusters} == {"LoadBalancer", "Submariner"}


def test_every_overlay_builds_with_real_kustomize_and_passes_crds(
        example: Build, schemas: SchemaSet) -> None:
    report = verify_tree(EXAMPLE_OVERLAYS, example.files, schemas)
    assert report.problems == []
    assert report.overlays == 3
    assert report.delivery == 4
    kustomizations = [rel for rel in example.files if rel.endswith("/kustomization.yaml")]
    assert report.objects == len(example.files) - len(kustomizations)


def test_crd_validation_catches_a_typo(example: Build, schemas: SchemaSet) -> None:
    peer = yaml.safe_load(
        example.files["east/namespaces/prod-mesh/servicemeshpeer-stage-mesh.yaml"])
    assert list(schemas.errors(peer)) == []
    broken = copy.deepcopy(peer)
    broken["spec"]["remote"]["discoveryport"] = 8188
    assert any("discoveryport" in e for e in schemas.errors(broken))
    broken = copy.deepcopy(peer)
    broken["spec"]["remote"]["servicePort"] = "15443"
    assert any("is not of type 'integer'" in e for e in schemas.errors(broken))
    broken = copy.deepcopy(peer)
    del broken["spec"]["security"]["certificateChain"]["kind"]
    assert any("'kind' is a required property" in e for e in schemas.errors(broken))


def test_kustomize_fails_on_a_broken_overlay(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    with pytest.raises(kustomize.KustomizeFailed):
        kustomize.build(tmp_path)


def test_yamllint_runs_with_the_repository_config(example: Build) -> None:
    assert (REPO / ".yamllint").read_text() == YAMLLINT_CONFIG
    assert list(lint(example.files)) == []
    assert list(lint({"bad.yaml": b"a: 1\na:  [ 2 ]\n"}))  # the linter does find problems


def test_build_is_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    digests = set()
    for seed in ("0", "1", "12345"):
        out = tmp_path / f"out-{seed}"
        subprocess.run([sys.executable, "-m", "meshgen", "build", str(EXAMPLE_FLEET), "--out",
                        str(out)], check=True, capture_output=True,
                       env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
        digests.add(tuple(sorted((p.relative_to(out).as_posix(), p.read_bytes())
                                 for p in out.rglob("*") if p.is_file())))
    assert len(digests) == 1


def test_pem_is_a_literal_block_and_no_key_material(example: Build) -> None:
    text = example.files["east/namespaces/prod-mesh/configmap-stage-mesh-ca-root-cert.yaml"]
    assert b"  root-cert.pem: |\n    -----BEGIN CERTIFICATE-----\n" in text
    for data in example.files.values():
        assert b"PRIVATE KEY" not in data
