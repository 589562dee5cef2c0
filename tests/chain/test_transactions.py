"""chain.transactions.TxManager on a real anvil node: nonces, the journal, reverts, node outages."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak
from sqlalchemy import func, select

from chain import artifacts
from chain.alliance import AllianceSpec
from chain.config import NodeSettings
from chain.connection import connect
from chain.db import make_engine, session_factory
from chain.deploy import bind, deploy_suite
from chain.errors import ContractRevert, NodeUnavailable, RevertDecoder, TransactionPending
from chain.journal import MINED, REVERTED, SENT, SIGNED, JournalEntry, open_count
from chain.keystore import Keyring
from chain.node import AnvilNode
from chain.roles import code_to_bytes32, to_mask
from chain.transactions import TxManager
from gateway import db as gateway_db

from tests.chain.chain_support import ChainEnv, Template, free_port, requires_anvil

pytestmark = requires_anvil

SET_DEPARTMENT_ROLES = 2
SET_THRESHOLD = 7


def set_threshold(registry, value: int):
    return registry.functions.propose(SET_THRESHOLD, encode(["uint256"], [value]))


def tx_hash_of(raw_hex: str) -> str:
    return "0x" + keccak(hexstr=raw_hex).hex()


# ---------------------------------------------------------------- deploy and bootstrap


def test_deploy_and_bootstrap_the_default_alliance(template: Template, env: ChainEnv, keyring: Keyring,
                                                   alliance_spec: AllianceSpec) -> None:
    report = template.report
    assert (report.departments, report.members, report.authorities, report.data_sources) == (14, 14, 6, 6)
    assert report.transactions == 14 + 14 + 6 + 6 + 2  # + threshold + seal
    f = env.registry.functions
    assert f.isSealed().call()
    assert f.threshold().call() == alliance_spec.threshold
    assert len(f.departmentCodes().call()) == 14
    market = f.getDepartment(code_to_bytes32("MARKET")).call()
    assert market[0] is True and market[2] == "市场监督管理局"
    member = f.getMember(keyring.account("MARKET-admin").address).call()
    assert tuple(member[:3]) == (True, code_to_bytes32("MARKET"),
                                 to_mask(alliance_spec.department("MARKET").members[0].roles))
    assert f.isAuthorisedIssuer(code_to_bytes32("BUSINESS_LICENCE"), code_to_bytes32("MARKET")).call()
    assert not f.isAuthorisedIssuer(code_to_bytes32("BUSINESS_LICENCE"), code_to_bytes32("TAX")).call()
    assert tuple(f.dataSourceOf(code_to_bytes32("TAX_SUMMARY")).call()) == (code_to_bytes32("TAX"), 1)
    assert len(f.dataTypes().call()) == 6
    assert tuple(f.dataSourceOf(code_to_bytes32("UTILITY_USE")).call()) == (code_to_bytes32("DRC"), 1)

    # running the bootstrap again (e.g. after a crash) sends nothing once sealed
    rows = len(env.journal())
    again = env.ledger.bootstrap()
    assert again.already_sealed and again.transactions == 0
    assert len(env.journal()) == rows
    # and a second deploy over a valid deployment is not needed
    assert env.ledger.ensure_deployed() is False


# ---------------------------------------------------------------- (a) nonces under concurrency


def _run_concurrently(env: ChainEnv, keyring: Keyring, threads: int, per_thread: int) -> tuple[list, list]:
    account = keyring.account("MARKET-admin")
    results: list = []
    errors: list = []
    guard = threading.Lock()
    start = threading.Barrier(threads)

    def worker(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            try:
                result = env.ledger.txm.transact(account, set_threshold(env.registry, (t * per_thread + i) % 14 + 1),
                                                 f"propose threshold t{t} i{i}")
                with guard:
                    results.append(result)
            except Exception as exc:  # noqa: BLE001 - every failure is reported by the test
                with guard:
                    errors.append(f"{type(exc).__name__}: {exc}")

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in pool), "a sender thread hung"
    return results, errors


def test_nonces_stay_correct_under_concurrency(database_url: str, start_env: Callable[..., ChainEnv],
                                               keyring: Keyring) -> None:
    env = start_env(database_url)
    account = keyring.account("MARKET-admin").address
    results, errors = _run_concurrently(env, keyring, threads=8, per_thread=10)
    assert errors == []
    assert len(results) == 80
    assert len({r.tx_hash for r in results}) == 80

    rows = env.journal(account)
    assert len(rows) == 80
    assert sorted(r.nonce for r in rows) == list(range(80))
    assert Counter(r.status for r in rows) == {MINED: 80}
    assert all(r.block_number and r.block_hash and r.gas_used for r in rows)
    by_hash = {r.tx_hash: r for r in rows}
    for result in results:
        assert by_hash[result.tx_hash].block_number == result.block_number
        assert by_hash[result.tx_hash].id == result.journal_id
    with env.sessions() as s:
        assert open_count(s, env.ledger.chain.chain_id) == 0

    # the chain agrees: every one of them was mined and created a proposal
    w3 = env.w3
    assert w3.eth.get_transaction_count(account) == 80
    assert env.registry.functions.proposalCount().call() == 80
    for row in rows:
        tx = w3.eth.get_transaction(row.tx_hash)
        assert tx["nonce"] == row.nonce and tx["from"] == account


def test_two_gateway_processes_sharing_a_key_and_a_database(database_url: str, start_env: Callable[..., ChainEnv],
                                                            keyring: Keyring) -> None:
    """Two transaction managers (e.g. two gateway workers) each with its own engine and node
    connection sign for the same account: the journal's unique nonce makes them take turns."""
    env = start_env(database_url)
    account = keyring.account("MARKET-admin")
    other_engine = make_engine(env.database_url)
    other = TxManager(connect(env.node.url), session_factory(other_engine),
                      RevertDecoder(artifacts.all_abis().values()), receipt_timeout=20)
    registries = [env.registry, other.chain.w3.eth.contract(address=env.registry.address, abi=env.registry.abi)]
    errors: list[str] = []

    def worker(txm: TxManager, registry, t: int) -> None:
        for i in range(5):
            try:
                txm.transact(account, set_threshold(registry, (t + i) % 14 + 1), f"worker {t} tx {i}")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}")

    pool = [threading.Thread(target=worker, args=(txm, reg, t))
            for t, (txm, reg) in enumerate([(env.ledger.txm, registries[0]), (other, registries[1])] * 3)]
    for th in pool:
        th.start()
    for th in pool:
        th.join(timeout=120)
    other_engine.dispose()
    assert errors == []
    rows = env.journal(account.address)
    assert sorted(r.nonce for r in rows) == list(range(30))
    assert {r.status for r in rows} == {MINED}
    assert env.w3.eth.get_transaction_count(account.address) == 30


# ---------------------------------------------------------------- (b) a revert on estimate


def test_revert_on_estimate_is_the_contracts_error_and_writes_nothing(env: ChainEnv, keyring: Keyring) -> None:
    deployer = keyring.account("deployer")
    market = keyring.account("MARKET-admin")
    rows_before = len(env.journal())
    head_before = env.ledger.chain.head()

    with pytest.raises(ContractRevert) as info:
        env.ledger.txm.transact(deployer, set_threshold(env.registry, 3), "deployer may not propose")
    assert info.value.error == "NotGovernor"
    assert info.value.args_ == {"caller": deployer.address}
    assert str(info.value) == f"NotGovernor(caller={deployer.address})"
    assert info.value.tx_hash is None

    with pytest.raises(ContractRevert) as info:
        env.ledger.txm.transact(market, set_threshold(env.registry, 0), "threshold 0")
    assert (info.value.error, info.value.args_) == ("InvalidThreshold", {"threshold": 0, "activeDepartments": 14})

    data = encode(["bytes32", "uint256"], [code_to_bytes32("POLICE"), 1])
    with pytest.raises(ContractRevert) as info:
        env.ledger.txm.transact(market, env.registry.functions.propose(SET_DEPARTMENT_ROLES, data), "unknown dept")
    assert info.value.to_dict() == {"error": "UnknownDepartment", "args": {"code": "POLICE"}, "tx_hash": None}

    assert len(env.journal()) == rows_before
    assert env.ledger.chain.head() == head_before
    # the refused transactions used no nonce: the next one from MARKET-admin is nonce 0
    result = env.ledger.txm.transact(market, set_threshold(env.registry, 5), "valid")
    assert [r.nonce for r in env.journal(market.address)] == [0]
    assert result.block_number == head_before + 1


def test_reverting_read_is_the_contracts_error(env: ChainEnv) -> None:
    outsider = Account.create().address
    with pytest.raises(ContractRevert) as info:
        env.ledger.txm.call(env.registry.functions.departmentOf(outsider))
    assert (info.value.error, info.value.args_) == ("UnknownMember", {"account": outsider})


# ---------------------------------------------------------------- (c) the journal


def test_every_bootstrap_transaction_is_journaled(env: ChainEnv, template: Template, keyring: Keyring) -> None:
    w3 = env.w3
    on_chain = {}
    for number in range(1, template.head + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            on_chain["0x" + bytes(tx["hash"]).hex()] = tx
    rows = env.journal()
    expected = len(artifacts.DEPLOYABLE) + template.report.transactions  # deployments + bootstrap
    assert len(rows) == len(on_chain) == expected
    assert {r.tx_hash for r in rows} == set(on_chain)
    for row in rows:
        tx = on_chain[row.tx_hash]
        assert tx_hash_of(row.raw_tx) == row.tx_hash  # the stored raw transaction is the one that was mined
        assert row.nonce == tx["nonce"]
        assert row.account == tx["from"] == keyring.account("deployer").address
        assert row.status == MINED and row.block_number == tx["blockNumber"]
        assert row.block_hash == "0x" + bytes(tx["blockHash"]).hex()
    assert sorted(r.nonce for r in rows) == list(range(expected))
    assert rows[0].contract_address == template.registry and rows[0].to_address is None
    with env.sessions() as s:
        assert open_count(s, env.ledger.chain.chain_id) == 0


def test_a_late_receipt_is_waited_for_with_the_row_marked_sent(env: ChainEnv, keyring: Keyring) -> None:
    """A node that does not mine at once: after the short grace the row says ``sent`` (a crash now
    leaves it for reconcile to resubmit), and the waiting caller still gets the mined result."""
    market = keyring.account("MARKET-admin")
    env.rpc("evm_setAutomine", False)
    outcome: dict[str, object] = {}

    def send() -> None:
        try:
            outcome["result"] = env.ledger.txm.transact(market, set_threshold(env.registry, 4), "late receipt")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    waiter = threading.Thread(target=send)
    try:
        waiter.start()
        deadline = time.monotonic() + 10
        rows = []
        while time.monotonic() < deadline:
            rows = env.journal(market.address)
            if rows and rows[0].status == SENT:
                break
            time.sleep(0.01)
        assert [r.status for r in rows] == [SENT]
        assert waiter.is_alive()  # still waiting for its receipt
        env.rpc("evm_mine")
        waiter.join(10)
    finally:
        env.rpc("evm_setAutomine", True)
        waiter.join(10)
    assert "error" not in outcome, outcome.get("error")
    [row] = env.journal(market.address)
    assert row.status == MINED and row.block_number == outcome["result"].block_number


def test_signed_transaction_is_journaled_before_it_is_mined(env: ChainEnv, keyring: Keyring) -> None:
    market = keyring.account("MARKET-admin")
    env.rpc("evm_setAutomine", False)
    try:
        with pytest.raises(TransactionPending) as info:
            env.ledger.txm.transact(market, set_threshold(env.registry, 4), "pending proposal", wait=False)
        pending = info.value
        [row] = env.journal(market.address)
        assert row.id == pending.journal_id and row.tx_hash == pending.tx_hash
        assert row.status == SENT and row.nonce == 0 and row.block_number is None
        assert tx_hash_of(row.raw_tx) == row.tx_hash
        assert Account.recover_transaction(row.raw_tx) == market.address
        assert row.to_address == env.registry.address and row.purpose == "pending proposal"
        with env.sessions() as s:
            assert open_count(s, env.ledger.chain.chain_id) == 1
        assert env.registry.functions.proposalCount().call() == 0  # not yet on chain
        env.rpc("evm_mine")
    finally:
        env.rpc("evm_setAutomine", True)
    result = env.ledger.txm.wait_for(pending.tx_hash, pending.journal_id)
    [row] = env.journal(market.address)
    assert row.status == MINED and row.block_number == result.block_number
    assert row.block_timestamp == result.block_timestamp > 0
    with env.sessions() as s:
        assert open_count(s, env.ledger.chain.chain_id) == 0
    assert env.registry.functions.proposalCount().call() == 1


def test_unsent_transaction_stays_journaled_and_is_reported_pending(env: ChainEnv, keyring: Keyring,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The node goes away between signing and sending: the caller hears "pending", not "failed",
    and the journaled transaction is sent by the next reconcile."""
    market = keyring.account("MARKET-admin")
    provider = env.w3.provider
    reachable = provider.make_request

    def unreachable(method, params):  # the node is gone when the signed transaction is sent
        if method == "eth_sendRawTransaction":
            raise requests.ConnectionError("connection refused")
        return reachable(method, params)

    monkeypatch.setattr(provider, "make_request", unreachable)
    with pytest.raises(TransactionPending) as info:
        env.ledger.txm.transact(market, set_threshold(env.registry, 6), "sent into the void")
    monkeypatch.undo()
    [row] = env.journal(market.address)
    assert row.status == SIGNED and row.tx_hash == info.value.tx_hash and row.nonce == 0
    with env.sessions() as s:
        assert open_count(s, env.ledger.chain.chain_id) == 1
    assert env.registry.functions.proposalCount().call() == 0

    report = env.ledger.reconcile()
    assert report.resubmitted == 1 and report.failed == []
    [row] = env.journal(market.address)
    assert row.status == MINED
    assert env.registry.functions.proposalCount().call() == 1
    # the next transaction takes the next nonce
    env.ledger.txm.transact(market, set_threshold(env.registry, 7), "after reconcile")
    assert [r.nonce for r in env.journal(market.address)] == [0, 1]


def test_transaction_reverted_on_chain_is_journaled_with_the_contracts_error(env: ChainEnv,
                                                                            keyring: Keyring) -> None:
    """Estimated fine, reverted when mined (an earlier transaction in the same block changed the
    state): the caller gets the contract's own error with the hash; the nonce stays used."""
    market = keyring.account("MARKET-admin")
    txm, f = env.ledger.txm, env.registry.functions
    txm.transact(market, set_threshold(env.registry, 3), "proposal 0")
    env.rpc("evm_setAutomine", False)
    try:
        pending = []
        for _ in range(2):  # both estimated against the state where proposal 0 is open
            with pytest.raises(TransactionPending) as info:
                txm.transact(market, f.cancel(0), "cancel proposal 0", wait=False)
            pending.append(info.value)
        env.rpc("evm_mine")  # one block with both
    finally:
        env.rpc("evm_setAutomine", True)
    txm.wait_for(pending[0].tx_hash, pending[0].journal_id)
    with pytest.raises(ContractRevert) as info:
        txm.wait_for(pending[1].tx_hash, pending[1].journal_id)
    assert (info.value.error, info.value.args_) == ("ProposalNotOpen", {"id": 0, "status": 3})  # Cancelled
    assert info.value.tx_hash == pending[1].tx_hash
    rows = env.journal(market.address)
    assert [(r.nonce, r.status) for r in rows] == [(0, MINED), (1, MINED), (2, REVERTED)]
    assert rows[2].error == "ProposalNotOpen(id=0, status=3)"
    assert rows[1].block_number == rows[2].block_number
    with env.sessions() as s:
        assert open_count(s, env.ledger.chain.chain_id) == 0
    txm.transact(market, set_threshold(env.registry, 4), "next")
    assert env.journal(market.address)[-1].nonce == 3


# ---------------------------------------------------------------- (d) node down


def test_node_down_raises_node_unavailable_and_writes_nothing(env: ChainEnv, keyring: Keyring) -> None:
    market = keyring.account("MARKET-admin")
    fn = set_threshold(env.registry, 3)  # built while the node is up
    rows_before = len(env.journal())
    env.node.stop()
    with pytest.raises(NodeUnavailable) as info:
        env.ledger.txm.transact(market, fn, "while the node is down")
    assert env.node.url in str(info.value)
    assert info.value.code == "node_unavailable"
    with pytest.raises(NodeUnavailable):
        env.ledger.txm.call(env.registry.functions.threshold())
    assert len(env.journal()) == rows_before
    assert env.journal(market.address) == []


# ---------------------------------------------------------------- (e) the same revert on eth-tester


def _fresh_deployment(chain, sessions, keyring: Keyring, spec: AllianceSpec):
    txm = TxManager(chain, sessions, RevertDecoder(artifacts.all_abis().values()), receipt_timeout=20)
    chain.fund(keyring.addresses())
    manifest = deploy_suite(chain, txm, keyring.account("deployer"), spec)
    return txm, bind(chain, manifest)["AllianceRegistry"]


def _reverts(txm: TxManager, registry, keyring: Keyring) -> list[dict]:
    f = registry.functions
    market = keyring.account("MARKET-admin").address
    attempts = [
        ("deployer", f.propose(SET_THRESHOLD, encode(["uint256"], [3]))),
        ("MARKET-admin", f.bootstrapThreshold(3)),
        ("deployer", f.bootstrapMember(market, code_to_bytes32("POLICE"), 1)),
        ("deployer", f.bootstrapDepartment(b"\0" * 32, "空", "Empty", 1)),
        ("deployer", f.bootstrapDepartment(code_to_bytes32("X"), "x", "x", 0)),
        ("deployer", f.sealBootstrap()),
    ]
    out = []
    for alias, fn in attempts:
        with pytest.raises(ContractRevert) as info:
            txm.transact(keyring.account(alias), fn, "must revert")
        out.append(info.value.to_dict())
    return out


def test_reverts_decode_identically_on_anvil_and_eth_tester(tmp_path: Path, keyring: Keyring,
                                                            alliance_spec: AllianceSpec) -> None:
    deployer = keyring.account("deployer").address
    market = keyring.account("MARKET-admin").address
    expected = [
        {"error": "NotGovernor", "args": {"caller": deployer}, "tx_hash": None},
        {"error": "NotBootstrapAdmin", "args": {"caller": market}, "tx_hash": None},
        {"error": "UnknownDepartment", "args": {"code": "POLICE"}, "tx_hash": None},
        {"error": "EmptyCode", "args": {}, "tx_hash": None},
        {"error": "InvalidRoles", "args": {"roles": 0}, "tx_hash": None},
        {"error": "BootstrapIncomplete", "args": {"departments": 0, "threshold": 0}, "tx_hash": None},
    ]
    engines = {}
    for name in ("anvil", "memory"):
        url = f"sqlite:///{tmp_path / f'{name}.db'}"
        gateway_db.upgrade(url)
        engines[name] = make_engine(url)
    try:
        memory = connect("memory://")
        assert memory.kind == "memory"
        txm, registry = _fresh_deployment(memory, session_factory(engines["memory"]), keyring, alliance_spec)
        on_memory = _reverts(txm, registry, keyring)

        node = AnvilNode(NodeSettings(port=free_port()), tmp_path / "node")
        node.start()
        try:
            anvil = connect(node.url)
            assert anvil.kind == "anvil"
            txm, registry = _fresh_deployment(anvil, session_factory(engines["anvil"]), keyring, alliance_spec)
            on_anvil = _reverts(txm, registry, keyring)
        finally:
            node.stop()

        assert on_anvil == expected
        assert on_memory == expected
        for engine in engines.values():  # the deployments only: no journal row for any refused transaction
            with session_factory(engine)() as s:
                assert s.scalar(select(func.count()).select_from(JournalEntry)) == len(artifacts.DEPLOYABLE)
    finally:
        for engine in engines.values():
            engine.dispose()

