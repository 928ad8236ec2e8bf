"""Look-ups started in one turn of the event loop are read with one statement (R-REP-4)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from smki.api.repository.lookup_batches import LookupBatches
from smki.errors import StorageError
from smki.storage.api import ListedCertificate


class _Reads:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, list[Any], int]] = []
        self.fail = fail

    def __call__(self, field: str, keys: Sequence[Any], limit: int) -> list[list[Any]]:
        self.calls.append((field, list(keys), limit))
        if self.fail:
            raise StorageError("the database is unavailable or busy; try again", code="unavailable")
        return [[f"{field}:{key}"] * (key % 3) for key in keys]


def test_one_turn_one_read_per_field_and_limit() -> None:
    reads = _Reads()
    batches = LookupBatches(reads)

    async def run() -> list[Any]:
        return await asyncio.gather(
            *(batches.look_up("serial", key, 2) for key in (1, 2, 3, 4)),
            batches.look_up("eui", 5, 101),
            batches.look_up("serial", 7, 2),
        )

    answers = asyncio.run(run())
    assert sorted(reads.calls) == [("eui", [5], 101), ("serial", [1, 2, 3, 4, 7], 2)]
    assert answers == [
        ["serial:1"],
        ["serial:2", "serial:2"],
        [],
        ["serial:4"],
        ["eui:5", "eui:5"],
        ["serial:7"],
    ]


def test_later_turns_read_again() -> None:
    reads = _Reads()
    batches = LookupBatches(reads)

    async def run() -> None:
        await batches.look_up("serial", 1, 2)
        await batches.look_up("serial", 2, 2)

    asyncio.run(run())
    assert reads.calls == [("serial", [1], 2), ("serial", [2], 2)]


def test_a_failed_read_fails_every_look_up_of_its_turn() -> None:
    batches = LookupBatches(_Reads(fail=True))

    async def run() -> list[Any]:
        return list(
            await asyncio.gather(
                batches.look_up("serial", 1, 2),
                batches.look_up("serial", 2, 2),
                return_exceptions=True,
            )
        )

    outcomes = asyncio.run(run())
    assert all(isinstance(o, StorageError) and o.code == "unavailable" for o in outcomes)


def test_a_cancelled_look_up_does_not_disturb_the_others() -> None:
    reads = _Reads()
    batches = LookupBatches(reads)

    async def run() -> list[Any]:
        first = asyncio.ensure_future(batches.look_up("serial", 1, 2))
        second = asyncio.ensure_future(batches.look_up("serial", 2, 2))
        await asyncio.sleep(0)  # both started
        first.cancel()
        return list(await asyncio.gather(first, second, return_exceptions=True))

    cancelled, answered = asyncio.run(run())
    assert isinstance(cancelled, asyncio.CancelledError)
    assert answered == ["serial:2", "serial:2"]


@pytest.mark.parametrize("count", [1, 40])
def test_every_look_up_is_answered(count: int) -> None:
    reads = _Reads()
    batches = LookupBatches(reads)

    async def run() -> list[list[ListedCertificate]]:
        return await asyncio.gather(*(batches.look_up("serial", k, 2) for k in range(count)))

    assert len(asyncio.run(run())) == count
    assert sum(len(keys) for _, keys, _ in reads.calls) == count
