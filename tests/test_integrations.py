"""The files other tools read: pre-commit hooks, the composite GitHub Action, this
repository's workflow and the ones `meshgen init` writes. Each is checked by the tool's own
validator or schema, and every meshgen command line in them must name a real command with
real options and choices."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from conftest import REPO
from meshgen.cli import main
from meshgen.scaffold import files as scaffold_files

BIN = Path(sys.executable).parent
SHELL_OPERATORS = {">>", ">", "|", "||", "&&", ";", "2>/dev/null"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def meshgen_command_lines(script: str) -> list[str]:
    """Every `meshgen …` command in a shell script, up to the next shell operator."""
    joined = script.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        words = line.split()
        for i, word in enumerate(words):
            if word == "meshgen" and (i == 0 or words[i - 1] in SHELL_OPERATORS | {"then"}):
                rest = []
                for w in words[i + 1:]:
                    if w in SHELL_OPERATORS:
                        break
                    rest.append(w)
                found.append(" ".join(rest))
    return found


def check_command_line(line: str) -> None:
    """line (after `meshgen`) names a real command, its options exist, and the values given
    to options with choices are among them."""
    words = shlex.split(line.replace("${", "").replace("}", ""))
    name = words[0]
    command = main.commands.get(name) if isinstance(main, click.Group) else None
    assert command is not None, f"meshgen has no command {name!r} ({line})"
    help_text = CliRunner().invoke(main, [name, "--help"])
    assert help_text.exit_code == 0, help_text.output
    options = {opt: param for param in command.params for opt in param.opts}
    for i, word in enumerate(words):
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", word):
            assert option in options, f"meshgen {name} has no option {option} ({line})"
            assert option in help_text.stdout
            param = options[option]
            if isinstance(param.type, click.Choice) and i + 1 < len(words):
                assert words[i + 1] in param.type.choices, f"{words[i + 1]} for {option}"


def run_scripts(data: Any) -> list[str]:
    """The `run:` scripts of a workflow's jobs or a composite action's steps."""
    steps = data["runs"]["steps"] if "runs" in data else \
        [s for job in data["jobs"].values() for s in job.get("steps", [])]
    return [s["run"] for s in steps if "run" in s]


def check_jsonschema(schema: str, path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           f"vendor.{schema}", str(path)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def pre_commit(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
                               **env})


def test_the_command_line_checker_finds_mistakes() -> None:
    assert meshgen_command_lines('x && meshgen build "$F" --check >> out\nmeshgen validate') \
        == ['build "$F" --check', "validate"]
    for wrong in ("biuld", "build --chek", "diff --format html", "validate --out x"):
        with pytest.raises(AssertionError):
            check_command_line(wrong)
    check_command_line('validate "$FLEET" ${CRDS:+--crds "$CRDS"} --format github')


def test_pre_commit_hooks_manifest() -> None:
    path = REPO / ".pre-commit-hooks.yaml"
    done = pre_commit("validate-manifest", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = {h["id"]: h for h in load(path)}
    assert sorted(hooks) == ["meshgen-check", "meshgen-validate"]
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert hook["entry"].startswith("meshgen ")
        check_command_line(hook["entry"].removeprefix("meshgen "))
        pattern = re.compile(hook["files"])
        assert pattern.search("fleet/fleet.yaml") and pattern.search("fleet/certs/a.pem")
        assert not pattern.search("README.md")
    assert hooks["meshgen-check"]["entry"] == "meshgen build --check"
    assert hooks["meshgen-validate"]["entry"] == "meshgen validate"


def test_composite_action() -> None:
    path = REPO / "action.yml"
    check_jsonschema("github-actions", path)
    action = load(path)
    assert action["runs"]["using"] == "composite"
    declared = set(action["inputs"])
    assert {"fleet", "out", "python-version"} <= declared
    text = path.read_text()
    assert set(re.findall(r"inputs\.([a-z-]+)", text)) == declared  # all used, none unknown
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], "pass inputs through env, not into the script"
    lines = [c for s in run_scripts(action) for c in meshgen_command_lines(s)]
    assert [c.split()[0] for c in lines] == ["build", "validate", "diff", "diff"]
    for line in lines:
        check_command_line(line)
    assert any("--check" in c for c in lines)
    assert any("--format markdown" in c for c in lines)
    assert "$GITHUB_STEP_SUMMARY" in text and "$GITHUB_ACTION_PATH" in text


def test_this_repositorys_workflow() -> None:
    path = REPO / ".github" / "workflows" / "ci.yml"
    check_jsonschema("github-workflows", path)
    workflow = load(path)
    scripts = run_scripts(workflow)
    for tool in ("ruff check .", "mypy", "python -m pytest"):
        assert tool in scripts, f"ci.yml does not run {tool}"
    uses = [s.get("uses") for job in workflow["jobs"].values() for s in job["steps"]]
    assert "./" in uses  # the composite action runs on the bundled fleet
    for line in (c for s in scripts for c in meshgen_command_lines(s)):
        check_command_line(line)


def test_scaffolded_workflow_and_pre_commit_config(tmp_path: Path) -> None:
    for rel, text in scaffold_files(tmp_path).items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    workflow = tmp_path / ".github" / "workflows" / "meshgen.yml"
    check_jsonschema("github-workflows", workflow)
    lines = [c for s in run_scripts(load(workflow)) for c in meshgen_command_lines(s)]
    assert [c.split()[0] for c in lines] == ["build", "crds", "validate", "diff"]
    for line in lines:
        check_command_line(line)

    config = tmp_path / ".pre-commit-config.yaml"
    done = pre_commit("validate-config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = [h for repo in load(config)["repos"] for h in repo["hooks"]]
    assert [h["id"] for h in hooks] == ["meshgen-check", "meshgen-validate"]
    for hook in hooks:
        check_command_line(hook["entry"].removeprefix("meshgen "))


def test_scaffolded_hooks_run_with_pre_commit(tmp_path: Path) -> None:
    """pre-commit runs the scaffold's hooks for real: they pass on a fresh build and the
    check fails once fleet.yaml changes without a rebuild."""
    repo = tmp_path / "repo"
    assert CliRunner().invoke(main, ["init", str(repo)]).exit_code == 0
    subprocess.run([str(BIN / "meshgen"), "build"], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    home = str(tmp_path / "pre-commit-home")
    ok = pre_commit("run", "--all-files", cwd=repo, PRE_COMMIT_HOME=home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"meshgen build --check\.+Passed", ok.stdout)
    assert re.search(r"meshgen validate\.+Passed", ok.stdout)
    fleet = repo / "fleet" / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("members: [bookinfo]", "members: [reviews]"))
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    stale = pre_commit("run", "--all-files", cwd=repo, PRE_COMMIT_HOME=home)
    assert stale.returncode == 1
    assert re.search(r"meshgen build --check\.+Failed", stale.stdout)
    assert "missing: overlays/east/namespaces/reviews.yaml" in stale.stdout
