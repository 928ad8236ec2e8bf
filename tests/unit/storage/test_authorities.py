"""Authorities and meta (R-X-2): CRUD, unique names, conditional status changes."""

from __future__ import annotations

import datetime as dt

import pytest

from smki.errors import Conflict, NotFound
from smki.storage.sql import SqlStore
from tests.unit.storage.factories import T0, new_certificate


def test_add_and_read_authorities(store: SqlStore) -> None:
    with store.transaction() as tx:
        root = tx.add_authority("test", "root-oca", "organisation", True, "k-root", None)
        issuing = tx.add_authority("test", "issuing-oca", "organisation", False, "k-iss", root)
        live = tx.add_authority("live", "root-oca", "organisation", True, "k-live", None)
        tx.audit("ceremony", "authority.add", "test/root-oca", {"id": root})

    with store.transaction() as tx:
        got = tx.authority("test", "issuing-oca")
        assert got is not None
        assert (got.id, got.parent_id, got.is_root, got.key_label) == (
            issuing,
            root,
            False,
            "k-iss",
        )
        assert (got.env, got.name, got.pki, got.status) == (
            "test",
            "issuing-oca",
            "organisation",
            "active",
        )
        assert got.certificate_id is None
        assert got.created_at.tzinfo is dt.UTC
        assert tx.authority_by_id(root).is_root is True
        assert tx.authority("test", "nope") is None
        assert [a.id for a in tx.authorities()] == [root, issuing, live]
        assert [a.id for a in tx.authorities("test")] == [root, issuing]
        assert [a.id for a in tx.authorities("live")] == [live]


def test_duplicate_name_in_one_env_is_a_conflict(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_authority("test", "root-oca", "organisation", True, "k", None)
    with pytest.raises(Conflict) as info, store.transaction() as tx:
        tx.add_authority("test", "root-oca", "organisation", True, "k2", None)
    assert info.value.code == "duplicate-authority"
    with store.transaction() as tx:
        assert len(tx.authorities()) == 1


def test_unknown_parent_or_id_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound), store.transaction() as tx:
        tx.authority_by_id(999)
    with pytest.raises(NotFound), store.transaction() as tx:
        tx.add_authority("test", "issuing-oca", "organisation", False, "k", 999)
    with pytest.raises(NotFound), store.transaction() as tx:
        tx.set_authority_status(999, "revoked")


def test_status_change_is_conditional(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = tx.add_authority("test", "issuing-oca", "organisation", False, "k", None)
    with store.transaction() as tx:
        assert tx.set_authority_status(ca, "revoked") is True
        assert tx.set_authority_status(ca, "revoked") is False
        assert tx.authority_by_id(ca).status == "revoked"


def test_set_authority_certificate(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = tx.add_authority("test", "root-oca", "organisation", True, "k", None)
        (cert,) = tx.add_certificates([new_certificate(ca, 0x10 << 120, kind="root-oca")], T0)
        tx.set_authority_certificate(ca, cert)
        assert tx.authority_by_id(ca).certificate_id == cert
        with pytest.raises(NotFound):
            tx.set_authority_certificate(ca, cert + 1)
        with pytest.raises(NotFound):
            tx.set_authority_certificate(ca + 1, cert)


def test_meta_upsert(store: SqlStore) -> None:
    with store.transaction() as tx:
        assert tx.get_meta("pki.version") is None
        tx.set_meta("pki.version", "1")
        tx.set_meta("pki.version", "2")
    with store.transaction() as tx:
        assert tx.get_meta("pki.version") == "2"
