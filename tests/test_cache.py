"""The build cache (meshgen/cache.py): a no-change build skips compiling, and no change of
an input, of time or of the output tree lets it keep a stale file."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from conftest import EXAMPLE_FLEET
from meshgen import cache
from meshgen.ca import certificate_pem, make_certificate
from meshgen.cli import main
from meshgen.readlog import Read

NAMESPACE_TEMPLATE = """\
{% from "_macros.j2" import metadata %}
{
  "apiVersion": "v1",
  "kind": "Namespace",
  "metadata": {{ metadata(name) }}
}
"""
PROD_NAMESPACE = "east/namespaces/prod-mesh.yaml"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def example(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(EXAMPLE_FLEET.parent, tmp_path / "fleet")
    return tmp_path / "fleet" / "fleet.yaml", tmp_path / "overlays"


def build(fleet: Path, out: Path, *extra: str) -> Result:
    result = run("build", str(fleet), "--out", str(out), *extra)
    assert result.exit_code == 0, result.output
    return result


def warm(fleet: Path, out: Path, *extra: str) -> None:
    """Build, then make sure the next build would be served from the cache: each test
    then shows that its change, and only it, makes the build run again."""
    build(fleet, out, *extra)
    assert "(cached)" in build(fleet, out, *extra).output


def entry_file(fleet: Path, out: Path) -> Path:
    return cache.entry_path(fleet, out)


def stamps(out: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")
            if p.is_file()}


def test_no_change_build_is_served_from_the_cache(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    first = build(fleet, out)
    assert "(cached)" not in first.output and entry_file(fleet, out).is_file()
    before = stamps(out)
    again = build(fleet, out)
    assert "0 added, 0 updated, 0 removed, 101 unchanged (cached)" in again.output
    assert stamps(out) == before
    check = run("build", "--check", str(fleet), "--out", str(out))
    assert check.exit_code == 0 and "is up to date (101 files)" in check.output


def test_cached_build_reports_the_warnings_again(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    fleet.write_text(fleet.read_text().replace("path: overlays", "path: somewhere-else"))
    (tmp_path / ".git").mkdir()  # delivery.path is checked against the repository: MG106
    first = build(fleet, out)
    assert "warning[MG106]" in first.output
    again = build(fleet, out)
    assert "(cached)" in again.output
    assert [line for line in again.output.splitlines() if "MG106" in line] == \
        [line for line in first.output.splitlines() if "MG106" in line]


@pytest.mark.parametrize("damage", [
    b"", b"{", b"\x00\xff garbage", b"[]", b'{"format": 999}',
    b'{"format": 1, "key": "x"}',
])
def test_a_damaged_cache_means_a_full_build(tmp_path: Path, damage: bytes) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    entry_file(fleet, out).write_bytes(damage)
    with open(out / PROD_NAMESPACE, "a") as edited:
        edited.write("# edited by hand\n")
    rebuilt = build(fleet, out)
    assert "(cached)" not in rebuilt.output and "1 updated" in rebuilt.output
    assert "(cached)" in build(fleet, out).output


def test_a_truncated_or_deleted_cache_means_a_full_build(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    path = entry_file(fleet, out)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "(cached)" not in build(fleet, out).output
    shutil.rmtree(path.parent)
    assert "(cached)" not in build(fleet, out).output
    assert "(cached)" in build(fleet, out).output


def test_an_entry_of_another_meshgen_is_not_used(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    path = entry_file(fleet, out)
    data = json.loads(path.read_bytes())
    data["key"] = "0" * 64  # what another version or source digest gives
    path.write_text(json.dumps(data))
    assert "(cached)" not in build(fleet, out).output


def test_a_changed_fleet_rebuilds(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    fleet.write_text(fleet.read_text().replace("members: [prod-bookinfo]",
                                               "members: [prod-bookinfo, prod-extra]"))
    rebuilt = build(fleet, out)
    assert "(cached)" not in rebuilt.output
    assert (out / "east" / "namespaces" / "prod-extra.yaml").is_file()


def test_a_changed_certificate_rebuilds(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    root = fleet.parent / "certs" / "bookinfo-root.pem"
    new_root = certificate_pem(make_certificate("rotated bookinfo root")[0])
    root.write_text(new_root)
    rebuilt = build(fleet, out)
    assert "(cached)" not in rebuilt.output and "updated" in rebuilt.output
    assert any(new_root.splitlines()[1] in p.read_text() for p in out.rglob("*.yaml"))


def test_a_certificate_that_appears_rebuilds(tmp_path: Path) -> None:
    """selfSigned stage-mesh: its root file is absent until imported (the build looked
    at the path and found nothing: that counts as an input too)."""
    fleet, out = example(tmp_path)
    warm(fleet, out)
    stage_root = certificate_pem(make_certificate("stage-mesh root")[0])
    (fleet.parent / "certs" / "stage-mesh.pem").write_text(stage_root)
    rebuilt = build(fleet, out)
    assert "(cached)" not in rebuilt.output
    assert any(stage_root.splitlines()[1] in p.read_text() for p in out.rglob("*.yaml"))


def test_a_retargeted_certificate_link_rebuilds(tmp_path: Path) -> None:
    """Rules compare resolved paths (MG126: two meshes naming one root file), so a link
    pointed at another file of the same bytes is a change too."""
    fleet, out = example(tmp_path)
    warm(fleet, out)
    root = fleet.parent / "certs" / "bookinfo-root.pem"
    copy = tmp_path / "elsewhere.pem"
    copy.write_bytes(root.read_bytes())
    root.unlink()
    root.symlink_to(copy)
    assert "(cached)" not in build(fleet, out).output


def test_the_fleet_spelled_otherwise_is_not_served_the_other_spelling(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Warnings name the fleet as it was given; a cached run replays them as stored."""
    fleet, out = example(tmp_path)
    monkeypatch.chdir(fleet.parent)
    warm(Path("fleet.yaml"), out)
    assert "(cached)" not in build(fleet, out).output


def test_a_changed_template_override_rebuilds(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "namespace.yaml.j2").write_text(NAMESPACE_TEMPLATE)
    build(fleet, out, "--templates", str(custom))
    assert "(cached)" in build(fleet, out, "--templates", str(custom)).output
    (custom / "namespace.yaml.j2").write_text(NAMESPACE_TEMPLATE.replace(
        '"kind": "Namespace",', '"kind": "Namespace", "spec": {"finalizers": ["x"]},'))
    rebuilt = build(fleet, out, "--templates", str(custom))
    assert "(cached)" not in rebuilt.output
    assert "finalizers" in (out / PROD_NAMESPACE).read_text()
    # without the override: the bundled templates again
    assert "(cached)" not in build(fleet, out).output
    assert "finalizers" not in (out / PROD_NAMESPACE).read_text()


def test_other_options_rebuild(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    refused = run("build", str(fleet), "--out", str(out), "--max-objects", "5")
    assert refused.exit_code == 2 and "MG150" in refused.output


def test_a_hand_edit_is_restored_and_reported_by_check(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    target = out / PROD_NAMESPACE
    original = target.read_bytes()
    stat = target.stat()
    target.write_bytes(original.replace(b"prod-mesh", b"prod-mesX"))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
    check = run("build", "--check", str(fleet), "--out", str(out))
    assert check.exit_code == 1 and f"out of date: {target}" in check.output
    restored = build(fleet, out)
    assert "1 updated" in restored.output and target.read_bytes() == original


def test_an_added_file_is_scanned_again(tmp_path: Path) -> None:
    """A file put under --out since the last build is not in the recorded tree: the full
    build runs, with its refusals (here a private key, MG097)."""
    fleet, out = example(tmp_path)
    warm(fleet, out)
    (out / "east" / "stray.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    refused = run("build", str(fleet), "--out", str(out))
    assert refused.exit_code != 0


def test_no_cache_neither_reads_nor_writes(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    fleet, out = example(tmp_path)
    build(fleet, out, "--no-cache")
    assert not entry_file(fleet, out).exists()
    build(fleet, out)
    assert "(cached)" not in build(fleet, out, "--no-cache").output
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    assert "(cached)" not in build(fleet, out).output


def test_the_cache_lives_outside_the_output_and_the_repository(
        tmp_path: Path, build_cache: Path) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    entry = entry_file(fleet, out)
    assert entry.parent == build_cache
    assert not any(".meshgen-cache" in str(p) for p in tmp_path.rglob("*"))
    assert b"PRIVATE KEY" not in entry.read_bytes()


def test_the_validity_window_ends_where_a_certificate_verdict_changes(
        tmp_path: Path) -> None:
    cert, _ = make_certificate("window root", days=100)
    pem = tmp_path / "root.pem"
    pem.write_text(certificate_pem(cert))
    read = [Read(str(pem), 1 << 20, "x")]
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = cache.window(read, now)
    warn_from = cert.not_valid_after_utc - datetime.timedelta(days=30)
    assert start == cert.not_valid_before_utc.timestamp()
    assert end == warn_from.timestamp()
    later = warn_from + datetime.timedelta(days=1)
    assert cache.window(read, later) == (warn_from.timestamp(),
                                         cert.not_valid_after_utc.timestamp())


def test_an_entry_out_of_its_window_is_not_used(tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    path = entry_file(fleet, out)
    data = json.loads(path.read_bytes())
    data["valid_until"] = 0.0
    path.write_text(json.dumps(data))
    assert "(cached)" not in build(fleet, out).output


def test_a_build_killed_before_storing_its_entry_leaves_a_full_build_next(
        tmp_path: Path) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    fleet.write_text(fleet.read_text().replace("members: [prod-bookinfo]",
                                               "members: [prod-bookinfo, prod-extra]"))

    def killed(*_: object) -> None:
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "store_entry", killed)
        assert run("build", str(fleet), "--out", str(out)).exit_code == 1  # "Aborted!"
    assert not entry_file(fleet, out).exists()  # removed before the write
    assert (out / "east" / "namespaces" / "prod-extra.yaml").is_file()
    after = build(fleet, out)
    assert "(cached)" not in after.output and "0 added, 0 updated, 0 removed" in after.output
    assert "(cached)" in build(fleet, out).output


def test_an_edit_during_the_build_is_not_recorded_as_up_to_date(tmp_path: Path) -> None:
    """A file edited between the write and the stats the entry records: the entry is not
    stored, and the next build restores the file."""
    fleet, out = example(tmp_path)
    build(fleet, out)
    entry_file(fleet, out).unlink()
    original = (out / PROD_NAMESPACE).read_bytes()
    real_records = cache.rewalked

    def edited_first(root: Path, *walked: Any) -> cache.TreeRecords | None:
        with open(root / PROD_NAMESPACE, "a") as handle:
            handle.write("# edited during the build\n")
        walked_again: cache.TreeRecords | None = real_records(root, *walked)
        return walked_again

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "rewalked", edited_first)
        build(fleet, out)
    assert not entry_file(fleet, out).exists()
    again = build(fleet, out)
    assert "(cached)" not in again.output and "1 updated" in again.output
    assert (out / PROD_NAMESPACE).read_bytes() == original


def test_the_key_covers_meshgen_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet, out = example(tmp_path)
    options = {"max_objects": 1, "max_bytes": 1}
    key = cache.static_key(fleet, out, None, options)
    assert cache.static_key(fleet, out, None, options) == key
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "__version__", "99.0")
        assert cache.static_key(fleet, out, None, options) != key
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "_LIBRARIES", ("PyYAML",))
        assert cache.static_key(fleet, out, None, options) != key
    assert cache.static_key(fleet, out, None, {**options, "max_bytes": 2}) != key
    assert cache.static_key(fleet, tmp_path / "elsewhere", None, options) != key


# What the cached path must not import: each costs a no-change build start-up time, and
# none of it is needed to prove the tree on disk up to date.
HEAVY_MODULES = ("meshgen.model", "meshgen.plan", "meshgen.render", "meshgen.emit",
                 "meshgen.verify", "jinja2", "pydantic", "jsonschema", "cryptography")
_RUN_AND_LIST_MODULES = """\
import json, sys
from meshgen.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("check", [False, True], ids=["build", "check"])
def test_the_cached_path_imports_no_compiler_module(tmp_path: Path, check: bool) -> None:
    fleet, out = example(tmp_path)
    warm(fleet, out)
    command = ["build", str(fleet), "--out", str(out), *(["--check"] if check else [])]
    process = subprocess.run([sys.executable, "-c", _RUN_AND_LIST_MODULES, *command],
                             capture_output=True, text=True, check=True)
    *said, last = process.stdout.splitlines()
    ran = json.loads(last)
    assert ran["code"] == 0, process.stdout + process.stderr
    assert ("is up to date" if check else "(cached)") in "\n".join(said)
    assert [m for m in HEAVY_MODULES if m in ran["modules"]] == []


def test_tree_records_by_top_level_entry(tmp_path: Path) -> None:
    """The records of a tree travel pickled per top-level entry and are read back when
    asked for; replacing one entry's records gives the digest a whole walk gives."""
    import pickle

    out = tmp_path / "out"
    for top in ("a", "b", "c"):
        (out / top / "deep").mkdir(parents=True)
        (out / top / "deep" / "file.yaml").write_text(top)
    (out / "top.yaml").write_text("top")
    tree = cache.walk_tree(out)
    assert tree is not None and tree.tops() == ["a", "b", "c", "top.yaml"]
    copy = pickle.loads(pickle.dumps(tree))
    assert copy.digest() == tree.digest()
    assert copy.stat("b/deep/file.yaml") == tree.stat("b/deep/file.yaml") is not None
    (out / "b" / "deep" / "file.yaml").write_text("edited")
    (out / "b" / "new.yaml").write_text("new")
    whole = cache.walk_tree(out)
    assert whole is not None and whole.digest() != tree.digest()
    again = cache.rewalked(out, copy, "b")
    assert again is not None and again.digest() == whole.digest()
    deeper = cache.rewalked(out, copy, "b/deep")  # b/new.yaml keeps its absence
    assert deeper is not None and deeper.digest() not in (whole.digest(), tree.digest())
    assert cache.rewalked(out, copy, None) is copy
    (out / "c" / "link").symlink_to("deep")
    assert cache.walk_tree(out) is None and cache.rewalked(out, copy, "c") is None
    assert cache.walk_tree(tmp_path / "absent") is None
