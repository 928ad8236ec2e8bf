"""CRLs and ARLs reissued on schedule, before their nextUpdate (R-REP-5)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from smki.ca.crl import list_kind_of
from smki.ca.crl_schedule import Reissued, reissue_due_lists
from smki.clock import FixedClock
from smki.profiles.kinds import Environment
from smki.wiring import Services, open_services
from tests.integration.api.support import serving
from tests.integration.cli_support import PASSPHRASE, Smki

ENV = Environment.TEST
LISTS = 8  # a CRL and an ARL for each of the four hierarchies


def _latest(services: Services) -> dict[str, int]:
    with services.store.reading() as tx:
        numbers = {}
        for authority in tx.authorities(ENV):
            latest = tx.latest_crl(authority.id, list_kind_of(authority))
            assert latest is not None
            numbers[authority.name] = latest.number
        return numbers


def _reissue(services: Services) -> list[Reissued]:
    return reissue_due_lists(
        services.store,
        services.clock,
        services.config.crl_period,
        services.authority_loader(ENV),
        ENV,
        "test",
    )


def _at(ready: Smki, hours: float) -> Services:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    return open_services(ready.home, clock=FixedClock(start), secret=PASSPHRASE.encode())


def test_lists_are_reissued_once_due_and_only_then(ready: Smki) -> None:
    services = _at(ready, 1)
    try:
        assert _reissue(services) == []  # 23 h left of 24: not due
        assert set(_latest(services).values()) == {1}
    finally:
        services.close()
    services = _at(ready, 13)  # less than half the period left
    try:
        reissued = _reissue(services)
        assert len(reissued) == LISTS and {r.number for r in reissued} == {2}
        assert _reissue(services) == []  # the new lists run a full period again
        with services.store.reading() as tx:
            (root,) = [a for a in tx.authorities(ENV) if a.name == "root-oca"]
            latest = tx.latest_crl(root.id, "arl")
            assert latest is not None
            assert latest.next_update == latest.this_update + services.config.crl_period
    finally:
        services.close()


def test_racing_processes_issue_each_list_once(ready: Smki) -> None:
    errors: list[BaseException] = []
    results: list[list[Reissued]] = []

    def run() -> None:
        services = _at(ready, 13)
        try:
            results.append(_reissue(services))
        except BaseException as error:
            errors.append(error)
        finally:
            services.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(len(r) for r in results) == LISTS  # each list by one of them
    services = _at(ready, 13)
    try:
        assert set(_latest(services).values()) == {2}
    finally:
        services.close()


def test_the_cli_reissues_due_or_all(ready: Smki) -> None:
    assert "no list was due" in ready.ok("ca", "reissue-crls", *ready.h).stdout
    out = ready.ok("ca", "reissue-crls", *ready.h, "--all").stdout
    assert out.count("number 2 issued") == LISTS


def test_the_service_reissues_at_start_up(ready: Smki, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FixedClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=20))
    monkeypatch.setenv("SMKI_CRL_SCHEDULE", "3600")
    monkeypatch.setenv("SMKI_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("SMKI_DATABASE_URL", ready.env["SMKI_DATABASE_URL"])
    with serving(ready.home, ENV, clock=clock):
        services = _at(ready, 20)
        try:
            deadline = time.monotonic() + 30
            while set(_latest(services).values()) != {2}:
                assert time.monotonic() < deadline, _latest(services)
                time.sleep(0.1)
        finally:
            services.close()
