"""The cheaper paths of chain.transactions.TxManager give what the web3 / eth_account paths give.

Signing: ``_sign_plain`` must produce the very bytes (and hash, v, r, s) of
``Account.sign_transaction`` and leave every other transaction shape to it. Sending, fees and
receipts go to the node over JSON-RPC directly; the node's refusals, the fee fields, the journal
rows and the web3-formatted receipt callers decode events from must be what they were.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_keys import keys
from eth_keys.backends.native import NativeECCBackend
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import Web3RPCError
from web3.logs import DISCARD

from chain import artifacts
from chain.errors import TransactionPending, TransactionRejected
from chain.journal import MINED, REJECTED, SENT, next_journal_nonce
from chain.keystore import Keyring
from chain.transactions import DigestSigner, _sign_plain
from tests.chain.chain_support import ChainEnv, requires_anvil

SET_THRESHOLD = 7
KEY = keys.PrivateKey(bytes(range(1, 33)))
TARGET = "0x09616C3d61b3331fc4109a9E41a8BDB7d9776609"


def _call_data(size: int, seed: int = 0) -> str:
    return "0x" + random.Random(seed).randbytes(size).hex()


PLAIN_TRANSACTIONS = {
    "eip1559 call": {"type": 2, "chainId": 31337, "nonce": 7, "maxPriorityFeePerGas": 10**9,
                     "maxFeePerGas": 3 * 10**9, "gas": 120_000, "to": TARGET, "value": 0, "data": _call_data(68)},
    "eip1559 without type, zero fees, value": {"chainId": 1337, "nonce": 0, "maxPriorityFeePerGas": 0,
                                               "maxFeePerGas": 0, "gas": 21_000, "to": TARGET, "value": 10**18,
                                               "data": "0x"},
    "eip1559 creation, 70 kB": {"type": 2, "chainId": 1337, "nonce": 3, "maxPriorityFeePerGas": 1,
                                "maxFeePerGas": 2, "gas": 9_000_000, "value": 0, "data": _call_data(70_000, 1)},
    "legacy creation, zero price, 30 kB": {"chainId": 1337, "nonce": 2**40, "gasPrice": 0, "gas": 5_000_000,
                                           "value": 0, "data": _call_data(30_000, 2)},
    "legacy call, price": {"chainId": 1, "nonce": 1, "gasPrice": 234_567_897_654_321, "gas": 2_000_000,
                           "to": TARGET, "value": 10**9, "data": "0x"},
    "legacy, one low byte of data": {"chainId": 5, "nonce": 0, "gasPrice": 1, "gas": 21_000, "to": TARGET,
                                     "value": 0, "data": b"\x01"},
    "legacy, one high byte, big chain id": {"chainId": 2**32 + 5, "nonce": 0, "gasPrice": 1, "gas": 21_000,
                                            "to": TARGET, "value": 0, "data": b"\x80"},
    "extremes": {"type": 2, "chainId": 2**64 - 1, "nonce": 2**64 - 1, "maxPriorityFeePerGas": 2**256 - 1,
                 "maxFeePerGas": 2**256 - 1, "gas": 2**63, "to": "0x0000000000000000000000000000000000000001",
                 "value": 2**256 - 1, "data": _call_data(55, 3)},
}


@pytest.mark.parametrize("tx", PLAIN_TRANSACTIONS.values(), ids=PLAIN_TRANSACTIONS.keys())
def test_plain_signing_gives_eth_accounts_bytes(tx: dict[str, Any]) -> None:
    expected = Account.sign_transaction(tx, KEY)
    signed = _sign_plain(DigestSigner(KEY), tx)
    assert signed is not None, "a transaction shape TxManager builds was left to eth_account"
    assert signed == expected  # raw bytes, hash, r, s, v
    assert bytes(signed.hash) == keccak(bytes(signed.raw_transaction))
    assert Account.recover_transaction(signed.raw_transaction) == Account.from_key(KEY).address


def test_random_transactions_sign_identically() -> None:
    rng = random.Random(20240611)
    signer = DigestSigner(KEY)
    for _ in range(300):
        tx: dict[str, Any] = {"chainId": rng.choice([1, 1337, 31337, rng.randrange(2**40)]),
                              "nonce": rng.choice([0, 1, rng.randrange(2**32)]),
                              "gas": rng.randrange(21_000, 30_000_000),
                              "value": rng.choice([0, 1, rng.randrange(2**200)]),
                              "data": _call_data(rng.choice([0, 1, 4, 55, 56, 1023, rng.randrange(5000)]),
                                                 rng.randrange(10**6))}
        if rng.random() < 0.5:
            tx["gasPrice"] = rng.choice([0, rng.randrange(10**12)])
        else:
            tx.update(maxFeePerGas=rng.choice([0, rng.randrange(10**12)]), maxPriorityFeePerGas=rng.randrange(10**9))
            if rng.random() < 0.5:
                tx["type"] = 2
        if rng.random() < 0.8:
            tx["to"] = to_checksum_address(rng.randbytes(20))
        assert _sign_plain(signer, tx) == Account.sign_transaction(tx, KEY), tx


def test_another_ecc_backend_signs_through_eth_keys() -> None:
    native = keys.PrivateKey(KEY.to_bytes(), backend=NativeECCBackend())
    tx = PLAIN_TRANSACTIONS["eip1559 call"]
    assert _sign_plain(DigestSigner(native), tx) == Account.sign_transaction(tx, native)
    digest = keccak(b"alliance")
    assert DigestSigner(native).sign(digest) == native.sign_msg_hash(digest).vrs == DigestSigner(KEY).sign(digest)


BASE = PLAIN_TRANSACTIONS["eip1559 call"]
LEGACY = PLAIN_TRANSACTIONS["legacy call, price"]
OTHER_SHAPES = {
    "access list": {**BASE, "accessList": [{"address": TARGET, "storageKeys": ["0x" + "00" * 32]}]},
    "type 1": {**LEGACY, "accessList": [], "type": 1},
    "type as hex": {**BASE, "type": "0x2"},
    "from": {**BASE, "from": Account.from_key(KEY).address},
    "nonce as hex": {**BASE, "nonce": "0x5"},
    "value as bool": {**BASE, "value": True},
    "lower-case to": {**BASE, "to": TARGET.lower()},
    "odd-length data": {**BASE, "data": "0x123"},
    "data as HexBytes": {**BASE, "data": HexBytes("0x1234")},
    "no chain id": {k: v for k, v in LEGACY.items() if k != "chainId"},
    "only one dynamic fee": {k: v for k, v in BASE.items() if k != "maxPriorityFeePerGas"},
    "bad checksum": {**BASE, "to": TARGET.replace("C3d", "c3d")},
    "negative gas": {**BASE, "gas": -1},
    "fee too large": {**LEGACY, "gasPrice": 2**256},
}


@requires_anvil
@pytest.mark.parametrize("tx", OTHER_SHAPES.values(), ids=OTHER_SHAPES.keys())
def test_other_transaction_shapes_are_signed_by_eth_account(tx: dict[str, Any], env: ChainEnv) -> None:
    """What _sign_plain does not handle is not guessed at: TxManager signs it (or refuses it) as
    eth_account does."""
    assert _sign_plain(DigestSigner(KEY), tx) is None
    account = Account.from_key(KEY)
    try:
        expected: Any = Account.sign_transaction(tx, KEY)
    except Exception as exc:  # noqa: BLE001 - the refusal itself is what must be the same
        with pytest.raises(type(exc)) as info:
            env.ledger.txm._sign(account, tx)
        assert str(info.value) == str(exc)
    else:
        assert env.ledger.txm._sign(account, tx) == expected


# ---------------------------------------------------------------- on a node

def set_threshold(registry: Any, value: int) -> Any:
    return registry.functions.propose(SET_THRESHOLD, encode(["uint256"], [value]))


def _unsigned_dict(raw_tx: str) -> dict[str, Any]:
    """The fields of a signed type-2 transaction, as a dict eth_account signs."""
    fields = TypedTransaction.from_bytes(HexBytes(raw_tx)).as_dict()
    tx = {k: fields[k] for k in ("type", "chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas",
                                 "value", "data")}
    if fields["to"]:
        tx["to"] = to_checksum_address(fields["to"])
    return tx


@requires_anvil
def test_transaction_result_receipt_and_journal_row(database_url: str, start_env: Callable[..., ChainEnv],
                                                    keyring: Keyring) -> None:
    env = start_env(database_url)
    market = keyring.account("MARKET-admin")
    result = env.ledger.txm.transact(market, set_threshold(env.registry, 4), "fast path proposal")

    # the receipt is web3's, and events decode from it
    assert result.receipt == env.w3.eth.get_transaction_receipt(result.tx_hash)
    webs = env.w3.eth.get_transaction_receipt(result.tx_hash)
    assert type(result.receipt) is type(webs)
    assert [type(entry) for entry in result.receipt["logs"]] == [type(entry) for entry in webs["logs"]]
    assert [type(v) for v in result.receipt.values()] == [type(v) for v in webs.values()]
    [event] = env.registry.events.ProposalCreated().process_receipt(result.receipt, errors=DISCARD)
    assert event["args"]["id"] == 0 and event["args"]["proposer"] == market.address
    assert (result.block_number, result.gas_used) == (result.receipt["blockNumber"], result.receipt["gasUsed"])
    assert result.block_timestamp == env.w3.eth.get_block(result.block_number)["timestamp"]
    assert result.contract_address is None

    [row] = env.journal(market.address)
    assert row.id == result.journal_id and row.tx_hash == result.tx_hash and row.nonce == 0
    assert (row.status, row.error, row.resubmissions) == (MINED, None, 0)
    assert row.to_address == env.registry.address and row.purpose == "fast path proposal"
    assert row.block_number == result.block_number and row.gas_used == result.gas_used
    assert row.block_hash == "0x" + bytes(result.receipt["blockHash"]).hex()
    assert row.block_timestamp == result.block_timestamp and row.contract_address is None
    assert row.created_at is not None and row.updated_at >= row.created_at
    # the journaled bytes are eth_account's signature of that transaction, and the one mined
    assert "0x" + bytes(Account.sign_transaction(_unsigned_dict(row.raw_tx), market.key).raw_transaction).hex() \
        == row.raw_tx
    assert "0x" + keccak(hexstr=row.raw_tx).hex() == row.tx_hash
    assert env.w3.eth.get_transaction(row.tx_hash)["from"] == market.address


@requires_anvil
def test_contract_creation_is_journaled_with_its_address(env: ChainEnv, keyring: Keyring) -> None:
    deployer = keyring.account("deployer")
    art = artifacts.load("AllianceRegistry")
    factory = env.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    result = env.ledger.txm.deploy(deployer, factory, (86400,), "second registry")
    assert result.contract_address and len(env.w3.eth.get_code(result.contract_address)) > 0
    row = env.journal(deployer.address)[-1]
    assert row.tx_hash == result.tx_hash and row.to_address is None
    assert row.contract_address == result.contract_address and row.status == MINED
    assert "0x" + bytes(Account.sign_transaction(_unsigned_dict(row.raw_tx), deployer.key).raw_transaction).hex() \
        == row.raw_tx


@requires_anvil
def test_each_journal_update_moves_updated_at(env: ChainEnv, keyring: Keyring) -> None:
    market = keyring.account("MARKET-admin")
    with pytest.raises(TransactionPending) as info:
        env.ledger.txm.transact(market, set_threshold(env.registry, 5), "not waited for", wait=False)
    [sent] = env.journal(market.address)
    assert sent.status == SENT and sent.updated_at >= sent.created_at
    env.ledger.txm.wait_for(info.value.tx_hash, info.value.journal_id)
    [mined] = env.journal(market.address)
    assert mined.status == MINED and mined.updated_at > sent.updated_at and mined.created_at == sent.created_at


@requires_anvil
def test_fee_fields_follow_the_latest_blocks_base_fee(env: ChainEnv) -> None:
    chain = env.ledger.chain
    assert env.w3.eth.get_block("latest")["baseFeePerGas"] == 0  # the alliance chain charges nothing
    assert chain.fee_fields() == {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
    env.rpc("anvil_setNextBlockBaseFeePerGas", hex(7 * 10**9 + 3))
    env.rpc("evm_mine")
    base = env.w3.eth.get_block("latest")["baseFeePerGas"]
    assert base == 7 * 10**9 + 3
    assert chain.fee_fields() == {"maxFeePerGas": 2 * base + 10**9, "maxPriorityFeePerGas": 10**9}


@requires_anvil
def test_node_refusal_is_journaled_with_webs_message(env: ChainEnv, keyring: Keyring) -> None:
    """A transaction the node refuses (here: gas now costs money the member does not have) is
    journaled as rejected with the message web3 reports, and its nonce is used again."""
    market = keyring.account("MARKET-admin")
    env.rpc("anvil_setNextBlockBaseFeePerGas", hex(10**9))
    env.rpc("evm_mine")
    with pytest.raises(TransactionRejected) as info:
        env.ledger.txm.transact(market, set_threshold(env.registry, 4), "unfunded")
    [row] = env.journal(market.address)
    assert row.status == REJECTED and row.nonce == 0 and row.block_number is None
    with pytest.raises(Web3RPCError) as through_web3:
        env.w3.eth.send_raw_transaction(row.raw_tx)  # the same bytes, refused the same way
    assert row.error == str(through_web3.value)
    assert "insufficient funds" in row.error.lower()
    assert str(info.value) == f"node refused unfunded: {through_web3.value}"

    with env.sessions() as s:
        assert next_journal_nonce(s, env.ledger.chain.chain_id, market.address) == 0
    env.rpc("anvil_setBalance", market.address, hex(10**21))
    result = env.ledger.txm.transact(market, set_threshold(env.registry, 5), "funded")
    rows = env.journal(market.address)
    assert [(r.nonce, r.status) for r in rows] == [(0, REJECTED), (0, MINED)]
    assert rows[1].tx_hash == result.tx_hash


@requires_anvil
def test_the_very_transaction_refused_before_goes_through_once_its_cause_is_gone(env: ChainEnv,
                                                                                keyring: Keyring) -> None:
    """Signing is deterministic: retrying the refused call with the same nonce and fees is the same
    bytes, whose hash the journal holds. The rejected row is taken up again and mined."""
    market = keyring.account("MARKET-admin")
    env.rpc("anvil_setNextBlockBaseFeePerGas", hex(10**9))
    env.rpc("evm_mine")
    with pytest.raises(TransactionRejected, match="(?i)insufficient funds"):
        env.ledger.txm.transact(market, set_threshold(env.registry, 4), "unfunded")
    [refused] = env.journal(market.address)
    env.rpc("anvil_setBalance", market.address, hex(10**21))  # no block: the same base fee, the same fees
    result = env.ledger.txm.transact(market, set_threshold(env.registry, 4), "retried")
    [row] = env.journal(market.address)
    assert row.id == refused.id and row.tx_hash == refused.tx_hash == result.tx_hash
    assert (row.nonce, row.status, row.error, row.purpose) == (0, MINED, None, "retried")
    assert env.registry.functions.proposalCount().call() == 1
    # and the nonce after it is the next one
    env.ledger.txm.transact(market, set_threshold(env.registry, 5), "next")
    assert [(r.nonce, r.status) for r in env.journal(market.address)] == [(0, MINED), (1, MINED)]


@requires_anvil
def test_send_errors_are_the_ones_web3_raises(env: ChainEnv, keyring: Keyring) -> None:
    market = keyring.account("MARKET-admin")
    txm = env.ledger.txm
    env.rpc("evm_setAutomine", False)
    try:
        with pytest.raises(TransactionPending) as info:
            txm.transact(market, set_threshold(env.registry, 4), "pending", wait=False)
        raw = bytes.fromhex(env.journal(market.address)[0].raw_tx[2:])
        errors = []
        for send in (env.w3.eth.send_raw_transaction, txm._send_raw):  # again, while it is pending
            with pytest.raises(Web3RPCError) as again:
                send(raw)
            errors.append((type(again.value), str(again.value), again.value.rpc_response["error"]))
        assert errors[0] == errors[1]
        # the receipt probe sees nothing yet, and does not mistake that for an error
        assert txm._receipt_or_none(info.value.tx_hash) is None
        env.rpc("evm_mine")
    finally:
        env.rpc("evm_setAutomine", True)
    assert txm._receipt_or_none(info.value.tx_hash) == env.w3.eth.get_transaction_receipt(
        info.value.tx_hash)
    errors = []
    for send in (env.w3.eth.send_raw_transaction, txm._send_raw):  # mined: its nonce is used
        with pytest.raises(Web3RPCError) as late:
            send(raw)
        errors.append((type(late.value), str(late.value)))
    assert errors[0] == errors[1] and "nonce" in errors[0][1].lower()
