"""Defaults and choices the command line shows in its options, kept apart from the modules
that use them so that building the command line imports none of those: a no-change build
then starts without loading the model, the planner, jinja2 or cryptography."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

DEFAULT_FLEET = Path("fleet/fleet.yaml")
DEFAULT_OUT = Path("overlays")
DEFAULT_CA_DIR = Path(".meshgen/ca")
FETCH_COMMAND = "meshgen crds fetch"

KeyType = Literal["rsa-4096", "rsa-2048", "ec-p256"]
KEY_TYPES: tuple[KeyType, ...] = ("rsa-4096", "rsa-2048", "ec-p256")
GRAPH_FORMATS = ("mermaid", "dot")
EXPLAIN_FORMATS = ("text", "json")


def bundled_templates() -> Path:
    """The templates shipped in the wheel, or the repository's top-level templates/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "namespace.yaml.j2").is_file():
            return candidate
    raise RuntimeError(f"meshgen templates not found next to {here}")
