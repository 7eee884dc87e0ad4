"""The kustomize binary: `kustomize`, or `kubectl kustomize` when that is all there is."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


class KustomizeNotFound(RuntimeError):
    pass


class KustomizeFailed(RuntimeError):
    pass


def command() -> list[str]:
    """The command that builds an overlay, found on PATH (or $MESHGEN_KUSTOMIZE)."""
    override = os.environ.get("MESHGEN_KUSTOMIZE")
    if override:
        return override.split()
    if binary := shutil.which("kustomize"):
        return [binary, "build"]
    if binary := shutil.which("kubectl"):
        return [binary, "kustomize"]
    if binary := shutil.which("oc"):
        return [binary, "kustomize"]
    raise KustomizeNotFound(
        "neither `kustomize` nor `kubectl` (or `oc`) is on PATH; install kustomize "
        "(https://kubectl.docs.kubernetes.io) or set MESHGEN_KUSTOMIZE to the build command"
    )


def build(overlay: Path, timeout: float = 300) -> str:
    """The YAML stream kustomize builds from overlay (default load restrictor)."""
    cmd = [*command(), str(overlay)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                check=False)
    except subprocess.TimeoutExpired:
        raise KustomizeFailed(f"{' '.join(cmd)} timed out after {timeout:.0f}s") from None
    if result.returncode != 0:
        raise KustomizeFailed(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return result.stdout
