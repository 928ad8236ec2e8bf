"""``make run``: the whole service on the embedded defaults (SQLite, file keys).

On first run it performs the key ceremony for a Test environment in ``$SMKI_HOME`` (default
``./.smki``) with a development passphrase — said loudly in the log, never for Live —
registers one demonstration supplier party (identity verified, SRO, ARO, SREPT) and writes its
ARO credential to ``<home>/demo-aro/``; every run exports the CA files to ``<home>/ca`` and then
serves the SMKI Service Interface on 127.0.0.1:8000 (``SMKI_PORT`` to change).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from smki.cli.main import app
from smki.errors import SmkiError
from smki.iki.credential_files import CredentialInfo, write_credential
from smki.profiles.kinds import Environment
from smki.ra.categories import PartyCategory
from smki.ra.officers import Officers
from smki.ra.parties import Registration
from smki.wiring import open_services
from smki.x509.eui import parse_eui64

DEVELOPMENT_PASSPHRASE = "smki-development-passphrase"  # noqa: S105 - marked as such in the log
DEMO_EUI = "90B3D51F30010000"

log = logging.getLogger("smki.devrun")


def provision_demo(home: Path) -> Path:
    """A demonstration supplier, Authorised, with its ARO credential in ``home/demo-aro``."""
    folder = home / "demo-aro"
    if (folder / "aro.json").is_file():
        return folder
    services = open_services(home)
    try:
        registration = Registration(services.store, services.clock, services.actor)
        party = registration.create_party(
            Environment.TEST,
            "Demonstration Supplier",
            [PartyCategory.IMPORT_SUPPLIER],
            [parse_eui64(DEMO_EUI)],
        )
        registration.verify_identity(party.id, "make run", "demonstration only")
        officers = Officers(
            services.store,
            services.clock,
            services.config,
            services.linter(Environment.TEST),
            services.authority,
            services.actor,
        )
        officers.add_sro(party.id, "Demo SRO")
        appointment = officers.appoint_aro(party.id, "Demo ARO")
        registration.record_srept(party.id)
        write_credential(
            folder,
            CredentialInfo(appointment.officer.id, party.id, "test"),
            appointment.certificate,
            appointment.ica,
            appointment.private_key,
        )
    finally:
        services.close()
    log.info(
        "demonstration supplier %s (EUI-64 %s) with its ARO credential in %s",
        party.id,
        DEMO_EUI,
        folder,
    )
    return folder


def _run(args: list[str]) -> int:
    try:
        app(args, standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


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
    if not (home / "smki.yaml").is_file():
        status = _run(["init", "--home", str(home), "--env", "test"])
        if status:
            return status
    try:
        provision_demo(home)
    except SmkiError as error:
        print(f"error: {error.code}: {error.detail}", file=sys.stderr)
        return error.exit_status
    status = _run(["ca", "export", "--home", str(home), "--out", str(home / "ca")])
    if status:
        return status
    port = os.environ.get("SMKI_PORT", "8000")
    return _run(["serve", "--home", str(home), "--port", port])


if __name__ == "__main__":
    sys.exit(main())
