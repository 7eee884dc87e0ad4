"""Where a command's problems and messages go, in the format the user chose.

text: problems on stderr as they come (`FILE:LINE:COL: error[MGnnn]: …` + hint), exactly as
meshgen has always printed them. github: problems as workflow commands on stdout as they
come, so GitHub Actions shows them as annotations on the file and line. json: one JSON
document on stdout when the command ends (the list of problems, or the command's result
with its "problems"); messages for people go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from types import TracebackType
from typing import Any, NoReturn

import click

from .errors import (
    FleetError,
    Location,
    Problem,
    Problems,
    format_problems,
    github_annotation,
    printable,
    problem_dicts,
)
from .kustomize import KustomizeNotFound
from .outerrors import OutputError

PROBLEM_FORMATS = ("text", "json", "github")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Exit(Exception):
    """Ends a command with an exit code once the report is out."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Reporter:
    """Collects a command's problems and prints them in one of PROBLEM_FORMATS; any other
    format (markdown, mermaid, …) reports problems as text."""

    def __init__(self, fmt: str = "text") -> None:
        self.requested = fmt  # the command's --format
        self.fmt = fmt if fmt in PROBLEM_FORMATS else "text"  # how problems are printed
        self.problems = Problems()
        self.result: dict[str, Any] | None = None

    def say(self, text: str) -> None:
        """A line for people: stdout, or stderr when stdout carries JSON. Input quoted in
        it (a certificate's subject, a path) is printed with escapes, line by line."""
        click.echo("\n".join(printable(line) for line in text.split("\n")),
                   err=self.fmt == "json")

    def add(self, problems: Iterable[Problem]) -> None:
        batch = Problems()
        batch.extend(problems)
        if batch:
            self._emit(batch)

    def fail(self, code: str, message: str, where: str = "", hint: str = "") -> None:
        """A problem that is not in the fleet file (where: a path, or nothing)."""
        if self.fmt == "text":  # printed as meshgen always has: without a position
            prefix = f"{printable(where)}: " if where else ""
            click.echo(f"{prefix}error[{code}]: {printable(message)}"
                       + (f"\n  hint: {printable(hint)}" if hint else ""), err=True)
            return
        self.add([Problem(code, message, Location(where, 0, 0), hint)])

    def _emit(self, problems: Problems) -> None:
        """text to stderr and github to stdout at once; json when the command ends."""
        if self.fmt == "json":
            self.problems.extend(problems.items)
            self.problems.dropped += problems.dropped
        else:
            click.echo(format_problems(problems, self.fmt), err=self.fmt == "text")

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        code = EXIT_OK
        if isinstance(exc, Exit):
            code = exc.code
        elif isinstance(exc, FleetError):
            self._emit(exc.problems)
            code = EXIT_USAGE
        elif isinstance(exc, OutputError):
            for problem in exc.problems:
                self.fail(problem.code, problem.message, problem.where, problem.hint)
            code = exc.exit
        elif isinstance(exc, KustomizeNotFound):
            self.fail("MG094", str(exc))
            code = EXIT_USAGE
        elif exc is not None:
            return  # not ours: let it through
        self.flush(code)
        sys.exit(code)

    def flush(self, code: int) -> None:
        """json: the one document on stdout, the result with its problems or (on bad input,
        or for commands without a result) the list of problems."""
        if self.fmt != "json":
            return
        problems = problem_dicts(self.problems)
        if self.result is not None and code != EXIT_USAGE:
            click.echo(json.dumps({**self.result, "problems": problems}, indent=2))
        else:
            click.echo(json.dumps(problems, indent=2))


def requested_format(argv: list[str]) -> str:
    """The --format a command line asks for, read from the raw arguments (a usage error
    stops click before it parses them); text when absent or not a problem format."""
    fmt = "text"
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--format" and index + 1 < len(argv):
            fmt = argv[index + 1]
        elif arg.startswith("--format="):
            fmt = arg.partition("=")[2]
    return fmt if fmt in PROBLEM_FORMATS else "text"


def usage_error(exc: click.ClickException, argv: list[str]) -> NoReturn:
    """A usage error in the command line's --format: click's text on stderr, one JSON
    document (the list with one MG115 problem) on stdout, or one github annotation."""
    fmt = requested_format(argv)
    if fmt == "text":
        exc.show()
        sys.exit(exc.exit_code)
    context = getattr(exc, "ctx", None)
    command = context.command_path if context is not None else "meshgen"
    problem = Problem("MG115", exc.format_message(), Location("", 0, 0),
                      f"see `{command} --help`")
    if fmt == "json":
        click.echo(json.dumps([problem.as_dict()], indent=2))
    else:
        click.echo(github_annotation(problem))
        exc.show()
    sys.exit(exc.exit_code)
