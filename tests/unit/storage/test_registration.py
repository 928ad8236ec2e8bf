"""Registration records (R-PART-1, R-PART-5, R-PART-6, R-IKI-1) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from smki.errors import Conflict, InputError, NotFound, StorageError
from smki.storage.sql import SqlStore
from tests.unit.storage.factories import T0, add_ca, new_certificate

EUI_A = bytes.fromhex("00db1234567890a0")
EUI_B = bytes.fromhex("00db1234567890b0")
EUI_C = bytes.fromhex("00db1234567890c0")
LATER = T0 + dt.timedelta(hours=1)


def test_add_and_read_parties(store: SqlStore) -> None:
    with store.transaction() as tx:
        categories = ["import-supplier", "gas-supplier", "gas-supplier"]
        supplier = tx.add_party("test", "Acme Energy", categories, [EUI_B, EUI_A], T0)
        rdp = tx.add_party("test", "Acme RDP", ["rdp"], [EUI_C], T0)
        live = tx.add_party("live", "Acme Energy", ["import-supplier"], [EUI_A], LATER)
        tx.audit("ra", "party.add", f"party:{supplier}", {"env": "test"})

    with store.transaction() as tx:
        got = tx.party(supplier)
        assert got is not None
        assert (got.id, got.env, got.name) == (supplier, "test", "Acme Energy")
        assert got.categories == ("gas-supplier", "import-supplier")
        assert got.entity_ids == (EUI_A, EUI_B)
        assert got.created_at == T0 and got.created_at.tzinfo is dt.UTC
        assert got.identity_verified_by is None and got.identity_verified_at is None
        assert got.identity_evidence is None
        assert got.srept_completed_at is None and got.srept_recorded_by is None
        assert tx.party(999) is None
        assert [p.id for p in tx.parties()] == [supplier, rdp, live]
        assert [p.id for p in tx.parties("test")] == [supplier, rdp]
        assert [p.id for p in tx.parties("live")] == [live]
        assert tx.parties("elsewhere") == []


def test_times_are_stored_as_utc(store: SqlStore) -> None:
    plus_one = dt.timezone(dt.timedelta(hours=1))
    with store.transaction() as tx:
        party = tx.add_party("test", "P", [], [], T0.astimezone(plus_one))
    with store.transaction() as tx:
        got = tx.party(party)
        assert got is not None and got.created_at == T0 and got.created_at.tzinfo is dt.UTC
    with pytest.raises(StorageError) as info, store.transaction() as tx:
        tx.add_party("test", "Naive", [], [EUI_A], dt.datetime(2025, 1, 1))
    assert info.value.code == "unstorable-value"
    with store.transaction() as tx:
        assert [p.name for p in tx.parties()] == ["P"]


def test_one_eui_may_be_held_in_test_and_in_live(store: SqlStore) -> None:
    with store.transaction() as tx:
        in_test = tx.add_party("test", "P", ["gas-supplier"], [EUI_A], T0)
        in_live = tx.add_party("live", "P", ["gas-supplier"], [EUI_A], T0)
    with store.transaction() as tx:
        found_test = tx.party_by_entity_id("test", EUI_A)
        found_live = tx.party_by_entity_id("live", EUI_A)
        assert found_test is not None and found_test.id == in_test
        assert found_live is not None and found_live.id == in_live
        assert tx.party_by_entity_id("test", EUI_B) is None


def test_an_eui_held_in_one_env_is_refused_and_nothing_is_written(store: SqlStore) -> None:
    with store.transaction() as tx:
        holder = tx.add_party("test", "Holder", ["gas-supplier"], [EUI_A], T0)
    with pytest.raises(Conflict) as info, store.transaction() as tx:
        tx.add_party("test", "Claimant", ["gas-supplier"], [EUI_C, EUI_A], T0)
    assert info.value.code == "duplicate-entity-id"
    assert "00DB1234567890A0" in info.value.detail
    assert "INSERT" not in str(info.value) and "Claimant" not in str(info.value)
    with store.transaction() as tx:
        assert [p.id for p in tx.parties()] == [holder]
        assert tx.party_by_entity_id("test", EUI_C) is None


def test_a_refused_registration_leaves_the_transaction_usable(store: SqlStore) -> None:
    # The refusal happens inside a savepoint: a caller that catches it can carry on and commit
    # (on PostgreSQL a raw constraint error would have aborted the whole transaction).
    with store.transaction() as tx:
        holder = tx.add_party("test", "Holder", [], [EUI_A], T0)
        with pytest.raises(Conflict):
            tx.add_party("test", "Claimant", [], [EUI_B, EUI_A], T0)
        other = tx.add_party("test", "Other", [], [EUI_B], T0)
        tx.audit("ra", "party.add", f"party:{other}", {})
    with store.transaction() as tx:
        assert [p.name for p in tx.parties()] == ["Holder", "Other"]
        assert [p.entity_ids for p in tx.parties()] == [(EUI_A,), (EUI_B,)]
        assert holder != other


def test_entity_ids_must_be_eight_octets(store: SqlStore) -> None:
    for bad in (b"\x00" * 7, b"\x00" * 9):
        with pytest.raises(InputError) as info, store.transaction() as tx:
            tx.add_party("test", "P", [], [bad], T0)
        assert info.value.code == "bad-entity-id"
    with pytest.raises(InputError) as info, store.transaction() as tx:
        tx.add_party("test", "P", "gas-supplier", [EUI_A], T0)
    assert info.value.code == "bad-category"
    with store.transaction() as tx:
        assert tx.parties() == []


def test_amend_party(store: SqlStore) -> None:
    with store.transaction() as tx:
        party = tx.add_party("test", "Old", ["gas-supplier"], [EUI_A, EUI_B], T0)
        tx.amend_party(party, name="New")
        tx.amend_party(party, categories=["other-sec-party", "gas-supplier"])
        tx.amend_party(party, entity_ids=[EUI_C, EUI_B])  # replaces the set
        tx.amend_party(party)  # nothing to change
    with store.transaction() as tx:
        got = tx.party(party)
        assert got is not None
        assert (got.name, got.categories) == ("New", ("gas-supplier", "other-sec-party"))
        assert got.entity_ids == (EUI_B, EUI_C)
        assert tx.party_by_entity_id("test", EUI_A) is None  # released ...
        other = tx.add_party("test", "Other", [], [EUI_A], T0)  # ... so another may hold it
    with pytest.raises(NotFound) as info, store.transaction() as tx:
        tx.amend_party(999, name="x")
    assert info.value.code == "unknown-party"
    with store.transaction() as tx:
        tx.amend_party(other, entity_ids=[])
        assert tx.party_by_entity_id("test", EUI_A) is None


def test_amend_party_refuses_an_eui_held_by_another(store: SqlStore) -> None:
    with store.transaction() as tx:
        holder = tx.add_party("test", "Holder", [], [EUI_A], T0)
        party = tx.add_party("test", "Party", ["rdp"], [EUI_B], T0)
        tx.add_party("live", "Live", [], [EUI_C], T0)
    with pytest.raises(Conflict) as info, store.transaction() as tx:
        tx.amend_party(party, name="Renamed", categories=[], entity_ids=[EUI_B, EUI_A])
    assert info.value.code == "duplicate-entity-id"
    assert "00DB1234567890A0" in info.value.detail
    with store.transaction() as tx:
        # Caught inside the transaction: nothing of the amendment is written.
        with pytest.raises(Conflict):
            tx.amend_party(party, name="Renamed", entity_ids=[EUI_A])
        got = tx.party(party)
        assert got is not None
        assert (got.name, got.categories, got.entity_ids) == ("Party", ("rdp",), (EUI_B,))
        held = tx.party_by_entity_id("test", EUI_A)
        assert held is not None and held.id == holder
        tx.amend_party(party, entity_ids=[EUI_B, EUI_C])  # EUI_C is only held in live
    with store.transaction() as tx:
        got = tx.party(party)
        assert got is not None and got.entity_ids == (EUI_B, EUI_C)


def test_identity_verification(store: SqlStore) -> None:
    with store.transaction() as tx:
        party = tx.add_party("test", "P", [], [EUI_A], T0)
        tx.set_identity_verified(party, "officer:alice", "companies-house:0123", LATER)
        tx.audit("officer:alice", "party.identity-verified", f"party:{party}", {})
    with store.transaction() as tx:
        got = tx.party(party)
        assert got is not None
        assert got.identity_verified_by == "officer:alice"
        assert got.identity_verified_at == LATER
        assert got.identity_evidence == "companies-house:0123"
    with pytest.raises(NotFound) as info, store.transaction() as tx:
        tx.set_identity_verified(999, "officer:alice", "x", LATER)
    assert info.value.code == "unknown-party"


def test_srept_completion_is_recorded_once(store: SqlStore) -> None:
    with store.transaction() as tx:
        party = tx.add_party("test", "P", [], [EUI_A], T0)
    with store.transaction() as tx:
        assert tx.set_srept_completed(party, "dcc:bob", LATER) is True
        assert tx.set_srept_completed(party, "dcc:carol", LATER + dt.timedelta(days=1)) is False
    with store.transaction() as tx:
        got = tx.party(party)
        assert got is not None
        assert (got.srept_completed_at, got.srept_recorded_by) == (LATER, "dcc:bob")
    with pytest.raises(NotFound) as info, store.transaction() as tx:
        tx.set_srept_completed(999, "dcc:bob", LATER)
    assert info.value.code == "unknown-party"


def test_officers(store: SqlStore) -> None:
    with store.transaction() as tx:
        party = tx.add_party("test", "P", [], [EUI_A], T0)
        other = tx.add_party("test", "Q", [], [EUI_B], T0)
        sro = tx.add_officer(party, "sro", "Sam", "dcc:bob", T0)
        aro = tx.add_officer(party, "aro", "Ann", f"officer:{sro}", LATER)
        tx.add_officer(other, "aro", "Olga", "dcc:bob", T0)
    with store.transaction() as tx:
        got = tx.officer(aro)
        assert got is not None
        assert (got.party_id, got.kind, got.name) == (party, "aro", "Ann")
        assert (got.appointed_at, got.appointed_by) == (LATER, f"officer:{sro}")
        assert got.removed_at is None and got.removed_by is None and got.certificate_id is None
        assert tx.officer(999) is None
        assert [o.id for o in tx.officers(party)] == [sro, aro]

        assert tx.remove_officer(aro, "dcc:bob", LATER) is True
        assert tx.remove_officer(aro, "dcc:carol", LATER + dt.timedelta(days=1)) is False
        assert [o.id for o in tx.officers(party)] == [sro]
        assert [o.id for o in tx.officers(party, include_removed=True)] == [sro, aro]
        removed = tx.officer(aro)
        assert removed is not None
        assert (removed.removed_at, removed.removed_by) == (LATER, "dcc:bob")
        assert tx.officers(999) == []


def test_officer_refusals(store: SqlStore) -> None:
    with store.transaction() as tx:
        party = tx.add_party("test", "P", [], [EUI_A], T0)
    with pytest.raises(InputError) as bad_kind, store.transaction() as tx:
        tx.add_officer(party, "ceo", "Cy", "dcc:bob", T0)
    assert bad_kind.value.code == "bad-officer-kind"
    with pytest.raises(NotFound) as no_party, store.transaction() as tx:
        tx.add_officer(999, "aro", "Ann", "dcc:bob", T0)
    assert no_party.value.code == "unknown-party"
    with pytest.raises(NotFound) as no_officer, store.transaction() as tx:
        tx.remove_officer(999, "dcc:bob", T0)
    assert no_officer.value.code == "unknown-officer"
    with store.transaction() as tx:
        assert tx.officers(party, include_removed=True) == []


def test_officer_certificates(store: SqlStore) -> None:
    with store.transaction() as tx:
        party = tx.add_party("test", "P", [], [EUI_A], T0)
        ann = tx.add_officer(party, "aro", "Ann", "officer:1", T0)
        ben = tx.add_officer(party, "aro", "Ben", "officer:1", T0)
        ica = add_ca(tx, "ica", env="test")
        first, second = tx.add_certificates(
            [new_certificate(ica, 11, kind="iki"), new_certificate(ica, 12, kind="iki")], T0
        )
        tx.set_officer_certificate(ann, first)
    with store.transaction() as tx:
        found = tx.officer_by_certificate(first)
        assert found is not None and (found.id, found.certificate_id) == (ann, first)
        assert tx.officer_by_certificate(second) is None
        tx.set_officer_certificate(ann, first)  # again: no change, no error
        tx.set_officer_certificate(ann, second)  # a new credential replaces the old
        assert tx.officer_by_certificate(first) is None
        found = tx.officer_by_certificate(second)
        assert found is not None and found.id == ann
    with pytest.raises(Conflict) as in_use, store.transaction() as tx:
        tx.set_officer_certificate(ben, second)
    assert in_use.value.code == "certificate-in-use"
    with pytest.raises(NotFound) as no_cert, store.transaction() as tx:
        tx.set_officer_certificate(ben, 999)
    assert no_cert.value.code == "certificate-not-found"
    with pytest.raises(NotFound) as no_officer, store.transaction() as tx:
        tx.set_officer_certificate(999, first)
    assert no_officer.value.code == "unknown-officer"


def test_notifications(store: SqlStore) -> None:
    details = {"party": 7, "env": "live", "note": "é", "list": [1, None]}
    with store.transaction() as tx:
        first = tx.add_notification("sec-panel", "srept-completed", "party:7", details, T0)
        second = tx.add_notification("party:7", "srept-completed", "party:7", {}, LATER)
    with store.transaction() as tx:
        assert [n.id for n in tx.notifications()] == [first, second]
        (got,) = tx.notifications("sec-panel")
        assert (got.id, got.at, got.recipient) == (first, T0, "sec-panel")
        assert (got.kind, got.subject, got.details) == ("srept-completed", "party:7", details)
        assert got.at.tzinfo is dt.UTC
        assert [n.id for n in tx.notifications("party:7")] == [second]
        assert tx.notifications("nobody") == []
    with pytest.raises(StorageError) as info, store.transaction() as tx:
        tx.add_notification("sec-panel", "x", "y", {"raw": b"\x00"}, T0)
    assert info.value.code == "bad-notification-details"


def test_token_ids_refuse_replays_until_expiry(store: SqlStore) -> None:
    expires = T0 + dt.timedelta(minutes=5)
    with store.transaction() as tx:
        assert tx.use_token_id("jti-1", expires, T0) is True
        assert tx.use_token_id("jti-1", expires, T0) is False
        # A replay leaves the transaction usable (no aborted PostgreSQL transaction).
        assert tx.use_token_id("jti-2", expires, T0) is True
        tx.audit("aro:1", "token.used", "jti-2", {})
    with store.transaction() as tx:
        assert tx.use_token_id("jti-1", expires, T0 + dt.timedelta(minutes=4)) is False
    with store.transaction() as tx:
        # Once past its expiry the id is purged; a token with it is refused by its expiry alone.
        later = expires + dt.timedelta(seconds=1)
        assert tx.use_token_id("jti-1", later + dt.timedelta(minutes=5), later) is True
        assert tx.use_token_id("jti-1", later + dt.timedelta(minutes=5), later) is False


def test_token_id_used_reads_what_use_token_id_recorded(store: SqlStore) -> None:
    expires = T0 + dt.timedelta(minutes=5)
    with store.transaction() as tx:
        assert not tx.token_id_used("jti-r", T0)
        assert not tx.token_id_used("x" * 200, T0)  # could never have been recorded
    with store.transaction() as tx:
        assert tx.use_token_id("jti-r", expires, T0) is True
    with store.reading() as tx:
        assert tx.token_id_used("jti-r", T0)
        assert tx.token_id_used("jti-r", expires)
        assert not tx.token_id_used("jti-r", expires + dt.timedelta(seconds=1))


def test_token_ids_at_the_expiry_instant_are_kept(store: SqlStore) -> None:
    expires = T0 + dt.timedelta(minutes=5)
    with store.transaction() as tx:
        assert tx.use_token_id("jti", expires, T0) is True
        assert tx.use_token_id("jti", expires, expires) is False


@pytest.mark.parametrize("jti", ["x" * 129, "nul\x00inside"])
def test_unstorable_token_ids_are_refused(store: SqlStore, jti: str) -> None:
    with pytest.raises(StorageError) as info, store.transaction() as tx:
        tx.use_token_id(jti, LATER, T0)
    assert info.value.code == "unstorable-value"
    with store.transaction() as tx:
        assert tx.use_token_id("é" * 128, LATER, T0) is True  # the limit is in characters


def _register(store: SqlStore, name: str, eui: bytes) -> str:
    try:
        with store.transaction() as tx:
            tx.add_party("test", name, [], [eui], T0)
    except Conflict as exc:
        return exc.code
    return "ok"


def test_concurrent_registrations_of_one_eui_one_wins(store: SqlStore) -> None:
    barrier = threading.Barrier(2, timeout=30)

    def register(name: str, eui: bytes) -> str:
        barrier.wait()
        return _register(store, name, eui)

    euis = [bytes.fromhex(f"00db0000000000{i:02x}") for i in range(5)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for eui in euis:
            futures = [pool.submit(register, name, eui) for name in ("a", "b")]
            assert sorted(f.result() for f in futures) == ["duplicate-entity-id", "ok"]
    with store.transaction() as tx:
        assert len(tx.parties("test")) == len(euis)


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_registration_waits_for_an_uncommitted_holder(
    store: SqlStore, first_commits: bool
) -> None:
    # The second writer starts while the first holds the EUI uncommitted, so no read-then-
    # write check could see it: only the database constraint (or SQLite's write lock) decides.
    inserted = threading.Event()

    def first() -> str:
        try:
            with store.transaction() as tx:
                tx.add_party("test", "first", [], [EUI_A], T0)
                inserted.set()
                time.sleep(0.3)
                if not first_commits:
                    raise RuntimeError("give up")
        except RuntimeError:
            return "rolled-back"
        return "ok"

    def second() -> str:
        assert inserted.wait(30)
        return _register(store, "second", EUI_A)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(first), pool.submit(second)]
        results = [f.result() for f in futures]
    if first_commits:
        assert results == ["ok", "duplicate-entity-id"]
    else:
        assert results == ["rolled-back", "ok"]
    with store.transaction() as tx:
        held = tx.party_by_entity_id("test", EUI_A)
        assert held is not None and held.name == ("first" if first_commits else "second")
