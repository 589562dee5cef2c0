"""chain.indexer.Indexer on a real anvil node: every event stored and decoded, lag, resuming,
and rebuilding when the chain no longer has the indexed blocks."""

from __future__ import annotations

import json
import time
from collections import Counter

from eth_abi import decode, encode
from sqlalchemy import func, select, update

from chain.indexer import ChainEvent, IndexCursor, Indexer
from chain.keystore import Keyring
from chain.roles import code_to_bytes32, to_mask
from tests.chain.chain_support import ChainEnv, Template, requires_anvil

pytestmark = requires_anvil

SET_THRESHOLD = 7


def bootstrap_events(spec) -> dict[str, int]:
    """The registry events the bootstrap of ``spec`` emits: one per department, member, licence type
    authority and data source, then the threshold and the seal."""
    return {"DepartmentAdded": len(spec.departments), "MemberAdded": len(spec.members),
            "LicenceTypeAuthorityChanged": sum(len(t.issuers) for t in spec.licence_types), "DataSourceChanged": len(spec.data_sources),
            "ThresholdChanged": 1, "BootstrapSealed": 1}


def propose_threshold(env: ChainEnv, keyring: Keyring, value: int, alias: str = "MARKET-admin"):
    fn = env.registry.functions.propose(SET_THRESHOLD, encode(["uint256"], [value]))
    return env.ledger.txm.transact(keyring.account(alias), fn, f"propose threshold {value}")


def stored(env: ChainEnv) -> list[ChainEvent]:
    with env.sessions() as s:
        return list(s.scalars(select(ChainEvent).order_by(ChainEvent.block_number, ChainEvent.log_index)))


def counts(env: ChainEnv) -> Counter:
    return Counter(e.event for e in stored(env))


def assert_no_duplicates(env: ChainEnv) -> None:
    rows = stored(env)
    positions = [(r.chain_id, r.block_number, r.log_index) for r in rows]
    assert len(positions) == len(set(positions))


def new_indexer(env: ChainEnv, template: Template, **kw) -> Indexer:
    return Indexer(env.ledger.chain, env.sessions, env.ledger.contracts, start_block=template.deploy_block, **kw)


def test_indexes_every_bootstrap_event_with_decoded_args(env: ChainEnv, template: Template, keyring: Keyring,
                                                         alliance_spec) -> None:
    indexer = env.ledger.indexer
    seen: list[ChainEvent] = []
    indexer.subscribe(seen.extend)
    head = env.ledger.chain.head()
    assert indexer.lag() == head - template.deploy_block + 1 > 0

    added = indexer.run_once()
    assert Counter(e.event for e in stored(env) if e.contract == "AllianceRegistry") == bootstrap_events(alliance_spec)
    assert added == len(stored(env)) == len(seen)
    assert indexer.lag() == 0
    assert indexer.cursor() == head

    # the index holds exactly what the node's logs hold
    addresses = [c.address for c in env.ledger.contracts.values()]
    logs = env.w3.eth.get_logs({"fromBlock": 0, "toBlock": head, "address": addresses})
    assert [(r.block_number, r.log_index) for r in stored(env)] == [(lg["blockNumber"], lg["logIndex"]) for lg in logs]
    assert added == len(logs)

    # decoded arguments
    market = next(e for e in indexer.events("DepartmentAdded") if e["args"]["nameEn"] == "Market Regulation Administration")
    assert market["args"] == {"code": "0x" + code_to_bytes32("MARKET").hex(), "name": "市场监督管理局",
                              "nameEn": "Market Regulation Administration",
                              "roles": to_mask(alliance_spec.department("MARKET").roles)}
    assert market["contract"] == "AllianceRegistry"
    block = env.w3.eth.get_block(market["block"])
    assert market["timestamp"] == block["timestamp"]
    journal = {r.purpose: r for r in env.journal()}
    assert market["tx_hash"] == journal["bootstrap department MARKET"].tx_hash

    members = {e["args"]["account"]: e["args"] for e in indexer.events("MemberAdded")}
    admin = keyring.account("MARKET-admin").address
    assert members[admin]["department"] == "0x" + code_to_bytes32("MARKET").hex()
    assert set(members) == {keyring.account(m.alias).address for m in alliance_spec.members}

    [sealed] = indexer.events("BootstrapSealed")
    assert sealed["args"] == {"by": keyring.account("deployer").address, "departments": 14,
                              "threshold": alliance_spec.threshold}
    # newest first
    all_events = indexer.events()
    assert all_events[0]["event"] == "BootstrapSealed"
    assert [e["block"] for e in all_events] == sorted((e["block"] for e in all_events), reverse=True)


def test_lag_counts_blocks_not_yet_indexed(env: ChainEnv, keyring: Keyring) -> None:
    indexer = env.ledger.indexer
    indexer.run_once()
    assert indexer.lag() == 0
    env.rpc("anvil_mine", "0x3")
    assert indexer.lag() == 3
    assert indexer.run_once() == 0  # empty blocks, no events
    assert indexer.lag() == 0
    propose_threshold(env, keyring, 3)
    assert indexer.lag() == 1
    assert indexer.run_once() == 2  # ProposalCreated + ProposalApproved
    assert indexer.lag() == 0


def test_a_new_indexer_resumes_from_the_cursor(env: ChainEnv, template: Template, keyring: Keyring) -> None:
    first = new_indexer(env, template)
    total = first.run_once()
    propose_threshold(env, keyring, 3)
    propose_threshold(env, keyring, 4)

    second = new_indexer(env, template)  # e.g. after a gateway restart
    assert second.cursor() == first.cursor()
    assert second.lag() == 2
    assert second.run_once() == 4
    assert second.run_once() == 0
    assert len(stored(env)) == total + 4
    assert_no_duplicates(env)
    created = [json.loads(r.args) for r in stored(env) if r.event == "ProposalCreated"]
    assert [decode(["uint256"], bytes.fromhex(a["data"][2:]))[0] for a in created] == [3, 4]


def test_small_batches_index_the_same_rows(env: ChainEnv, template: Template) -> None:
    env.ledger.indexer.run_once()
    expected = [(r.block_number, r.log_index, r.event, r.args) for r in stored(env)]
    env.ledger.indexer.reset()
    assert stored(env) == []
    small = new_indexer(env, template, batch_blocks=4)
    assert small.run_once() == len(expected)
    assert [(r.block_number, r.log_index, r.event, r.args) for r in stored(env)] == expected


def test_rebuilds_when_the_cursor_block_hash_no_longer_matches(env: ChainEnv, template: Template) -> None:
    indexer = env.ledger.indexer
    indexer.run_once()
    baseline = counts(env)
    assert baseline["DepartmentAdded"] == 14
    chain_id = env.ledger.chain.chain_id
    with env.sessions.begin() as s:
        s.execute(update(IndexCursor).where(IndexCursor.chain_id == chain_id).values(last_block_hash="0x" + "11" * 32))
    assert new_indexer(env, template).run_once() == sum(baseline.values())
    assert counts(env) == baseline
    assert_no_duplicates(env)
    with env.sessions() as s:
        cursor = s.get(IndexCursor, chain_id)
        assert cursor.last_block_hash == "0x" + bytes(env.w3.eth.get_block(cursor.last_block)["hash"]).hex()


def test_rebuilds_after_the_chain_was_rewound_and_diverged(env: ChainEnv, keyring: Keyring) -> None:
    """A rebuilt dev chain: the indexed block is replaced by a different one at the same height."""
    indexer = env.ledger.indexer
    indexer.run_once()
    baseline = counts(env)
    snapshot = env.rpc("evm_snapshot")
    propose_threshold(env, keyring, 3)
    indexer.run_once()
    assert counts(env)["ProposalCreated"] == 1

    assert env.rpc("evm_revert", snapshot) is True
    # same height, different block (another sender: MARKET-admin's journal still holds its lost
    # transaction, which only a reconcile would resubmit)
    propose_threshold(env, keyring, 5, alias="FINANCE-admin")
    indexer.run_once()
    created = [json.loads(r.args) for r in stored(env) if r.event == "ProposalCreated"]
    assert [decode(["uint256"], bytes.fromhex(a["data"][2:]))[0] for a in created] == [5]
    assert counts(env) == baseline + Counter(ProposalCreated=1, ProposalApproved=1)
    assert_no_duplicates(env)


def test_rebuilds_when_the_chain_is_shorter_than_the_index(env: ChainEnv, keyring: Keyring) -> None:
    indexer = env.ledger.indexer
    indexer.run_once()
    baseline = counts(env)
    snapshot = env.rpc("evm_snapshot")
    propose_threshold(env, keyring, 3)
    env.rpc("anvil_mine", "0x2")
    indexer.run_once()
    assert env.rpc("evm_revert", snapshot) is True
    assert indexer.cursor() > env.ledger.chain.head()
    indexer.run_once()
    assert counts(env) == baseline  # the proposal the chain lost is gone from the index
    assert indexer.cursor() == env.ledger.chain.head()
    assert indexer.lag() == 0


def test_background_indexer_follows_the_chain(env: ChainEnv, keyring: Keyring) -> None:
    indexer = env.ledger.indexer
    indexer.run_once()
    baseline = len(stored(env))
    indexer.start()
    try:
        propose_threshold(env, keyring, 3)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and counts(env)["ProposalCreated"] < 1:
            time.sleep(0.05)
        assert counts(env)["ProposalCreated"] == 1
        assert indexer.last_error is None
    finally:
        indexer.stop()
    with env.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ChainEvent)) == baseline + 2
