"""Progress on stderr: on a terminal (a real pty), never in JSON or CI logs unless asked."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLE_FLEET

CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD")


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    env["MESHGEN_NO_CACHE"] = "1"  # every run compiles, so every stage shows
    return {**env, **extra}


def example(tmp_path: Path) -> list[str]:
    shutil.copytree(EXAMPLE_FLEET.parent, tmp_path / "fleet")
    return [sys.executable, "-m", "meshgen", "build", str(tmp_path / "fleet" / "fleet.yaml"),
            "--out", str(tmp_path / "overlays")]


def on_a_terminal(command: list[str], env: dict[str, str]) -> tuple[str, bytes]:
    """Run with stderr on a pty: (stdout, what the terminal received)."""
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        received = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
        stdout = process.communicate()[0].decode()
    finally:
        os.close(master)
    assert process.returncode == 0, received
    return stdout, received


def test_progress_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    stdout, terminal = on_a_terminal(example(tmp_path), environment())
    assert b"meshgen: loading..." in terminal and b"meshgen: writing 101 files..." in terminal
    assert b"\r" in terminal
    assert "meshgen:" not in stdout
    assert stdout.startswith(f"{tmp_path / 'overlays'}: 101 files for 3 clusters;")
    assert stdout.rstrip().endswith(" s")  # the time taken


def test_no_progress_with_json_even_on_a_terminal(tmp_path: Path) -> None:
    _, terminal = on_a_terminal([*example(tmp_path), "--format", "json"], environment())
    assert b"meshgen: loading" not in terminal


def test_no_progress_in_ci_even_on_a_terminal(tmp_path: Path) -> None:
    _, terminal = on_a_terminal(example(tmp_path), environment(CI="true"))
    assert b"meshgen: loading" not in terminal


def test_no_progress_in_a_log_unless_asked(tmp_path: Path) -> None:
    command = example(tmp_path)
    plain = subprocess.run(command, capture_output=True, text=True, env=environment(),
                           check=True)
    assert "meshgen:" not in plain.stderr
    asked = subprocess.run([*command, "--progress"], capture_output=True, text=True,
                           env=environment(CI="true"), check=True)
    assert "meshgen: loading...\r" not in asked.stderr  # one line per stage, no redraws
    assert "meshgen: loading... (" in asked.stderr.splitlines()[0]
