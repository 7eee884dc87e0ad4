"""Why the output tree cannot be written or read: problems of the environment and of what
lies in the tree, not of the fleet file."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_INPUT, EXIT_ENVIRONMENT = 2, 1


@dataclass(frozen=True)
class OutputProblem:
    code: str
    message: str
    where: str = ""  # the file or directory concerned
    hint: str = ""


class OutputError(Exception):
    """The output tree cannot be written safely. Holds every problem found, each with its
    code; exit is 1 for the environment (locks, disks, permissions), 2 for what lies in
    the tree (files meshgen did not write, symlinks, keys)."""

    def __init__(self, message: str = "", code: str = "MG093", hint: str = "",
                 exit: int = EXIT_INPUT, where: str = "",
                 problems: list[OutputProblem] | None = None) -> None:
        self.problems = problems or [OutputProblem(code, message, where, hint)]
        self.exit = exit
        super().__init__("\n".join(
            f"{p.where}: {p.message}" if p.where else p.message for p in self.problems))
