"""Two gateway processes anchoring alert records at the same moment on one PostgreSQL database: each
record is anchored exactly once, in the batch that holds it, and no root is sent twice (the records of
a batch are claimed FOR UPDATE SKIP LOCKED while the batch is on its way to the chain). Two settling
at once place each hold and open each case once (one settles, the other skips the round).

The two "processes" are two threads with their own engines and connection pools; the chain is the
module's eth-tester (transactions serialised, as a node would), each send delayed so that both are in
flight together."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from audit import alerts as store
from audit import routing
from audit.findings import Level
from audit.models import AuditBatch, AuditRecord
from audit.routing import AuditChain, AuditEnv
from chain.config import Settings
from chain.db import Base, make_engine, session_factory
from tests.audit.conftest import AUDIT_TABLES, T0, Signer, eth_tester_transact, finding
from tests.conftest import _fresh_pg_database


@pytest.fixture
def pg_url(pg_server: str):
    url, drop = _fresh_pg_database(pg_server)
    engine = make_engine(url)
    Base.metadata.create_all(engine, tables=AUDIT_TABLES)
    engine.dispose()
    yield url
    drop()


def gateways(pg_url, w3, contracts, people, tmp_path: Path) -> tuple[AuditEnv, AuditEnv, list[tuple[str, str]]]:
    """Two gateways ("A", "B") on one database and chain, and the (gateway, purpose) of every transaction."""
    settings = Settings(data_dir=tmp_path)
    settings = replace(settings, audit=replace(settings.audit, anchor_batch_size=5))
    raw = eth_tester_transact(w3)
    node = threading.Lock()
    sent: list[tuple[str, str]] = []

    def gateway(name: str) -> AuditEnv:
        def transact(account, fn, purpose):
            time.sleep(0.3)  # the transaction is on its way: the other gateway runs meanwhile
            with node:
                sent.append((name, purpose))
                return raw(account, fn, purpose)

        trail = AuditChain(w3, {k: v for k, v in contracts.items() if k != "SubsidyLedger"}, transact,
                           lambda: Signer(people["inspector"]))
        return AuditEnv(session_factory(make_engine(pg_url)), settings, trail)

    return gateway("A"), gateway("B"), sent


def at_once(work, *envs: AuditEnv) -> list[BaseException]:
    """Run ``work(env)`` for each gateway in its own thread, started together; the errors raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(envs))

    def run(env: AuditEnv) -> None:
        try:
            start.wait()
            work(env)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(env,)) for env in envs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def test_two_gateways_anchoring_at_once_anchor_each_record_once(pg_url, w3, contracts, people, tmp_path: Path,
                                                                 chain) -> None:
    a, b, sent = gateways(pg_url, w3, contracts, people, tmp_path)
    findings = [finding("PAY2", Level.PROMPT, "0x" + f"{i:064x}") for i in range(1, 21)]
    routing.process(a, findings, T0, settle_chain=False)  # 20 records waiting to be anchored
    assert not at_once(routing.anchor_pending, a, b)
    assert {who for who, _ in sent} == {"A", "B"}  # both anchored, concurrently, different records

    trail = contracts["AuditTrail"].functions
    with a.sessions() as s:
        records = list(s.scalars(select(AuditRecord)))
        batches = {bt.id: bt for bt in s.scalars(select(AuditBatch))}
        per_batch = dict(s.execute(select(AuditRecord.batch_pk, func.count()).group_by(AuditRecord.batch_pk)).all())
    assert len(records) == 20 and all(r.batch_pk is not None for r in records)
    assert len(sent) == len(batches) == 4  # 20 records in batches of 5: four roots, each sent once
    assert len({bt.root for bt in batches.values()}) == 4
    assert {pk: bt.count for pk, bt in batches.items()} == per_batch
    for rec in records:  # each record's leaf is proven in the batch it names, anchored on chain
        alert = store.get(a.sessions, json.loads(rec.record)["alert_id"])
        root = batches[rec.batch_pk].root
        assert trail.isAnchoredAlert(bytes.fromhex(alert.alert_id[2:]), store.department_bytes(alert.department),
                                     bytes.fromhex(rec.record_hash[2:]), bytes.fromhex(root[2:]),
                                     [bytes.fromhex(p[2:]) for p in json.loads(rec.proof)]).call()
    for env in (a, b):
        env.sessions.kw["bind"].dispose()


def test_two_gateways_settling_at_once_place_each_hold_and_open_each_case_once(pg_url, w3, contracts, people,
                                                                               tmp_path: Path, chain) -> None:
    from audit import cases

    a, b, sent = gateways(pg_url, w3, contracts, people, tmp_path)
    apps = ["0x" + f"{0xA000 + i:064x}" for i in range(3)]
    alarms = routing.process(a, [finding("PAY2", Level.ALARM, app) for app in apps], T0, settle_chain=False).new
    routing.anchor_pending(a)  # anchored: both gateways see three holds and three cases to settle
    assert not at_once(lambda env: routing.settle(env, T0), a, b)
    holds = [p for _, p in sent if p.startswith("audit hold")]
    opened = [p for _, p in sent if p.startswith("audit open case")]
    assert len(holds) == len(opened) == 3  # once each, whoever did it
    for app, alert_id in zip(apps, alarms):
        assert contracts["AuditHolds"].functions.isHeld(bytes.fromhex(app[2:])).call()
        alert = store.get(a.sessions, alert_id)
        assert alert.hold_status == "placed" and cases.of_alert(a.sessions, alert) is not None
    for env in (a, b):
        env.sessions.kw["bind"].dispose()
