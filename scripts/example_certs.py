"""Create the public root certificates of the bundled example fleet.

    python scripts/example_certs.py            # writes fleet/certs/<mesh>.pem

Each mesh gets a fresh self-signed root CA valid for ten years. Only the public
certificates are written; the private keys exist in memory only and are discarded,
so nothing secret can reach the repository. Rerun it when the roots near expiry,
then rebuild the overlays (`meshgen build`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from meshgen.ca import certificate_pem, make_certificate

MESHES = ("prod-mesh", "stage-mesh", "east-mesh", "west-mesh", "central-mesh")


def main(directory: Path = Path("fleet/certs")) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for mesh in MESHES:
        cert, _key = make_certificate(f"{mesh} root CA")
        (directory / f"{mesh}.pem").write_text(certificate_pem(cert))
        print(f"wrote {directory / f'{mesh}.pem'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("fleet/certs"))
