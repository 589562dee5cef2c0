"""Reconcile the chain against the transaction journal.

For each account the node's nonce tells which journaled transactions it has: those below it are
on chain (their receipts are recorded), those at or above it are missing and are resubmitted in
the order they were first signed. On a node that accepts anvil's dev methods, each resubmitted
transaction is mined with its original block timestamp, and the clock is set back to now after.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3.exceptions import TimeExhausted, Web3RPCError

from chain.connection import Chain
from chain.db import transaction
from chain.journal import MINED, OPEN_STATUSES, REJECTED, REVERTED, SENT, JournalEntry

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    journaled: int = 0
    on_chain: int = 0
    confirmed: int = 0  # open entries whose receipt was found
    resubmitted: int = 0
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"journaled": self.journaled, "on_chain": self.on_chain, "confirmed": self.confirmed,
                "resubmitted": self.resubmitted, "failed": self.failed}


def _record_receipt(chain: Chain, entry: JournalEntry, receipt: dict) -> None:
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    entry.status = MINED if receipt["status"] == 1 else REVERTED
    entry.block_number = receipt["blockNumber"]
    entry.block_hash = "0x" + bytes(receipt["blockHash"]).hex()
    entry.block_timestamp = block["timestamp"]
    entry.gas_used = receipt["gasUsed"]
    entry.contract_address = receipt.get("contractAddress")


def _receipt_or_none(chain: Chain, tx_hash: str) -> dict | None:
    try:
        return chain.w3.eth.get_transaction_receipt(tx_hash)
    except Exception:  # TransactionNotFound, or a node that has never seen it
        return None


def reconcile(chain: Chain, sessions: sessionmaker[Session], receipt_timeout: float = 60.0) -> ReconcileReport:
    report = ReconcileReport()
    with sessions() as s:
        entries = list(s.scalars(
            select(JournalEntry).where(JournalEntry.chain_id == chain.chain_id, JournalEntry.status != REJECTED)
            .order_by(JournalEntry.id)
        ))
    report.journaled = len(entries)
    chain_nonce = {a: chain.w3.eth.get_transaction_count(a, "latest") for a in {e.account for e in entries}}
    missing = [e for e in entries if e.nonce >= chain_nonce[e.account]]
    present = [e for e in entries if e.nonce < chain_nonce[e.account]]
    report.on_chain = len(present)
    for entry in present:
        if entry.status in OPEN_STATUSES:
            receipt = _receipt_or_none(chain, entry.tx_hash)
            with transaction(sessions) as s:
                row = s.get(JournalEntry, entry.id)
                if receipt is None:
                    row.error = "nonce used on chain by a transaction not in the journal"
                    report.failed.append(entry.tx_hash)
                else:
                    _record_receipt(chain, row, receipt)
                    report.confirmed += 1
    if not missing:
        return report
    for entry in missing:
        if chain.dev_methods and entry.block_timestamp:
            head_ts = chain.w3.eth.get_block("latest")["timestamp"]
            try:
                chain.rpc("evm_setNextBlockTimestamp", [max(entry.block_timestamp, head_ts)])
            except RuntimeError as exc:  # the node's clock moved past it meanwhile: mine at "now"
                log.info("kept the node's timestamp for %s: %s", entry.tx_hash, exc)
        try:
            chain.w3.eth.send_raw_transaction(entry.raw_tx)
        except Web3RPCError as exc:
            if "already known" not in str(exc).lower():
                with transaction(sessions) as s:
                    s.get(JournalEntry, entry.id).error = f"resubmission refused: {exc}"[:2000]
                report.failed.append(entry.tx_hash)
                continue
        try:
            receipt = chain.w3.eth.wait_for_transaction_receipt(entry.tx_hash, timeout=receipt_timeout,
                                                                poll_latency=0.02)
        except TimeExhausted:
            report.failed.append(entry.tx_hash)
            with transaction(sessions) as s:
                s.get(JournalEntry, entry.id).status = SENT
            continue
        with transaction(sessions) as s:
            row = s.get(JournalEntry, entry.id)
            _record_receipt(chain, row, receipt)
            row.resubmissions += 1
        report.resubmitted += 1
    if chain.dev_methods:
        chain.rpc("evm_setTime", [int(time.time())])
    return report


def earliest_timestamp(sessions: sessionmaker[Session], chain_id: int) -> int | None:
    """The oldest block timestamp the journal recorded (the genesis time for a rebuilt dev chain)."""
    from sqlalchemy import func

    with sessions() as s:
        return s.scalar(select(func.min(JournalEntry.block_timestamp)).where(JournalEntry.chain_id == chain_id))
