"""The shared state of the planning rules: the fleet, its source and the problems found."""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..certs import CertificateProblem, RootCertificate
from ..errors import Problem, Problems, Severity
from ..model import Fleet
from ..source import PathKey, SourceFile
from .types import MeshPlan


class Checker:
    def __init__(self, fleet: Fleet, source: SourceFile, base_dir: Path,
                 now: datetime.datetime | None = None) -> None:
        self.fleet = fleet
        self.source = source
        self.base_dir = base_dir
        self.now = now or datetime.datetime.now(datetime.timezone.utc)
        self.problems = Problems()
        # meshes whose errors are reported already: rules that name them stay quiet about
        # what follows from those errors. unresolved: defined, but not planned (an unknown
        # cluster); unpaired: in a federation whose pairs could not be made (a star
        # without a usable hub, fewer than two meshes)
        self.unresolved: set[str] = set()
        self.unpaired: set[str] = set()
        # certificate files by the name the fleet gives them, each read once per plan: a
        # large fleet names one root from every mesh (the outcome: certificates or problem)
        self.roots_read: dict[str, RootCertificate | CertificateProblem] = {}

    def error(self, code: str, message: str, path: PathKey, hint: str = "") -> None:
        self.problems.add(Problem(code, message, self.source.at(path), hint))

    def reported(self, *meshes: str) -> bool:
        """Whether one of meshes already has an error that explains a follow-up problem."""
        return any(m in self.unresolved or m in self.unpaired for m in meshes)

    def warn(self, code: str, message: str, path: PathKey, hint: str = "") -> None:
        self.problems.add(Problem(code, message, self.source.at(path), hint, Severity.WARNING))

    def smcp_error(self, mesh: MeshPlan, code: str, keys: list[str], message: str,
                   hint: str) -> None:
        """Report at the key in the layer (defaults, template or mesh) that set it last."""
        layer = mesh.origin("smcpSpec")
        for candidate in reversed(mesh.smcp_layers):
            if (*candidate, *keys) in self.source.keys:
                layer = candidate
                break
        owner = f'mesh "{mesh.name}"' if layer[0] == "meshes" else str(layer[0])
        # replace, not format: values and gateway names may hold braces
        text = message.replace("{key}", ".".join(keys)).replace("{last}", f'"{keys[-1]}"')
        self.error(code, f"smcpSpec of {owner} {text}", (*layer, *keys), hint)


def dig(data: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f'did you mean "{close[0]}"?' if close else "known: " + ", ".join(sorted(known))
