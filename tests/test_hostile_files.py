"""Input files that are not regular files (a FIFO, a device) are refused before they are
opened for reading, so no command can block on them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import fleet_head
from meshgen.ca import certificate_pem, issue_intermediate, make_certificate

FIFO_FLEET = fleet_head("hostile") + """\
meshes:
  - name: a-mesh
    cluster: east
    rootCert: certs/a.pem
    ca:
      type: plugin
      certChain: certs/chain.pem
      secret: {sealedSecret: certs/sealed.yaml}
  - name: b-mesh
    cluster: west
    rootCert: certs/b.pem
federations:
  - name: ab
    meshes: [a-mesh, b-mesh]
"""
# `kubeseal -o yaml` output for the cacerts Secret of a-mesh (the values are opaque)
SEALED = """\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: cacerts
  namespace: a-mesh
spec:
  encryptedData:
    ca-cert.pem: AgBzZWFsZWQgYnkga3ViZXNlYWw0
    ca-key.pem: AgBzZWFsZWQgYnkga3ViZXNlYWw1
    root-cert.pem: AgBzZWFsZWQgYnkga3ViZXNlYWw2
    cert-chain.pem: AgBzZWFsZWQgYnkga3ViZXNlYWw3
  template:
    metadata: {name: cacerts, namespace: a-mesh}
"""
# the line of each setting in FIFO_FLEET
LINES = {"a.pem": 12, "chain.pem": 15, "sealed.yaml": 16}


def meshgen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshgen", *args], capture_output=True,
                          text=True, cwd=cwd, check=False, timeout=30)


@pytest.mark.parametrize(("command", "fifo"), [
    *((("build",), fifo) for fifo in sorted(LINES)),
    (("build", "--check"), "a.pem"),
    (("diff",), "chain.pem"),
])
def test_a_fifo_named_by_the_fleet_is_refused(tmp_path: Path, fifo: str,
                                              command: tuple[str, ...]) -> None:
    (tmp_path / "fleet.yaml").write_text(textwrap.dedent(FIFO_FLEET))
    certs = tmp_path / "certs"
    certs.mkdir()
    root, key = make_certificate("a root CA")
    issuing, _ = issue_intermediate(root, key, "a intermediate CA")
    files = {"a.pem": certificate_pem(root), "b.pem": certificate_pem(make_certificate("b")[0]),
             "chain.pem": certificate_pem(issuing) + certificate_pem(root),
             "sealed.yaml": SEALED}
    for name, text in files.items():
        if name == fifo:
            os.mkfifo(certs / name, 0o644)
        else:
            (certs / name).write_text(text)
    result = meshgen(*command, "fleet.yaml", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    code = "MG120" if fifo == "sealed.yaml" else "MG051"
    assert f"fleet.yaml:{LINES[fifo]}:" in result.stderr, result.stderr
    assert f"error[{code}]" in result.stderr and "a FIFO" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_fleet_file_that_is_no_regular_file_is_refused(tmp_path: Path, special: str) -> None:
    fleet = tmp_path / "fleet.yaml"
    if special == "fifo":
        os.mkfifo(fleet)
    else:
        fleet.symlink_to(special)
    result = meshgen("validate", "fleet.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("fleet.yaml:1:1: error[MG005]: cannot read file: not a "
                                    "regular file"), result.stderr
