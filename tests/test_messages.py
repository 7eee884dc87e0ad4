"""Text from fleet.yaml quoted in a problem can neither draw on a terminal nor forge lines
of meshgen's report (or GitHub workflow commands), in any output format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meshgen.errors import Location, Problem, github_annotation, printable

HOSTILE = r'''apiVersion: meshgen.dev/v1alpha1
kind: Fleet
metadata: {name: hostile}
clusters:
  - name: "east\e[2J\e]0;title\a\nfleet.yaml:1:1: error[MG000]: forged\r::error::x %0A"
    ingress: {type: LoadBalancer, domain: apps.east.example.com}
meshes:
  - name: a-mesh
    cluster: "west\u202e\u2028::warning file=x::forged\x85"
'''


def run(tmp_path: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "fleet.yaml").write_text(HOSTILE)
    return subprocess.run([sys.executable, "-m", "meshgen", "validate", "fleet.yaml",
                           "--format", fmt], capture_output=True, text=True, cwd=tmp_path,
                          check=False, timeout=60)


def _no_control_characters(output: str) -> None:
    assert all(c.isprintable() or c == "\n" for c in output), repr(output)


def test_text_output_quotes_control_characters_as_escapes(tmp_path: Path) -> None:
    result = run(tmp_path, "text")
    assert result.returncode == 2
    _no_control_characters(result.stderr)
    lines = result.stderr.splitlines()
    assert [line.split(":", 3)[:3] for line in lines if "error[" in line] == [
        ["fleet.yaml", "5", "11"], ["fleet.yaml", "9", "14"]]
    assert all(line.startswith(("fleet.yaml:5:11: ", "fleet.yaml:9:14: ", "  hint: "))
               for line in lines[:-1]), lines
    assert r'"east\x1b[2J\x1b]0;title\x07\nfleet.yaml:1:1: error[MG000]: forged\r' in lines[0]
    assert r"west\u202e\u2028::warning file=x::forged\x85" in result.stderr


def test_github_output_is_one_workflow_command_per_problem(tmp_path: Path) -> None:
    result = run(tmp_path, "github")
    assert result.returncode == 2
    _no_control_characters(result.stdout + result.stderr)
    lines = (result.stdout + result.stderr).splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert len(commands) == 2, lines
    assert all(line.startswith("::error file=fleet.yaml,line=") for line in commands)
    # the value's own "%0A" cannot turn into a line break when the runner unescapes it
    assert "x %250A" in commands[0]


def test_json_output_holds_escaped_text(tmp_path: Path) -> None:
    result = run(tmp_path, "json")
    assert result.returncode == 2
    problems = json.loads(result.stdout)
    assert [(p["line"], p["column"], p["code"]) for p in problems] == [
        (5, 11, "MG020"), (9, 14, "MG020")]
    for problem in problems:
        _no_control_characters("".join(str(v) for v in problem.values()))


@pytest.mark.parametrize(("text", "shown"), [
    ("plain é and 漢字", "plain é and 漢字"),
    ("a\tb\r\nc", r"a\tb\r\nc"),
    ("\x00\x1b\x7f\x9b", r"\x00\x1b\x7f\x9b"),
    ("\u200b\u202e\ufeff", r"\u200b\u202e\ufeff"),
    ("\U000e0041", r"\U000e0041"),
])
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_a_file_name_cannot_forge_properties() -> None:
    problem = Problem("MG001", "m", Location("a,line=1::\n::error::x.yaml", 2, 3), "h")
    annotation = github_annotation(problem)
    assert "\n" not in annotation
    assert annotation.startswith("::error file=a%2Cline=1%3A%3A\\n%3A%3Aerror%3A%3Ax.yaml,"
                                 "line=2,col=3,title=MG001::m")


def test_lines_for_people_are_printed_with_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    from meshgen.report import Reporter

    Reporter("text").say("root CN=evil\x1b]0;owned\x07 (expires 2030-01-01)\nnext: build")
    assert capsys.readouterr().out == \
        "root CN=evil\\x1b]0;owned\\x07 (expires 2030-01-01)\nnext: build\n"
