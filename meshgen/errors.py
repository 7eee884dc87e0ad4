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


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    location: Location
    hint: str = ""
    severity: Severity = Severity.ERROR

    def format_text(self) -> str:
        text = f"{self.location}: {self.severity.value}[{self.code}]: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class Problems:
    """Collects every problem of a run, up to a cap, in a stable order."""

    items: list[Problem] = field(default_factory=list)
    cap: int = MAX_PROBLEMS
    dropped: int = 0

    def add(self, problem: Problem) -> None:
        if problem in self.items:
            return
        if len(self.errors) >= self.cap and problem.severity is Severity.ERROR:
            self.dropped += 1
            return
        self.items.append(problem)

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


def format_problems(problems: Problems, fmt: str = "text") -> str:
    ordered = list(problems)
    if fmt == "json":
        return json.dumps([p.as_dict() for p in ordered], indent=2)
    lines: list[str] = []
    for p in ordered:
        if fmt == "github":
            msg = p.message + (f" (hint: {p.hint})" if p.hint else "")
            kind = "error" if p.severity is Severity.ERROR else "warning"
            lines.append(
                f"::{kind} file={p.location.file},line={max(p.location.line, 1)},"
                f"col={max(p.location.column, 1)},title={p.code}::{msg}"
            )
        else:
            lines.append(p.format_text())
    if problems.dropped:
        lines.append(
            f"error[MG099]: {problems.dropped} more error(s) not shown "
            f"(stopped after {problems.cap})"
        )
    errors, warnings = len(problems.errors) + problems.dropped, len(problems.warnings)
    if fmt == "text" and (errors or warnings):
        lines.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)
