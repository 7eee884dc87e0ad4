"""Coded problems with source locations, and how they are printed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum

MAX_PROBLEMS = 50


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """text with every non-printable character (controls such as ESC, CR and LF, format
    characters such as bidi overrides, separators other than the space) written as a
    Python-style escape, so that input quoted in a message can neither draw on a terminal
    nor forge lines of output. Printable non-ASCII text stays as it is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _ESCAPES.get(c) or _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        if self.line <= 0:
            return printable(self.file)
        return f"{printable(self.file)}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    location: Location
    hint: str = ""
    severity: Severity = Severity.ERROR

    def format_text(self) -> str:
        text = f"{self.location}: {self.severity.value}[{self.code}]: {printable(self.message)}"
        if self.hint:
            text += f"\n  hint: {printable(self.hint)}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": printable(self.location.file),
            "line": self.location.line,
            "column": self.location.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": printable(self.message),
            "hint": printable(self.hint),
        }


@dataclass
class Problems:
    """Collects every problem of a run, up to a cap, in a stable order."""

    items: list[Problem] = field(default_factory=list)
    cap: int = MAX_PROBLEMS
    dropped: int = 0
    # what is in items, and how many of them are errors: adding stays O(1), so a fleet
    # with thousands of warnings costs linear time, not quadratic
    _seen: set[Problem] = field(default_factory=set, repr=False, compare=False)
    _error_count: int = field(default=0, repr=False, compare=False)

    def add(self, problem: Problem) -> None:
        if len(self._seen) != len(self.items):  # items was filled directly
            self._seen = set(self.items)
            self._error_count = sum(p.severity is Severity.ERROR for p in self.items)
        if problem in self._seen:
            return
        is_error = problem.severity is Severity.ERROR
        if is_error and self._error_count >= self.cap:
            self.dropped += 1
            return
        self.items.append(problem)
        self._seen.add(problem)
        self._error_count += is_error

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.WARNING]

    def __iter__(self) -> Iterator[Problem]:
        return iter(sorted(self.items, key=lambda p: (p.location, p.code, p.message)))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise FleetError(self)


class FleetError(Exception):
    """Bad input: carries every problem found, so the CLI can print them all."""

    def __init__(self, problems: Problems | Problem) -> None:
        if isinstance(problems, Problem):
            single = Problems()
            single.add(problems)
            problems = single
        self.problems = problems
        super().__init__("\n".join(p.format_text() for p in problems))


def plural(count: int, noun: str) -> str:
    """"1 object", "2 objects" (nouns whose plural is their name plus s)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def escape_data(value: str) -> str:
    """A GitHub workflow command's message: %, CR and LF are percent-encoded (as the runner's
    escapeData does: actions/toolkit, packages/core/src/command.ts, main)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A GitHub workflow command's property value: also ":" and "," are encoded."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github_annotation(problem: Problem) -> str:
    """The problem as a workflow command (::error file=…,line=…,col=…,title=MGnnn::…)."""
    loc = problem.location
    props = [f"file={escape_property(printable(loc.file))}"] if loc.file else []
    if loc.line > 0:
        props += [f"line={loc.line}", f"col={max(loc.column, 1)}"]
    props.append(f"title={escape_property(problem.code)}")
    # the message is made printable first, so the only line break left is the hint's
    message = printable(problem.message) + \
        (f"\n(hint: {printable(problem.hint)})" if problem.hint else "")
    return f"::{problem.severity.value} {','.join(props)}::{escape_data(message)}"


def _dropped(problems: Problems) -> Problem:
    return Problem("MG099", f"{plural(problems.dropped, 'more error')} not shown "
                   f"(stopped after {problems.cap})", Location("", 0, 0))


def _listed(problems: Problems) -> list[Problem]:
    """Every problem in order, and one MG099 for those beyond the cap."""
    return [*problems, _dropped(problems)] if problems.dropped else list(problems)


def problem_dicts(problems: Problems) -> list[dict[str, object]]:
    return [p.as_dict() for p in _listed(problems)]


def format_problems(problems: Problems, fmt: str = "text") -> str:
    """text (for people), json (a list of objects) or github (workflow commands)."""
    if fmt == "json":
        return json.dumps(problem_dicts(problems), indent=2)
    if fmt == "github":
        return "\n".join(github_annotation(p) for p in _listed(problems))
    ordered = list(problems)
    lines = [p.format_text() for p in ordered]
    if problems.dropped:
        lines.append(f"error[MG099]: {_dropped(problems).message}")
    errors, warnings = len(problems.errors) + problems.dropped, len(problems.warnings)
    if errors or warnings:
        lines.append(f"{plural(errors, 'error')}, {plural(warnings, 'warning')}")
    return "\n".join(lines)
