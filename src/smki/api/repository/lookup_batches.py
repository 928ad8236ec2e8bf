"""Look-ups that arrive together go to the database together (R-REP-4).

Under load, a worker's event loop takes in many requests at each turn. Answering each with its
own statement costs a round trip to the database per request (on PostgreSQL, a wake-up of the
server process each time), so the look-ups by serial and by EUI-64 started in one turn of the
loop wait for the end of that turn and are read with one statement (``Store.look_up_many``).
Alone, a look-up waits for nothing: its turn ends at once.

The read runs on the event loop, as a single look-up did before: it is an indexed read of a
few rows, cheaper than handing it to a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from smki.storage.api import ListedCertificate

#: (field, limit, keys) → each key's certificates, in order.
ReadMany = Callable[[str, Sequence[Any], int], list[list[ListedCertificate]]]


class LookupBatches:
    """Gathers look-ups per (field, limit) for one turn of the running event loop."""

    def __init__(self, read_many: ReadMany) -> None:
        self._read_many = read_many
        self._pending: dict[
            tuple[str, int], list[tuple[Any, asyncio.Future[list[ListedCertificate]]]]
        ] = {}

    async def look_up(self, field: str, key: Any, limit: int) -> list[ListedCertificate]:
        loop = asyncio.get_running_loop()
        batch = self._pending.get((field, limit))
        if batch is None:
            batch = self._pending[(field, limit)] = []
            loop.call_soon(self._read, field, limit)
        answer: asyncio.Future[list[ListedCertificate]] = loop.create_future()
        batch.append((key, answer))
        return await answer

    def _read(self, field: str, limit: int) -> None:
        batch = self._pending.pop((field, limit))
        try:
            found = self._read_many(field, [key for key, _ in batch], limit)
        except Exception as exc:
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (_, answer), listed in zip(batch, found, strict=True):
            if not answer.done():  # its request may have been cancelled meanwhile
                answer.set_result(listed)
