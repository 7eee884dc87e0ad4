"""The upstream CRDs: the pinned list, `meshgen crds fetch` against a real HTTP server on
127.0.0.1, how `validate` and the tests find the CRDs, and `kind: List` files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE_FLEET, NO_CRDS, REPO, crds_dir
from meshgen.crds import PINNED, Crd, FetchFailed, fetch, list_digest
from meshgen.verify import SchemaSet


def run(*args: str, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshgen", *args], capture_output=True,
                          text=True, check=False, env=env, cwd=cwd)


def clean_env(cache: Path) -> dict[str, str]:
    """No $MESHGEN_CRDS, and an XDG cache of the test's own."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MESHGEN_CRDS", "MESHGEN_REQUIRE_CRDS")}
    env["XDG_CACHE_HOME"] = str(cache)
    return env


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[partial[str]]:
    """serve(directory) -> the URL of a real HTTP server on 127.0.0.1 serving directory."""
    servers: list[ThreadingHTTPServer] = []

    def start(directory: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0),
                                     partial(QuietHandler, directory=str(directory)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield partial(start)
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_pinned_list_is_the_upstream_files() -> None:
    """Every file of the list is in the CRD directory with the pinned sha256, and the list
    names every CRD file there."""
    directory = crds_dir()
    for crd in PINNED:
        digest = hashlib.sha256((directory / crd.path).read_bytes()).hexdigest()
        assert digest == crd.sha256, crd.path
        assert crd.url.startswith(f"https://raw.githubusercontent.com/{crd.repo}/{crd.commit}/")
    on_disk = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*.yaml"))
    assert sorted(crd.path for crd in PINNED) == on_disk


def test_fetch_downloads_verifies_and_validate_finds_the_cache(
        tmp_path: Path, serve: partial[str]) -> None:
    env = clean_env(tmp_path / "cache")
    url = serve(crds_dir())
    missing = run("crds", "path", env=env)
    assert missing.returncode == 1 and "meshgen crds fetch" in missing.stderr

    fetched = run("crds", "fetch", "--mirror", url, env=env)
    assert fetched.returncode == 0, fetched.stderr
    cache = tmp_path / "cache" / "meshgen" / "crds" / list_digest()
    assert fetched.stdout == f"{cache}: upstream CRDs downloaded, sha256 verified\n"
    for crd in PINNED:
        assert (cache / crd.path).read_bytes() == (crds_dir() / crd.path).read_bytes()
    assert sorted(p.name for p in cache.parent.iterdir()) == [list_digest()]  # no staging left

    again = run("crds", "fetch", "--mirror", "http://127.0.0.1:9/unused", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"{cache}: upstream CRDs already there, sha256 verified\n"
    assert run("crds", "path", env=env).stdout == f"{cache}\n"

    validated = run("validate", str(EXAMPLE_FLEET), env=env)
    assert validated.returncode == 0, validated.stderr
    assert f"CRD schemas from {cache})" in validated.stdout


def test_fetch_refuses_a_file_that_does_not_match_its_sha256(
        tmp_path: Path, serve: partial[str]) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(crds_dir(), mirror)
    tampered = mirror / "maistra" / "federation.maistra.io_servicemeshpeers.yaml"
    tampered.write_bytes(tampered.read_bytes().replace(b"type: string", b"type: object", 1))
    (mirror / "olm" / "operators.coreos.com_subscriptions.yaml").unlink()
    env = clean_env(tmp_path / "cache")
    url = serve(mirror)

    result = run("crds", "fetch", "--mirror", url, "--format", "json", env=env)
    assert result.returncode == 1
    problems = json.loads(result.stdout)
    assert [p["code"] for p in problems] == ["MG114", "MG114"]
    messages = [p["message"] for p in problems]
    assert len(messages) == 2
    assert messages[0].startswith(f"{url}/maistra/federation.maistra.io_servicemeshpeers.yaml: "
                                  "sha256 ")
    assert messages[0].endswith(", the list pins 2ed27a3133bd2c1756744ce5da2b8995309fe599"
                                "3780b2c62ae7de54137e3831")
    assert messages[1].startswith(f"{url}/olm/operators.coreos.com_subscriptions.yaml: HTTP "
                                  "Error 404")
    assert all(p["hint"].startswith("nothing was stored") for p in problems)
    crds_cache = tmp_path / "cache" / "meshgen" / "crds"
    assert list(crds_cache.iterdir()) == []  # nothing stored, no staging directory left


def test_fetch_refuses_a_mirror_that_is_not_a_url(tmp_path: Path) -> None:
    result = run("crds", "fetch", "--mirror", "/some/dir", env=clean_env(tmp_path))
    assert result.returncode == 1
    assert "a mirror is an http://, https:// or file:// URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_without_crds_says_how_to_get_them(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "cache")
    result = run("validate", str(EXAMPLE_FLEET), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("(kustomize, yamllint; no CRD schemas: run `meshgen crds "
                                  "fetch` or pass --crds)\n")
    env["MESHGEN_CRDS"] = str(tmp_path / "nowhere")
    wrong = run("validate", str(EXAMPLE_FLEET), env=env)
    assert wrong.returncode == 1
    assert wrong.stderr.startswith(f"error[MG114]: $MESHGEN_CRDS names {tmp_path / 'nowhere'}, "
                                   "which is not a directory")


def test_a_plain_clone_skips_the_crd_tests_with_one_reason(tmp_path: Path) -> None:
    """A checkout with no CRDs anywhere: the tests that need them skip, naming the command
    that fetches them; with MESHGEN_REQUIRE_CRDS=1 (as .ci/run sets) they fail instead."""
    clone = tmp_path / "clone"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "tests",
                             "pyproject.toml"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.split()
    for rel in listed:
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, clone / rel)
    env = clean_env(tmp_path / "cache")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    selection = ["tests/test_crds.py::test_the_pinned_list_is_the_upstream_files",
                 "tests/test_cli.py::test_validate_with_crds"]
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection]
    skipped = subprocess.run(pytest_cmd, cwd=clone, env=env, capture_output=True, text=True,
                             check=False)
    assert skipped.returncode == 0, skipped.stdout
    reasons = {line.partition(": ")[2] for line in skipped.stdout.splitlines()
               if line.startswith("SKIPPED")}
    assert reasons == {NO_CRDS}, skipped.stdout
    assert "2 skipped" in skipped.stdout

    required = subprocess.run(pytest_cmd, cwd=clone, env={**env, "MESHGEN_REQUIRE_CRDS": "1"},
                              capture_output=True, text=True, check=False)
    assert required.returncode == 1
    assert "2 failed" in required.stdout and "MESHGEN_REQUIRE_CRDS=1" in required.stdout


def test_validate_reads_crds_from_a_kind_list_file(tmp_path: Path) -> None:
    """`oc get crd A B -o yaml` prints one v1 List (kubectl's get.go), each item with the
    server's metadata and status; SchemaSet reads the CRDs inside it."""
    items = []
    maistra = crds_dir() / "maistra"
    for path in sorted(maistra.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                doc["metadata"].update({"resourceVersion": "4242", "generation": 1,
                                        "uid": "0b1c6e4e-5d1a-4f6e-9a55-2a6f3d1d9a01",
                                        "creationTimestamp": "2026-11-30T10:00:00Z"})
                doc["status"] = {"acceptedNames": doc["spec"]["names"],
                                 "storedVersions": [v["name"] for v in doc["spec"]["versions"]
                                                    if v.get("storage")],
                                 "conditions": [{"type": "Established", "status": "True"}]}
                items.append(doc)
    listing = {"apiVersion": "v1", "items": items, "kind": "List",
               "metadata": {"resourceVersion": ""}}
    (tmp_path / "crds.yaml").write_text(yaml.dump(listing, Dumper=yaml.CSafeDumper))
    (tmp_path / "empty").mkdir()
    from_list = SchemaSet(tmp_path)
    assert from_list.schemas == SchemaSet(maistra).schemas
    assert len(from_list.schemas) > len(SchemaSet(tmp_path / "empty").schemas) + 6
    assert ("maistra.io/v2", "ServiceMeshControlPlane") in from_list.schemas


def test_ci_fetches_the_crds_before_the_tests_and_requires_them() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert runs.index("meshgen crds fetch") < runs.index("python -m pytest")
    assert steps[runs.index("python -m pytest")]["env"]["MESHGEN_REQUIRE_CRDS"] == "1"
    assert "shared" not in (REPO / ".github" / "workflows" / "ci.yml").read_text()
    ci_run = (REPO / ".ci" / "run").read_text()
    assert "MESHGEN_REQUIRE_CRDS=1" in ci_run


def test_fetch_into_an_unwritable_cache_is_a_located_error(tmp_path: Path,
                                                          serve: partial[str]) -> None:
    (tmp_path / "cache").write_text("a file where the cache directory should be\n")
    result = run("crds", "fetch", "--mirror", serve(crds_dir()),
                 env=clean_env(tmp_path / "cache"))
    assert result.returncode == 1
    assert result.stderr.startswith("error[MG114]: cannot store the CRDs in ")
    assert "Traceback" not in result.stderr


def test_fetch_from_upstream_slices_a_multi_crd_file(tmp_path: Path,
                                                     serve: partial[str]) -> None:
    """Upstream layout (<repo>/<commit>/<path>) on a local server: a CRD pinned as a line
    range of a multi-document file (as the four Istio CRDs are) is cut out, verified against
    its sha256 and stored; the bundle is downloaded once."""
    istio = [crd for crd in PINNED if crd.lines is not None]
    assert {crd.source for crd in istio} == {"manifests/charts/base/files/crd-all.gen.yaml"}
    parts = ["# DO NOT EDIT - Generated by Cue OpenAPI generator based on Istio APIs.\n"]
    custom = []
    line = 2
    for crd in istio:
        text = (crds_dir() / crd.path).read_text()
        parts.append("---\n" + text)
        count = text.count("\n")
        custom.append(Crd(crd.path, crd.repo, crd.commit, crd.source, crd.sha256,
                          lines=(line + 1, line + count)))
        line += count + 1
    upstream = tmp_path / "upstream"
    bundle = upstream / istio[0].repo / istio[0].commit / istio[0].source
    bundle.parent.mkdir(parents=True)
    bundle.write_text("".join(parts) + "---\n")
    target, downloaded = fetch(target=tmp_path / "crds", crds=tuple(custom),
                               upstream=serve(upstream))
    assert downloaded == len(istio)
    for crd in istio:
        assert (target / crd.path).read_bytes() == (crds_dir() / crd.path).read_bytes()
    shifted = tuple(Crd(c.path, c.repo, c.commit, c.source, c.sha256,
                        lines=(c.lines[0] + 1, c.lines[1] + 1)) for c in custom if c.lines)
    with pytest.raises(FetchFailed) as refused:
        fetch(target=tmp_path / "other", crds=shifted, upstream=serve(upstream))
    assert len(refused.value.failures) == len(istio)
    assert not (tmp_path / "other").exists()
