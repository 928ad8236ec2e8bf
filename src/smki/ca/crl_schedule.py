"""CRLs and ARLs reissued on schedule (R-REP-5): before a list's nextUpdate, never after.

Every active CA keeps a current list: a CRL for an issuing CA, an ARL for a root. A list is
due when less than ``margin`` (default: half the CRL period) is left before its nextUpdate, or
when the CA has none. ``reissue_due_lists`` issues each due list in its own transaction, after
checking again under that transaction that it is still due, so several service processes on
one database may run it at once: the loser of a race meets the unique CRL number and skips
(the winner's list serves everyone). A revocation reissues its list at once (``ra.revocation``);
this is the schedule for the quiet days in between.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from smki.ca.authority import LoadedAuthority
from smki.ca.crl import list_kind_of, publish_crl
from smki.clock import Clock
from smki.errors import Conflict
from smki.storage.api import AuthorityRow, Store, Transaction

log = logging.getLogger(__name__)

#: Loads a CA (certificate, signer, context) by name inside a transaction.
AuthorityLoader = Callable[[Transaction, str], LoadedAuthority]


@dataclass(frozen=True)
class Reissued:
    authority: str
    list_kind: str
    number: int


def due_number(
    tx: Transaction, authority: AuthorityRow, now: dt.datetime, margin: dt.timedelta
) -> int | None:
    """The number the CA's next list takes if one is due now, else None."""
    latest = tx.latest_crl(authority.id, list_kind_of(authority))
    if latest is None:
        return 1
    return latest.number + 1 if latest.next_update - now <= margin else None


def reissue_due_lists(
    store: Store,
    clock: Clock,
    period: dt.timedelta,
    load: AuthorityLoader,
    env: str,
    actor: str,
    margin: dt.timedelta | None = None,
) -> list[Reissued]:
    """Issue every due list of ``env``'s active CAs; what was issued."""
    margin = period / 2 if margin is None else margin
    with store.reading() as tx:
        candidates = [
            a
            for a in tx.authorities(env)
            if a.status == "active"
            and a.certificate_id is not None
            and due_number(tx, a, clock.now(), margin) is not None
        ]
    issued: list[Reissued] = []
    for authority in candidates:
        try:
            with store.transaction() as tx:
                due = due_number(tx, authority, clock.now(), margin)
                if due is None:
                    continue  # another process reissued it meanwhile
                loaded = load(tx, authority.name)
                kind = list_kind_of(authority)
                # The number read with the check: a process that took it first makes this
                # insert a Conflict (PostgreSQL reads committed rows, so the check alone
                # could pass in both).
                number = publish_crl(
                    tx, clock, period, loaded.signing, loaded.context, kind, actor, number=due
                )
        except Conflict:
            log.info("%s list of %s was reissued by another process", env, authority.name)
            continue
        log.info("reissued %s %s number %d on schedule", authority.name, kind, number)
        issued.append(Reissued(authority.name, kind, number))
    return issued
