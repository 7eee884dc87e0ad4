"""Create the public certificates of the bundled example fleet.

    python scripts/example_certs.py            # writes fleet/certs/*.pem

prod-mesh gets a root CA and an intermediate (its cert-chain.pem), stage-mesh a root
standing in for the one its istiod made and `meshgen certs import` stored, and the
bookinfo federation its shared root. Only public certificates are written; the private
keys exist in memory only and are discarded, so nothing secret can reach the
repository. Rerun it when the certificates near expiry, then rebuild the overlays
(`meshgen build`). For a lab with keys you can use, run `meshgen ca init` instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

from meshgen.ca import certificate_pem, issue_intermediate, make_certificate

ROOTS = ("prod-mesh", "stage-mesh", "bookinfo-root")


def main(directory: Path = Path("fleet/certs")) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for name in ROOTS:
        cert, key = make_certificate(f"{name} root CA")
        written[f"{name}.pem"] = certificate_pem(cert)
        if name == "prod-mesh":
            intermediate, _ = issue_intermediate(cert, key, "prod-mesh intermediate CA",
                                                 days=1825)
            written["prod-mesh-chain.pem"] = certificate_pem(intermediate) + \
                certificate_pem(cert)
    for file, pem in written.items():
        (directory / file).write_text(pem)
        print(f"wrote {directory / file}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("fleet/certs"))
