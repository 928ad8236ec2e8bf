"""Signed bulk extracts through a real server (R-REP-6, R-REP-3).

A reader downloads the full extract and an increment, and checks each as a relying party
would (``verify_extract`` against the exported IKI Root). The full extract is built once and
served from the home's cache until it is older than the maximum age (one hour by default);
the server's clock is held by the test.
"""

from __future__ import annotations

import datetime as dt
import tarfile
from pathlib import Path

import httpx
from cryptography import x509

from smki.clock import FixedClock
from smki.repository.extract_verify import VerifiedExtract, verify_extract
from smki.x509.roles import RemotePartyRole
from tests.integration.api.repository_support import reader_with_aro, real_now, session_headers
from tests.integration.api.support import Subscriber, assert_problem, serving
from tests.integration.cli_support import Smki
from tests.integration.csr_factory import organisation_csr

FULL = "/repository/v1/extracts/full"
INCREMENT = "/repository/v1/extracts/increment"


def _check(smki: Smki, body: bytes, folder: Path, name: str, now: dt.datetime) -> VerifiedExtract:
    path = folder / name
    path.write_bytes(body)
    anchor = x509.load_pem_x509_certificate((smki.home / "out" / "root-ica.pem").read_bytes())
    return verify_extract(path, [anchor], now=now)


def _issue(smki: Smki, folder: Path) -> int:
    csr = folder / "org.csr"
    csr.write_bytes(organisation_csr(RemotePartyRole.SUPPLIER, bytes.fromhex("90B3D51F30050000")))
    smki.ok("ca", "issue", *smki.h, "--csr", str(csr), "--out", str(folder / "org.pem"))
    return x509.load_pem_x509_certificate((folder / "org.pem").read_bytes()).serial_number


def _serials(body: bytes, folder: Path) -> set[int]:
    path = folder / "serials.tar.gz"
    path.write_bytes(body)
    with tarfile.open(path, "r:gz") as archive:
        stream = archive.extractfile("certificates.pem")
        assert stream is not None
        data = stream.read()
    return {c.serial_number for c in x509.load_pem_x509_certificates(data)} if data else set()


def test_a_reader_downloads_verified_extracts(server_env: Smki, tmp_path: Path) -> None:
    smki = server_env
    reader: Subscriber = reader_with_aro(
        smki,
        tmp_path / "reader",
        category="gas-supplier",
        eui="90B3D51F30060000",
        name="Bulk Relying Party",
    )
    clock = FixedClock(real_now())
    with serving(smki.home, clock=clock) as base_url, httpx.Client(base_url=base_url) as client:
        assert_problem(client.get(FULL), 401, "session-missing")
        session = session_headers(client, reader, clock)

        first = client.get(FULL, headers=session)
        assert first.status_code == 200, first.text
        assert first.headers["content-type"] == "application/gzip"
        assert first.headers["content-disposition"] == (
            'attachment; filename="smki-test-full.tar.gz"'
        )
        assert int(first.headers["content-length"]) == len(first.content)
        verified = _check(smki, first.content, tmp_path, "full.tar.gz", clock.now())
        assert verified.manifest.kind == "full" and verified.manifest.until == clock.now()
        assert (smki.home / "extracts" / "full-test.tar.gz").read_bytes() == first.content

        # Issued after the cached extract: not in it until the cache is older than an hour.
        issued = _issue(smki, tmp_path)
        clock.advance(dt.timedelta(minutes=30))
        cached = client.get(FULL, headers=session)
        assert cached.content == first.content
        assert issued not in _serials(cached.content, tmp_path)

        clock.advance(dt.timedelta(minutes=31))
        session = session_headers(client, reader, clock)  # the first session lasted an hour
        rebuilt = client.get(FULL, headers=session)
        assert rebuilt.status_code == 200, rebuilt.text
        assert rebuilt.content != first.content
        assert _check(smki, rebuilt.content, tmp_path, "rebuilt.tar.gz", clock.now())
        assert issued in _serials(rebuilt.content, tmp_path)

        since = (clock.now() - dt.timedelta(hours=2)).isoformat().replace("+00:00", "Z")
        increment = client.get(INCREMENT, params={"since": since}, headers=session)
        assert increment.status_code == 200, increment.text
        assert increment.headers["content-disposition"].startswith(
            'attachment; filename="smki-test-increment-'
        )
        verified = _check(smki, increment.content, tmp_path, "increment.tar.gz", clock.now())
        assert verified.manifest.kind == "increment"
        assert issued in _serials(increment.content, tmp_path)
        # Built per request and never left on disk.
        assert sorted(p.name for p in (smki.home / "extracts").iterdir()) == [
            ".full-test.lock",
            "full-test.tar.gz",
        ]


def test_increment_refusals(server_env: Smki, tmp_path: Path) -> None:
    smki = server_env
    reader = reader_with_aro(
        smki,
        tmp_path / "reader",
        category="import-supplier",
        eui="90B3D51F30070000",
        name="Increment Reader",
    )
    clock = FixedClock(real_now())
    with serving(smki.home, clock=clock) as base_url, httpx.Client(base_url=base_url) as client:
        session = session_headers(client, reader, clock)
        assert_problem(client.get(INCREMENT, headers=session), 400, "malformed-request")
        for since in ("yesterday", "2999-01-01T00:00:00Z"):
            response = client.get(INCREMENT, params={"since": since}, headers=session)
            body = assert_problem(response, 422, "bad-since")
            assert body["rid"] == "R-REP-6"
        assert_problem(
            client.get(INCREMENT, params={"since": "2025-01-01T00:00:00Z"}),
            401,
            "session-missing",
        )
