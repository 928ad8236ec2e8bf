"""The hot look-ups answered without the framework's machinery (``fast_lookups``, R-REP-4)
answer byte for byte what the documented handlers answer, and refuse nothing themselves."""

from __future__ import annotations

import asyncio

import httpx

from tests.integration.api.repository_shelf import DEVICE_A, SUPPLIER_EUI, Shelf, shelf
from tests.integration.api.repository_support import CERTIFICATES
from tests.integration.api.support import assert_problem

__all__ = ["shelf"]  # the module's fixture


def test_by_serial_is_the_handlers_answer(shelf: Shelf) -> None:
    for name in ("org-ds", "org-revoked", "device-suspended", "org-old"):
        path = f"{CERTIFICATES}/{shelf.issued[name].hex}"
        fast = shelf.client.get(path, headers=shelf.supplier)  # no query: the fast path
        full = shelf.client.get(path, params={"format": "json"}, headers=shelf.supplier)
        assert fast.status_code == full.status_code == 200, fast.text
        assert fast.content == full.content
        assert fast.headers["content-type"] == full.headers["content-type"]
        assert fast.headers["vary"] == full.headers["vary"] == "Accept"


def test_by_eui_is_the_handlers_answer(shelf: Shelf) -> None:
    for eui in (SUPPLIER_EUI, DEVICE_A, DEVICE_A.lower(), "0000000000000000"):
        fast = shelf.client.get(CERTIFICATES, params={"eui": eui}, headers=shelf.supplier)
        full = shelf.client.get(
            CERTIFICATES, params={"eui": eui, "limit": "50"}, headers=shelf.supplier
        )
        assert fast.status_code == full.status_code == 200, fast.text
        assert fast.content == full.content


def test_refusals_are_the_applications(shelf: Shelf) -> None:
    known = f"{CERTIFICATES}/{shelf.issued['org-ds'].hex}"
    assert_problem(shelf.client.get(known), 401, "session-missing")
    bogus = {"Authorization": "Bearer smkis_not-a-session"}
    assert_problem(shelf.client.get(known, headers=bogus), 401, "session-invalid")
    missing = f"{CERTIFICATES}/{'7' * 32}"
    assert_problem(shelf.client.get(missing, headers=shelf.supplier), 404, "certificate-not-found")
    bad = shelf.client.get(CERTIFICATES, params={"eui": "xyz"}, headers=shelf.supplier)
    assert_problem(bad, 400, "bad-eui")
    der = shelf.client.get(known, headers=shelf.supplier | {"Accept": "application/pkix-cert"})
    assert der.status_code == 200 and der.content == shelf.issued["org-ds"].der


def _fast(shelf: Shelf, route: str) -> float:
    for line in shelf.client.get("/metrics").text.splitlines():
        if line.startswith(f'smki_repository_fast_lookups_total{{endpoint="{route}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_fast_path_answers_and_is_recorded_under_its_route(shelf: Shelf) -> None:
    by_serial, search = f"{CERTIFICATES}/{{serial}}", CERTIFICATES
    before = (_fast(shelf, by_serial), _fast(shelf, search))
    path = f"{CERTIFICATES}/{shelf.issued['org-ds'].hex}"
    assert shelf.client.get(path, headers=shelf.supplier).status_code == 200
    found = shelf.client.get(CERTIFICATES, params={"eui": DEVICE_A}, headers=shelf.supplier)
    assert found.status_code == 200
    # What the handlers answer (another form, another parameter, a refusal) is not counted.
    shelf.client.get(path, params={"format": "json"}, headers=shelf.supplier)
    shelf.client.get(path)
    assert (_fast(shelf, by_serial), _fast(shelf, search)) == (before[0] + 1, before[1] + 1)
    metrics = shelf.client.get("/metrics").text
    assert (
        f'smki_http_requests_total{{endpoint="{by_serial}",method="GET",status="200"}}' in metrics
    )


def test_look_ups_sent_together_each_get_their_own_answer(shelf: Shelf) -> None:
    """Many look-ups at once are read together (``lookup_batches``); each answer is still
    the one it gets alone, and a refusal among them stays its own."""
    paths = [f"{CERTIFICATES}/{issued.hex}" for issued in shelf.issued.values()]
    paths += [f"{CERTIFICATES}?eui={eui}" for eui in (SUPPLIER_EUI, DEVICE_A, "0" * 16)]
    paths.append(f"{CERTIFICATES}/{'7' * 32}")  # no such certificate: 404 from the handler
    alone = {path: shelf.client.get(path, headers=shelf.supplier) for path in paths}

    async def together() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(paths) * 3)
        async with httpx.AsyncClient(base_url=str(shelf.client.base_url), limits=limits) as http:
            return await asyncio.gather(
                *(http.get(path, headers=shelf.supplier) for path in paths * 3)
            )

    for path, answer in zip(paths * 3, asyncio.run(together()), strict=True):
        assert answer.status_code == alone[path].status_code, path
        assert answer.content == alone[path].content, path
