"""Alembic migrations on a database that already holds data (SQLite and PostgreSQL).

An installation that ran 0001 in production and recorded journal entries, indexed events,
logins and revoked tokens must come through ``upgrade head`` with every row unchanged; the
tables later revisions add must exist and take rows; downgrade and upgrade again must work;
and running the product's ``gateway.db.upgrade`` twice must change nothing.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

import audit.models  # noqa: F401
import chain.indexer  # noqa: F401  (registers the tables on Base.metadata)
import chain.journal  # noqa: F401
import gateway.models  # noqa: F401
import oracle.models  # noqa: F401
from chain.db import Base, make_engine, session_factory
from gateway import db as gateway_db
from gateway.models import AnchorBatch, Document, Licence
from oracle.models import Fact, SourceFile

OLD_TABLES = ("tx_journal", "chain_events", "index_cursor", "users", "revoked_tokens")
NEW_TABLES = ("documents", "anchor_batches", "licences", "oracle_facts", "oracle_files")
ORDER = {"tx_journal": "id", "chain_events": "id", "index_cursor": "chain_id", "users": "id", "revoked_tokens": "jti"}

T0 = datetime(2026, 11, 23, 8, 30, 15, 123456, tzinfo=timezone.utc)
ACCOUNT = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"
REGISTRY = "0xd9145CCE52D386f254917e481eB44e9943F39138"


def _hash(n: int) -> str:
    return "0x" + f"{n:064x}"


def _seed_0001(engine: Engine) -> None:
    """Rows as a running 0001 installation writes them (raw SQL: the models may have moved on)."""
    journal = [
        dict(id=i + 1, chain_id=4242, account=ACCOUNT, nonce=i, tx_hash=_hash(0xA000 + i),
             raw_tx="0x02f8" + "ab" * 180, to_address=None if i == 0 else REGISTRY,
             purpose="deploy AllianceRegistry" if i == 0 else f"bootstrap: add department {i}",
             status=status, block_number=None if status in ("signed", "sent", "rejected") else 10 + i,
             block_hash=None if status in ("signed", "sent", "rejected") else _hash(0xB000 + i),
             block_timestamp=None if status in ("signed", "sent", "rejected") else 1_795_000_000 + i,
             gas_used=None if status in ("signed", "sent", "rejected") else 21_000 + 1000 * i,
             contract_address=REGISTRY if i == 0 else None,
             error="NotAuthorisedForType(licenceType=PATENT_CERTIFICATE, department=MARKET)" if status == "reverted"
             else ("nonce too low" if status == "rejected" else None),
             resubmissions=i % 3, created_at=T0, updated_at=T0)
        for i, status in enumerate(["mined", "mined", "mined", "reverted", "sent", "signed"])
    ]
    # a rejected entry gives its nonce back: the partial unique index lets nonce 5 appear twice
    journal.append({**journal[-1], "id": 7, "tx_hash": _hash(0xA0FF), "status": "rejected",
                    "error": "nonce too low", "block_number": None, "block_hash": None})
    events = [
        dict(id=i + 1, chain_id=4242, block_number=10 + i, block_hash=_hash(0xB000 + i),
             block_timestamp=1_795_000_000 + i, tx_hash=_hash(0xA000 + i), log_index=i % 2,
             contract="AllianceRegistry", address=REGISTRY, event="DepartmentAdded",
             args=json.dumps({"code": "0x4d41524b4554" + "00" * 26, "name": "市场监督管理局", "roles": 15},
                             ensure_ascii=False))
        for i in range(4)
    ]
    cursor = [dict(chain_id=4242, last_block=13, last_block_hash=_hash(0xB003), updated_at=T0)]
    users = [
        dict(id=1, username="market", password_hash="scrypt$16384$8$1$" + "c2FsdA==" + "$" + "aGFzaA==" * 8,
             kind="member", member_address=ACCOUNT, uscc=None, disabled=False, created_at=T0),
        dict(id=2, username="福州测试科技", password_hash="scrypt$16384$8$1$c2FsdDI=$aGFzaDI=", kind="enterprise",
             member_address=None, uscc="91350100MA2XYZ1234", disabled=True, created_at=T0),
    ]
    revoked = [dict(jti="9f1c2d3e4b5a69788796a5b4c3d2e1f0", expires_at=1_795_028_800, revoked_at=T0)]
    with engine.begin() as conn:
        for table, rows in (("tx_journal", journal), ("chain_events", events), ("index_cursor", cursor),
                            ("users", users), ("revoked_tokens", revoked)):
            cols = list(rows[0])
            conn.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"),
                         rows)
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them, as a real history would
            for table in ("tx_journal", "chain_events", "users"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY {ORDER[t]}"))] for t in OLD_TABLES}


def _schema(engine: Engine) -> dict[str, Any]:
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        out[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)],
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)),
            "uniques": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)),
            "fks": sorted((f["name"] or "", tuple(f["constrained_columns"])) for f in insp.get_foreign_keys(table)),
        }
    return out


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(gateway_db.alembic_config("sqlite://")).get_current_head()


def _use_new_tables(engine: Engine) -> None:
    """The tables added after 0001 take rows through the product's own models."""
    sessions = session_factory(engine)
    with sessions.begin() as s:
        batch = AnchorBatch(root=_hash(0xC001), department="MARKET", count=2, status="confirmed", tx_hash=_hash(0xA001),
                            block_number=11, block_timestamp=1_795_000_001, confirmed_at=T0)
        s.add(batch)
        s.flush()
        for i in range(2):
            s.add(Document(sha256=f"{i:064x}", sm3=f"{i + 100:064x}", leaf=_hash(0xD000 + i), size=1234,
                           media_type="application/pdf", filename=f"营业执照-{i}.pdf", department="MARKET",
                           uploaded_by=ACCOUNT, batch_id=batch.id, proof=json.dumps([_hash(0xD001 - i)])))
        s.add(Licence(id=_hash(0xE001), number="SC-2026-000123", licence_type="BUSINESS_LICENCE",
                      holder_uscc="91350100MA2XYZ1234", holder_name="福州测试科技有限公司", issuer_department="MARKET",
                      wrapped=json.dumps({"version": "https://schema.openattestation.com/2.0/schema.json"}),
                      target_hash=_hash(0xE101), merkle_root=_hash(0xE201), valid_from=1_704_067_200,
                      valid_until=2_051_222_400, status="valid", tx_hash=_hash(0xA002), block_number=12,
                      issued_at=1_795_000_002))
        s.add(SourceFile(digest="ab" * 32, name="registry-2026-11.csv", data_type="ENTERPRISE_REGISTRY",
                         source_department="MARKET", good_lines=10, bad_lines=1, attested=10, unchanged=0,
                         errors=json.dumps([{"line": 7, "field": "uscc", "reason": "bad check digit"}])))
        s.add(Fact(data_type="ENTERPRISE_REGISTRY", uscc="91350100MA2XYZ1234", fact_key="91350100MA2XYZ1234",
                   subject=_hash(0xF001), value=json.dumps({"status": "存续"}, ensure_ascii=False),
                   value_hash=_hash(0xF002), observed_at=1_795_000_000, source_department="MARKET",
                   file_digest="ab" * 32, file_name="registry-2026-11.csv", line_no=2, signers=json.dumps([ACCOUNT]),
                   digest=_hash(0xF003), tx_hash=_hash(0xA003), block_number=13))
    with sessions() as s:
        docs = s.scalars(select(Document).order_by(Document.id)).all()
        assert [d.batch_id for d in docs] == [docs[0].batch_id] * 2 and docs[0].batch_id is not None
        assert s.scalar(select(Licence.holder_name)) == "福州测试科技有限公司"
        assert s.scalar(select(Fact.value)) == '{"status": "存续"}'
        assert s.scalar(select(SourceFile.bad_lines)) == 1


def test_upgrade_keeps_every_row_written_under_0001(empty_database_url: str) -> None:
    url = empty_database_url
    cfg = gateway_db.alembic_config(url)
    command.upgrade(cfg, "0001")
    engine = make_engine(url)
    try:
        assert _revision(engine) == "0001"
        assert set(OLD_TABLES) <= set(inspect(engine).get_table_names())
        assert not set(NEW_TABLES) & set(inspect(engine).get_table_names())
        _seed_0001(engine)
        before = _snapshot(engine)
        assert [len(before[t]) for t in OLD_TABLES] == [7, 4, 1, 2, 1]

        gateway_db.upgrade(url)
        engine.dispose()  # fresh connections: no cached catalogue
        assert _revision(engine) == _head()
        assert _snapshot(engine) == before
        assert set(NEW_TABLES) <= set(inspect(engine).get_table_names())
        _use_new_tables(engine)

        # the journal's rules survive the upgrade: a live (chain, account, nonce) stays unique
        with pytest.raises(Exception, match="(?i)unique|duplicate"):
            with engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO tx_journal (chain_id, account, nonce, tx_hash, raw_tx, purpose, status, resubmissions,"
                    " created_at, updated_at) VALUES (4242, :a, 2, :h, '0x', 'dup', 'signed', 0, :t, :t)"),
                    {"a": ACCOUNT, "h": _hash(0xA777), "t": T0})
        # ... and ids keep counting after the rows the old version wrote
        with engine.begin() as conn:
            new_id = conn.execute(text(
                "INSERT INTO tx_journal (chain_id, account, nonce, tx_hash, raw_tx, purpose, status, resubmissions,"
                " created_at, updated_at) VALUES (4242, :a, 6, :h, '0x', 'next', 'signed', 0, :t, :t) RETURNING id"),
                {"a": ACCOUNT, "h": _hash(0xA778), "t": T0}).scalar_one()
        assert new_id > 7  # (PostgreSQL's sequence also spent a value on the refused insert)
    finally:
        engine.dispose()


def test_head_schema_matches_the_models(empty_database_url: str) -> None:
    """What the migrations build is what the code maps (no drift between models and revisions)."""
    gateway_db.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], diff
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_again_on_an_empty_database(empty_database_url: str) -> None:
    url = empty_database_url
    cfg = gateway_db.alembic_config(url)
    gateway_db.upgrade(url)
    engine = make_engine(url)
    try:
        head_schema = _schema(engine)
        command.downgrade(cfg, "0001")
        engine.dispose()
        assert _revision(engine) == "0001"
        tables = set(inspect(engine).get_table_names())
        assert set(OLD_TABLES) <= tables and not set(NEW_TABLES) & tables
        gateway_db.upgrade(url)
        engine.dispose()
        assert _revision(engine) == _head()
        assert _schema(engine) == head_schema
        _use_new_tables(engine)

        # all the way down and back up
        with engine.begin() as conn:
            for table in ("documents", "anchor_batches", "licences", "oracle_facts", "oracle_files"):
                conn.execute(text(f"DELETE FROM {table}"))
        command.downgrade(cfg, "base")
        engine.dispose()
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        gateway_db.upgrade(url)
        engine.dispose()
        assert _schema(engine) == head_schema
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(empty_database_url: str) -> None:
    url = empty_database_url
    gateway_db.upgrade(url)
    engine = make_engine(url)
    try:
        _seed_0001(engine)
        _use_new_tables(engine)
        schema, rows = _schema(engine), _snapshot(engine)
        gateway_db.upgrade(url)
        gateway_db.upgrade(url, "head")
        engine.dispose()
        assert _revision(engine) == _head()
        assert _schema(engine) == schema
        assert _snapshot(engine) == rows
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM documents")).scalar_one() == 2
    finally:
        engine.dispose()
