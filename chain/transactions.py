"""The transaction manager: sign locally, allocate nonces, journal, send, track receipts.

Order of a write: estimate gas (a revert here is reported with the contract's own error and
nothing is written) → under the account's lock: allocate the nonce, sign, write the journal row
and commit, send the raw transaction → outside the lock: wait for the receipt and record it.
A transaction that was journaled but could not be sent stays in the journal and is resubmitted
by ``chain.reconcile``; the caller is told it is pending, never that it failed.

A sent transaction is marked ``sent`` in the journal unless its receipt comes within
``SENT_GRACE`` (a node that mines on arrival, as anvil does, needs a fraction of a millisecond):
then the row goes from ``signed`` to ``mined``/``reverted`` in one commit, one fsync fewer.
``chain.reconcile`` treats ``signed`` and ``sent`` alike. The receipt is polled at once and then at
growing intervals (``RECEIPT_POLL_FIRST`` doubling up to ``RECEIPT_POLL_MAX``).

Over JSON-RPC the requests of a write whose answers need no formatting (estimate, base fee, send,
"no receipt yet") go to the provider directly, and the transactions built here are signed by
``_sign_plain``, the bytes ``Account.sign_transaction`` gives; web3 and eth_account keep the
in-process chain, the receipt callers decode events from, every error answer, and any
transaction of another shape. The journal is written with prebuilt SQL statements.
"""

from __future__ import annotations

import binascii
import functools
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
import rlp
from eth_account import Account
from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_keys.backends.coincurve import CoinCurveECCBackend
from eth_abi import encode
from eth_utils import is_checksum_address, keccak
from hexbytes import HexBytes
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from web3._utils.method_formatters import get_error_formatters, get_null_result_formatters, get_result_formatters
from web3._utils.rpc_abi import RPC
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.datastructures import AttributeDict
from web3.module import apply_result_formatters

from chain.connection import Chain
from chain.db import transaction
from chain.errors import (
    ContractRevert,
    NodeUnavailable,
    RevertDecoder,
    TransactionPending,
    TransactionRejected,
    abi_type,
    revert_data,
    revert_exceptions,
)
from chain.journal import MINED, REJECTED, REVERTED, SENT, SIGNED, JournalEntry, next_journal_nonce

TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, ConnectionError, OSError)
REVERTS = revert_exceptions()
MEMORY_CHAIN_GAS = 10_000_000  # gas limit on the in-process chain (unit tests)
# Another process signing for the same account (a second gateway worker) may take the nonce we
# read; the journal's unique index refuses the second row and we read again after a random pause.
NONCE_ATTEMPTS = 25
RECEIPT_POLL_FIRST = 0.00025  # seconds before the second receipt poll; each later pause doubles
RECEIPT_POLL_MAX = 0.02  # seconds between receipt polls, at most
SENT_GRACE = 0.002  # seconds a receipt may take before the journal row is marked sent
# the transaction shapes _sign_plain encodes itself; any other key sends it to eth_account
LEGACY_KEYS = frozenset({"nonce", "gasPrice", "gas", "to", "value", "data", "chainId"})
DYNAMIC_FEE_KEYS = frozenset({"type", "chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas", "to",
                              "value", "data"})
UINT256_END = 2**256
CHECKSUM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# The journal statements of every transaction, built once and run as SQL on the table: building
# an ORM statement costs ~0.15 ms and an ORM flush ~0.15 ms more than the SQL; rows, defaults
# (created_at, updated_at's onupdate, resubmissions) and errors (IntegrityError) are the same.
JOURNAL = JournalEntry.__table__
INSERT_ENTRY = insert(JOURNAL)
UPDATE_ENTRY = update(JOURNAL).where(JOURNAL.c.id == bindparam("journal_id"))
REJECTED_ENTRY = select(JOURNAL.c.id).where(JOURNAL.c.tx_hash == bindparam("tx_hash"), JOURNAL.c.status == REJECTED)


@dataclass(frozen=True)
class TxResult:
    tx_hash: str
    journal_id: int
    block_number: int
    block_timestamp: int
    gas_used: int
    contract_address: str | None
    receipt: Any


class TxManager:
    """Signs and sends transactions for unlocked member accounts, journaling each one first."""

    def __init__(
        self,
        chain: Chain,
        sessions: sessionmaker[Session],
        decoder: RevertDecoder,
        *,
        receipt_timeout: float = 60.0,
        gas_multiplier: float = 1.25,
        ready: threading.Event | None = None,
        ready_timeout: float = 30.0,
    ):
        self.chain = chain
        self.sessions = sessions
        self.decoder = decoder
        self.receipt_timeout = receipt_timeout
        self.gas_multiplier = gas_multiplier
        self.ready = ready or _set_event()
        self.ready_timeout = ready_timeout
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._next_nonce: dict[str, int] = {}
        # each account's eth_keys key (and its coincurve key), built once: signing with the raw key
        # bytes would derive the public key again on every transaction
        self._signers: dict[str, DigestSigner] = {}

    # ------------------------------------------------------------------ public

    def transact(self, account: LocalAccount, fn: Any, purpose: str, *, wait: bool = True) -> TxResult:
        """Send a contract function call (``contract.functions.f(...)``) signed by ``account``."""
        params = {"from": account.address, "to": fn.address, "data": fn._encode_transaction_data(), "value": 0}
        return self._send(account, params, purpose, wait=wait)

    def deploy(self, account: LocalAccount, factory: Any, args: tuple, purpose: str) -> TxResult:
        """Deploy a contract (``w3.eth.contract(abi=..., bytecode=...)``) with constructor ``args``."""
        data = factory.constructor(*args).data_in_transaction
        params = {"from": account.address, "data": data, "value": 0}
        return self._send(account, params, purpose, wait=True)

    def call(self, fn: Any, block: str | int = "latest") -> Any:
        """A read-only call; a revert is raised as the contract's own error."""
        try:
            return fn.call(block_identifier=block)
        except REVERTS as exc:
            raise self.decoder.decode(revert_data(exc)) from None
        except TRANSPORT_ERRORS as exc:
            raise NodeUnavailable(f"node at {self.chain.url} did not answer: {type(exc).__name__}") from None

    def reset_nonces(self) -> None:
        """Forget cached nonces (after the chain was rewound or reconciled)."""
        with self._locks_guard:
            self._next_nonce.clear()

    def wait_for(self, tx_hash: str, journal_id: int) -> TxResult:
        """Wait for the receipt of a journaled transaction and record it."""
        return self._confirm(tx_hash, journal_id, sent_recorded=True)

    def _confirm(self, tx_hash: str, journal_id: int, *, sent_recorded: bool) -> TxResult:
        """Wait for the receipt and record it; unless ``sent_recorded``, mark the row ``sent`` first
        if the receipt is not there at the first look."""
        receipt = None
        if not sent_recorded:
            try:
                receipt = self._wait_receipt(tx_hash, SENT_GRACE)
            except TRANSPORT_ERRORS:
                receipt = None
            if receipt is None:
                self._update_entry(journal_id, status=SENT)
        try:
            if receipt is None:
                receipt = self._wait_receipt(tx_hash, self.receipt_timeout)
            if receipt is None:
                raise TransactionPending(f"no receipt for {tx_hash} within {self.receipt_timeout}s; it stays "
                                         "journaled", tx_hash, journal_id)
            timestamp = _log_block_timestamp(receipt)
            if timestamp is None:
                timestamp = self._block_timestamp(receipt["blockNumber"])
        except TRANSPORT_ERRORS:
            raise TransactionPending(f"node went away before {tx_hash} was confirmed; it will be resubmitted",
                                     tx_hash, journal_id) from None
        ok = receipt["status"] == 1
        error = None
        if not ok:
            error = self._revert_reason(journal_id, receipt)
        self._update_entry(
            journal_id, status=MINED if ok else REVERTED, block_number=receipt["blockNumber"],
            block_hash="0x" + bytes(receipt["blockHash"]).hex(), block_timestamp=timestamp,
            gas_used=receipt["gasUsed"], contract_address=receipt.get("contractAddress"),
            error=str(error) if error else None,
        )
        if error is not None:
            raise error
        return TxResult(
            tx_hash=tx_hash,
            journal_id=journal_id,
            block_number=receipt["blockNumber"],
            block_timestamp=timestamp,
            gas_used=receipt["gasUsed"],
            contract_address=receipt.get("contractAddress"),
            receipt=receipt,
        )

    # ------------------------------------------------------------------ internals

    def _receipt_or_none(self, tx_hash: str) -> Any:
        """web3's receipt of ``tx_hash``, None while there is none. A JSON-RPC node is asked directly:
        a plain "none yet" answer costs ~0.1 ms of CPU, web3's ``TransactionNotFound`` ~0.35 ms; a
        receipt is read by web3's own response validation, result formatter and ``AttributeDict`` (what
        its middleware gives). Any other answer is asked again through web3, so errors are web3's;
        the in-process chain is always read through web3."""
        w3 = self.chain.w3
        if self.chain.kind != "memory":
            method = RPC.eth_getTransactionReceipt
            response = w3.provider.make_request(method, [tx_hash])
            if _plain_answer(response):
                if response["result"] is None:
                    return None
                if isinstance(response["result"], dict):
                    return AttributeDict.recursive(self._read_as_web3(method, [tx_hash], response))
        try:
            return w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def _wait_receipt(self, tx_hash: str, timeout: float) -> Any:
        """The receipt, polled at once and then after ``RECEIPT_POLL_FIRST`` doubling (at most
        ``RECEIPT_POLL_MAX`` apart); None if there is none after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        pause = RECEIPT_POLL_FIRST
        while True:
            receipt = self._receipt_or_none(tx_hash)
            if receipt is not None:
                return receipt
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(pause, left))
            pause = min(pause * 2, RECEIPT_POLL_MAX)

    def _block_timestamp(self, number: int) -> int:
        """A mined block's timestamp. Over JSON-RPC asked for directly (web3's block formatting is
        not needed for one field); through web3 where that gives no plain answer."""
        if self.chain.kind != "memory":
            result = self.chain.plain_result("eth_getBlockByNumber", [hex(number), False])
            if isinstance(result, dict) and isinstance(result.get("timestamp"), str):
                return int(result["timestamp"], 16)
        return self.chain.w3.eth.get_block(number)["timestamp"]

    def _estimate_gas(self, params: dict[str, Any]) -> int:
        """``eth_estimateGas`` of ``params``. Sent straight to the provider (web3's validation
        middleware would ask the node for its chain id twice per estimate); an error answer (a
        revert) is asked again through web3, so that it raises exactly what web3 raises."""
        request = {"from": params["from"], "data": params["data"], "value": hex(params["value"])}
        if params.get("to") is not None:
            request["to"] = params["to"]
        result = self.chain.plain_result("eth_estimateGas", [request])
        if isinstance(result, str) and result.startswith("0x"):
            return int(result, 16)
        return self.chain.w3.eth.estimate_gas(params)

    def _sign(self, account: LocalAccount, tx: dict[str, Any]) -> Any:
        """``account.sign_transaction(tx)``, the same bytes, with the account's eth_keys key built once:
        eth_keys signs with libsecp256k1 (its coincurve backend, pinned in requirements.lock). The
        transactions ``_send`` builds are encoded by ``_sign_plain``; anything else by eth_account."""
        if not isinstance(account, LocalAccount):
            return account.sign_transaction(tx)
        signer = self._signers.get(account.address)
        if signer is None:
            signer = self._signers[account.address] = DigestSigner(keys.PrivateKey(bytes(account.key)))
        signed = _sign_plain(signer, tx)
        if signed is not None:
            return signed
        return Account.sign_transaction(tx, signer.key)

    def _send_raw(self, raw_transaction: bytes) -> None:
        """``w3.eth.send_raw_transaction(raw_transaction)``, raising what it raises. Over JSON-RPC the
        request goes straight to the provider (web3's request formatting and middleware cost ~0.25 ms
        of CPU and change nothing for this method) and the node's answer is then read by web3's own
        response validation and result formatter, so that an error answer is the same
        ``Web3RPCError`` with the same message. The in-process chain goes through web3."""
        w3 = self.chain.w3
        if self.chain.kind == "memory":
            w3.eth.send_raw_transaction(raw_transaction)
            return
        method = RPC.eth_sendRawTransaction
        params = ["0x" + bytes(raw_transaction).hex()]
        self._read_as_web3(method, params, w3.provider.make_request(method, params))

    def _read_as_web3(self, method: str, params: list[Any], response: Any) -> Any:
        """The node's ``response`` to ``method`` read as web3 reads it: its response validation (an
        error answer raises web3's exception, with web3's message), null-result and result formatters.
        Not its middleware: the callers add what of it applies (``AttributeDict`` for a receipt)."""
        w3 = self.chain.w3
        result = w3.manager.formatted_response(response, params, get_error_formatters(method),
                                               get_null_result_formatters(method))
        return apply_result_formatters(get_result_formatters(method, w3.eth), result)

    def _lock_for(self, address: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(address, threading.Lock())

    def _send(self, account: LocalAccount, params: dict[str, Any], purpose: str, *, wait: bool) -> TxResult:
        if not self.ready.wait(self.ready_timeout):
            raise NodeUnavailable("the chain is not ready (node restarting or journal being reconciled)")
        w3 = self.chain.w3
        try:
            if self.chain.kind == "memory":
                # py-evm's estimator re-executes the call ~20 times; a call finds reverts at once
                w3.eth.call(params)
                gas = MEMORY_CHAIN_GAS
            else:
                gas = int(self._estimate_gas(params) * self.gas_multiplier) + 10_000
            fees = self.chain.fee_fields()
        except REVERTS as exc:
            raise self.decoder.decode(revert_data(exc)) from None
        except TRANSPORT_ERRORS as exc:
            raise NodeUnavailable(f"node at {self.chain.url} did not answer: {type(exc).__name__}") from None
        tx = {k: v for k, v in params.items() if k != "from"}
        tx.update(gas=gas, chainId=self.chain.chain_id, **fees)
        if "maxFeePerGas" in fees:
            tx["type"] = 2
        journal_id, tx_hash = self._sign_journal_send(account, tx, purpose, mark_sent=not wait)
        if not wait:
            raise TransactionPending(f"{tx_hash} sent", tx_hash, journal_id)
        return self._confirm(tx_hash, journal_id, sent_recorded=False)

    def _sign_journal_send(self, account: LocalAccount, tx: dict[str, Any], purpose: str, *,
                           mark_sent: bool = True) -> tuple[int, str]:
        address = account.address
        with self._lock_for(address):
            for attempt in range(NONCE_ATTEMPTS):
                nonce = self._allocate(address)
                signed = self._sign(account, {**tx, "nonce": nonce})
                tx_hash = "0x" + bytes(signed.hash).hex()
                try:
                    with transaction(self.sessions) as s:
                        journal_id = s.execute(INSERT_ENTRY, {
                            "chain_id": self.chain.chain_id, "account": address, "nonce": nonce, "tx_hash": tx_hash,
                            "raw_tx": "0x" + bytes(signed.raw_transaction).hex(), "to_address": tx.get("to"),
                            "purpose": purpose[:200], "status": SIGNED,
                        }).inserted_primary_key[0]
                except IntegrityError:
                    journal_id = self._revive_rejected(tx_hash, purpose)
                    if journal_id is not None:  # the very transaction the node refused before: again
                        self._next_nonce[address] = nonce + 1
                        break
                    # another process holding the same key took this nonce: re-read and sign again
                    self._next_nonce.pop(address, None)
                    time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # let the other one finish first
                    continue
                self._next_nonce[address] = nonce + 1
                break
            else:
                raise TransactionRejected(f"could not allocate a nonce for {address} after {NONCE_ATTEMPTS} attempts")
            try:
                self._send_raw(signed.raw_transaction)
            except TRANSPORT_ERRORS:
                raise TransactionPending(
                    f"node unreachable; {tx_hash} is journaled and will be resubmitted", tx_hash, journal_id
                ) from None
            except Web3RPCError as exc:
                message = str(exc)
                if "already known" not in message.lower():
                    self._update_entry(journal_id, status=REJECTED, error=message[:2000])
                    self._next_nonce.pop(address, None)
                    raise TransactionRejected(f"node refused {purpose}: {message}") from None
            if mark_sent:
                self._update_entry(journal_id, status=SENT)
        return journal_id, tx_hash

    def _revive_rejected(self, tx_hash: str, purpose: str) -> int | None:
        """The journal row of ``tx_hash`` if the node had refused it, made ``signed`` again; else None.

        Signing is deterministic: the same call with the same nonce and fees (a retry once the cause of
        a refusal, say an unfunded account, is gone) is the same bytes, whose hash the journal holds
        already. That row is taken up again instead of a new one; its nonce is the one a refused
        transaction gave back. None also where reviving would clash with a live row of that nonce."""
        try:
            with transaction(self.sessions) as s:
                journal_id = s.scalar(REJECTED_ENTRY, {"tx_hash": tx_hash})
                if journal_id is None:
                    return None
                s.execute(UPDATE_ENTRY, {"journal_id": journal_id, "status": SIGNED, "error": None,
                                         "purpose": purpose[:200]})
        except IntegrityError:
            return None
        return journal_id

    def _update_entry(self, journal_id: int, **values: Any) -> None:
        """Set ``values`` on the journal row ``journal_id`` (and its ``updated_at``) in one commit."""
        with transaction(self.sessions) as s:
            s.execute(UPDATE_ENTRY, {"journal_id": journal_id, **values})

    def _allocate(self, address: str) -> int:
        cached = self._next_nonce.get(address)
        with self.sessions() as s:
            journal_next = next_journal_nonce(s, self.chain.chain_id, address)
        if cached is not None and cached >= journal_next:
            return cached
        try:
            chain_next = self.chain.w3.eth.get_transaction_count(address, "pending")
        except TRANSPORT_ERRORS as exc:
            raise NodeUnavailable(f"node at {self.chain.url} did not answer: {type(exc).__name__}") from None
        return max(journal_next, chain_next)

    def _revert_reason(self, journal_id: int, receipt: Any) -> ContractRevert:
        """The contract error of a reverted transaction: from the node's trace where it offers one,
        else by replaying it as a call on the state before its block (right only when it was the
        first transaction of its block)."""
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        if self.chain.kind != "memory":
            try:  # anvil, geth and Besu (DEBUG api): the revert data as the transaction really ran
                trace = self.chain.rpc("debug_traceTransaction", [tx_hash, {
                    "disableStack": True, "disableStorage": True, "disableMemory": True}])
                if isinstance(trace, dict) and trace.get("failed") and trace.get("returnValue"):
                    return self.decoder.decode(trace["returnValue"], tx_hash=tx_hash)
            except Exception:  # noqa: BLE001 - debug api not enabled: fall back to the replay
                pass
        with self.sessions() as s:
            entry = s.get(JournalEntry, journal_id)
            account, to = entry.account, entry.to_address
        tx = self.chain.w3.eth.get_transaction(receipt["transactionHash"])
        call = {"from": account, "to": to, "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
        try:
            self.chain.w3.eth.call(call, block_identifier=max(receipt["blockNumber"] - 1, 0))
        except REVERTS as exc:
            return self.decoder.decode(revert_data(exc), tx_hash="0x" + bytes(receipt["transactionHash"]).hex())
        except (TransactionNotFound, *TRANSPORT_ERRORS):
            pass
        return ContractRevert("Reverted", {"reason": "reverted; the error could not be replayed"},
                              "0x" + bytes(receipt["transactionHash"]).hex())


class Calldata:
    """A contract function call encoded once, by ``eth_abi``, for :meth:`TxManager.transact` (which
    needs ``address`` and ``_encode_transaction_data()``) and a dry run (``eth_call`` of ``data``). The
    bytes are those web3's ``contract.functions.<name>(*args)`` encodes (tests compare them); web3's own encoder
    normalises every value of the argument tree first and takes ~13 ms for one ``issueBatch`` of 50
    licences, eth_abi ~1 ms, and the same call was encoded twice (dry run, then the transaction).
    Only for functions whose name is not overloaded; eth_abi checks each value against its type."""

    __slots__ = ("address", "data")

    def __init__(self, contract: Any, name: str, args: tuple) -> None:
        found = [item for item in contract.abi if item.get("type") == "function" and item.get("name") == name]
        if len(found) != 1:
            raise ValueError(f"{name}: not exactly one function of that name in the ABI")
        types = [abi_type(i) for i in found[0].get("inputs", [])]
        self.address = contract.address
        self.data = "0x" + (keccak(text=f"{name}({','.join(types)})")[:4] + encode(types, list(args))).hex()

    def _encode_transaction_data(self) -> str:
        return self.data


def _log_block_timestamp(receipt: Any) -> int | None:
    """The block time a node puts in the receipt's logs (``blockTimestamp``, in the JSON-RPC spec
    since 2025: anvil, geth), which spares asking for the block; None where there is none."""
    for entry in receipt.get("logs") or ():
        value = entry.get("blockTimestamp")
        try:
            same_block = bytes(entry.get("blockHash") or b"") == bytes(receipt["blockHash"])
        except (TypeError, ValueError):  # not bytes-like: leave it to eth_getBlockByNumber
            return None
        if value is None or not same_block:
            continue
        if isinstance(value, str):
            return int(value, 16) if value.startswith("0x") else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return None


class DigestSigner:
    """One account's key, signing 32-byte digests exactly as its eth_keys key's ``sign_msg_hash``:
    with eth_keys' coincurve backend (the one installed), through a coincurve key built once
    (eth_keys builds one per signature, deriving the public key twice, ~0.05 ms); with any
    other backend, through eth_keys itself."""

    __slots__ = ("key", "_coincurve")

    def __init__(self, key: keys.PrivateKey) -> None:
        self.key = key
        backend = key.backend
        self._coincurve = (backend.keys.PrivateKey(key.to_bytes())
                           if isinstance(backend, CoinCurveECCBackend) else None)

    def sign(self, digest: bytes) -> tuple[int, int, int]:
        """(recovery id 0/1, r, s) of the signature of ``digest``."""
        if self._coincurve is None:
            return self.key.sign_msg_hash(digest).vrs
        signature = self._coincurve.sign_recoverable(digest, hasher=None)  # r (32) || s (32) || recovery id
        return signature[64], int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")


def _sign_plain(signer: DigestSigner, tx: dict[str, Any]) -> SignedTransaction | None:
    """``Account.sign_transaction(tx, signer.key)`` for the transactions ``TxManager`` builds, the same
    bytes at about a quarter of the CPU: eth_account validates and formats every field through generic dict
    formatters and RLP serializer classes, twice (unsigned, then signed). Handled: a legacy
    EIP-155 transaction (``gasPrice``) or an EIP-1559 one (``maxFeePerGas``/``maxPriorityFeePerGas``,
    ``type`` 2 or absent), with int fields, ``chainId``, a checksummed ``to`` or none (a contract
    creation) and ``data`` as 0x-hex (even length) or bytes. None for anything else, which the
    caller signs with eth_account, so that odd input is accepted or refused exactly as there."""
    payload = _plain_payload(tx)
    if payload is None:
        return None
    unsigned, chain_id = payload
    if "gasPrice" in tx:  # legacy, EIP-155: v carries the chain id; the hash covers [chainId, 0, 0]
        recovery, r, s = signer.sign(keccak(rlp.encode(unsigned + [chain_id, 0, 0])))
        v = recovery + 35 + 2 * chain_id
        raw = rlp.encode(unsigned + [v, r, s])
    else:  # EIP-2718 type 2: 0x02 || rlp([chainId, nonce, tip, max fee, gas, to, value, data, [], v, r, s])
        v, r, s = signer.sign(keccak(b"\x02" + rlp.encode(unsigned)))
        raw = b"\x02" + rlp.encode(unsigned + [v, r, s])
    return SignedTransaction(raw_transaction=HexBytes(raw), hash=HexBytes(keccak(raw)), r=r, s=s, v=v)


def _plain_payload(tx: dict[str, Any]) -> tuple[list[Any], int] | None:
    """(the unsigned RLP fields in signing order, chain id) of a transaction ``_sign_plain`` handles;
    None where it does not."""
    if not isinstance(tx, dict):
        return None
    keys_ = tx.keys()
    required = {"nonce", "gas", "value", "data", "chainId"}
    if "gasPrice" in tx:
        allowed, fees = LEGACY_KEYS, ("gasPrice",)
    elif "maxFeePerGas" in tx and "maxPriorityFeePerGas" in tx:
        allowed, fees = DYNAMIC_FEE_KEYS, ("maxPriorityFeePerGas", "maxFeePerGas")
        kind = tx.get("type", 2)
        if type(kind) is not int or kind != 2:
            return None
    else:
        return None
    if not keys_ <= allowed or not required <= keys_:
        return None
    numbers = [tx[name] for name in ("nonce", "gas", "value", "chainId", *fees)]
    if not all(type(n) is int and 0 <= n < UINT256_END for n in numbers):
        return None
    to = _plain_to(tx)
    data = _plain_data(tx["data"])
    if to is None or data is None:
        return None
    nonce, gas, value, chain_id = numbers[:4]
    if "gasPrice" in tx:
        return [nonce, tx["gasPrice"], gas, to, value, data], chain_id
    return [chain_id, nonce, tx["maxPriorityFeePerGas"], tx["maxFeePerGas"], gas, to, value, data, []], chain_id


def _plain_to(tx: dict[str, Any]) -> bytes | None:
    """The 20 address bytes of a checksummed ``to``, b"" without one (a contract creation)."""
    if "to" not in tx:
        return b""
    to = tx["to"]
    return _checksummed_address_bytes(to) if type(to) is str else None


@functools.lru_cache(maxsize=256)
def _checksummed_address_bytes(address: str) -> bytes | None:
    """The bytes of a checksummed address (remembered: a member writes to a handful of contracts)."""
    if CHECKSUM_ADDRESS.fullmatch(address) and is_checksum_address(address):
        return bytes.fromhex(address[2:])
    return None


def _plain_data(data: Any) -> bytes | None:
    if type(data) is bytes:
        return data
    if isinstance(data, str) and data.startswith("0x") and len(data) % 2 == 0:
        try:
            return binascii.unhexlify(data[2:])
        except ValueError:  # not hex digits (binascii.Error), or not ASCII
            return None
    return None


def _plain_answer(response: Any) -> bool:
    """A well-formed JSON-RPC 2.0 answer with a result and no error."""
    return (isinstance(response, dict) and response.get("jsonrpc") == "2.0" and "error" not in response
            and "result" in response and type(response.get("id")) is int)


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


def journal_entries(sessions: sessionmaker[Session], chain_id: int) -> list[JournalEntry]:
    with sessions() as s:
        return list(s.scalars(select(JournalEntry).where(JournalEntry.chain_id == chain_id).order_by(JournalEntry.id)))

