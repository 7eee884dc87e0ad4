"""The benchmark's synthetic istio fleet builds and has the shape bench/README.md describes,
so `python bench/bench.py --backend istio` measures what it says."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import yaml

from conftest import REPO
from meshgen.build import compile_fleet


def bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("meshgen_bench", REPO / "bench" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_istio_bench_fleet_is_multi_primary_meshes_of_five(tmp_path: Path) -> None:
    bench = bench_module()
    entry = bench.synthetic_istio_fleet(11)  # 5 + 6: a last cluster alone joins the mesh before
    fleet = bench.write_fleet(entry, tmp_path, "unused by istio meshes\n")
    build = compile_fleet(fleet, tmp_path / "out")
    assert [len(m.clusters) for m in build.plan.istio] == [5, 6]
    assert {c.role for m in build.plan.istio for c in m.clusters} == {"primary"}
    assert [m.multi_network for m in build.plan.istio] == [True, False]
    objects = [(rel.split("/")[0], yaml.safe_load(text)) for rel, text in build.files.items()
               if not rel.endswith("kustomization.yaml") and not rel.startswith(".")]
    kinds = [(cluster, obj["kind"], obj["metadata"]["name"]) for cluster, obj in objects]
    remote_secrets = [k for k in kinds if k[2].startswith("istio-remote-secret-")]
    assert len(remote_secrets) == 5 * 4 + 6 * 5  # every primary, every other member
    assert len({c for c, kind, _ in kinds if kind == "Istio"}) == 11
    gateways = {c for c, kind, name in kinds
                if (kind, name) == ("Gateway", "cross-network-gateway")}
    assert gateways == {f"cluster-{i:04d}" for i in range(5)}
