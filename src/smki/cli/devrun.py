"""``make run``: a ready Test environment on the embedded defaults (SQLite, file keys).

On first run it performs the key ceremony in ``$SMKI_HOME`` (default ``./.smki``) with a
development passphrase — said loudly in the log, never for Live — exports the CA certificates
and CRLs to ``<home>/ca`` and shows the authorities. Later runs reuse the home.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from smki.cli.main import app

DEVELOPMENT_PASSPHRASE = "smki-development-passphrase"  # noqa: S105 - marked as such in the log

log = logging.getLogger("smki.devrun")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    home = Path(os.environ.get("SMKI_HOME", ".smki")).resolve()
    if not os.environ.get("SMKI_KEY_PASSPHRASE"):
        log.warning(
            "DEVELOPMENT PASSPHRASE in use for %s: keys are protected by a published "
            "passphrase; set SMKI_KEY_PASSPHRASE for anything real",
            home,
        )
        os.environ["SMKI_KEY_PASSPHRASE"] = DEVELOPMENT_PASSPHRASE
    steps: list[list[str]] = []
    if not (home / "smki.yaml").is_file():
        steps.append(["init", "--home", str(home), "--env", "test"])
    steps.append(["ca", "export", "--home", str(home), "--out", str(home / "ca")])
    steps.append(["ca", "show", "--home", str(home)])
    for args in steps:
        try:
            app(args, standalone_mode=False)
        except SystemExit as exit_:
            if exit_.code:
                return int(exit_.code)
    print(
        f"\nTest environment ready in {home}. Issue a certificate with:\n"
        f"  .venv/bin/smki ca issue --home {home} --csr device.csr"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
