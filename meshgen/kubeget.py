"""`meshgen status --kubeconfig`: dump the mesh objects of a cluster with oc or kubectl.

The context named like the fleet's cluster is asked for the same kinds a user would dump
by hand (dumps.DUMP_KINDS), as JSON; the output is read by dumps.py like any dump.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .dumps import DUMP_KINDS, MAX_DUMP_BYTES, Dump, load_dump
from .errors import Location, Problem, Problems

TIMEOUT = 60  # seconds for one cluster


def client() -> str | None:
    """oc when it is on PATH (OpenShift's own), else kubectl, else None."""
    return shutil.which("oc") or shutil.which("kubectl")


def fetch_dump(kubeconfig: Path, cluster: str, where: Location, problems: Problems) -> Dump:
    """The cluster's mesh objects, read through its context; failures go to problems."""
    empty = Dump(cluster, kubeconfig, [])
    command = client()
    if command is None:
        problems.add(Problem("MG186", "--kubeconfig needs oc or kubectl on PATH", where,
                             "install one, or dump the clusters and pass CLUSTER=FILE"))
        return empty
    argv = [command, "--kubeconfig", str(kubeconfig), "--context", cluster, "get",
            DUMP_KINDS, "-A", "-o", "json", f"--request-timeout={TIMEOUT}s"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT + 5, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        problems.add(Problem("MG186", f"{Path(command).name} for context {cluster}: {exc}",
                             where, "check the context and that the cluster answers"))
        return empty
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"]
        problems.add(Problem("MG186", f"{Path(command).name} --context {cluster} failed: "
                             f"{reason[-1]}", where,
                             "name each kubeconfig context like its cluster in the fleet, "
                             "or dump that cluster and pass CLUSTER=FILE"))
        return empty
    if len(done.stdout) > MAX_DUMP_BYTES:
        problems.add(Problem("MG180", f"context {cluster} answered more than "
                             f"{MAX_DUMP_BYTES} bytes", where, "dump the cluster by hand"))
        return empty
    with tempfile.TemporaryDirectory(prefix="meshgen-status-") as tmp:
        path = Path(tmp) / f"{cluster}.json"
        path.write_bytes(done.stdout)
        return load_dump(cluster, path, problems, name=f"{cluster} (--context {cluster})")
