"""Ingesting source files onto the ledger, and querying attested facts with their provenance.

Ingest: parse → drop lines whose fact is already attested with the same value (so feeding a file
twice attests nothing new) → sign each attestation (EIP-712) with the source department's oracle
keys up to the data type's quorum → submit in batches (one ``submitMany`` per 100 facts) → record
every fact with its provenance: source department, file digest, line, signers, transaction.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from web3.logs import DISCARD

from chain.db import transaction
from chain.ledger import Ledger
from chain.roles import bytes32_to_code, code_to_bytes32, to_mask
from chain.structs import call_struct
from oracle.adapters import UnknownFileType, parse_bytes  # noqa: F401 (re-exported for callers)
from oracle.adapters.base import FileError
from oracle.attestations import message_for
from oracle.facts import canonical_json
from oracle.models import Fact, SourceFile
from oracle.signing import digest as attestation_digest
from oracle.signing import domain, sign

BATCH = 100


class OracleError(ValueError):
    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass
class IngestReport:
    file: str
    digest: str
    data_type: str
    source_department: str
    good_lines: int = 0
    attested: int = 0
    unchanged: int = 0
    transactions: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "digest": self.digest, "data_type": self.data_type,
                "source_department": self.source_department, "good_lines": self.good_lines,
                "bad_lines": len({e["line"] for e in self.errors}), "attested": self.attested,
                "unchanged": self.unchanged, "transactions": self.transactions, "errors": self.errors}


def source_of(ledger: Ledger, data_type: str) -> tuple[str, int]:
    """(source department, quorum) the alliance registry binds ``data_type`` to."""
    dept, quorum = ledger.registry.functions.dataSourceOf(code_to_bytes32(data_type)).call()
    if dept == b"\0" * 32:
        raise OracleError("unknown_data_type", f"no source department is registered for {data_type}")
    return bytes32_to_code(dept), quorum


def oracle_keys(ledger: Ledger, department: str, quorum: int) -> list[LocalAccount]:
    """The first ``quorum`` oracle keys of ``department`` held by this gateway."""
    keys = [ledger.keyring.account(m.alias) for m in ledger.spec.members
            if m.department == department and to_mask(m.roles) & to_mask(["oracle"]) and m.alias in ledger.keyring]
    if len(keys) < quorum:
        raise OracleError("no_source_key", f"this gateway holds {len(keys)} oracle key(s) of {department}; "
                          f"the quorum is {quorum}", 403)
    return keys[:quorum]


def _fact_key(fact: Any) -> str:
    return "|".join(fact.key())


def ingest(ledger: Ledger, hmac_key: bytes, raw: bytes, name: str, *, data_type: str | None = None,
           observed_at: int | None = None) -> IngestReport:
    """Attest the good lines of one source file; bad lines are reported with file, line and reason."""
    try:
        result = parse_bytes(raw, name, hmac_key=hmac_key, data_type=data_type)
    except (UnknownFileType, FileError) as exc:
        raise OracleError("unreadable_file", f"{name}: {exc}") from None
    department, quorum = source_of(ledger, result.data_type)
    keys = oracle_keys(ledger, department, quorum)
    observed = int(observed_at or time.time())
    report = IngestReport(file=name, digest=result.file_digest, data_type=result.data_type,
                          source_department=department, good_lines=len(result.good),
                          errors=[{"file": e.file, "line": e.line_no, "field": getattr(e, "field", None),
                                   "reason": e.reason} for e in result.errors])
    hub = ledger.contract("OracleHub")
    dom = domain(ledger.chain.chain_id, hub.address)
    fresh = []
    with ledger.sessions() as s:
        for line in result.good:
            value = canonical_json(line.fact)
            known = s.scalar(select(Fact.id).where(Fact.data_type == result.data_type,
                                                   Fact.fact_key == _fact_key(line.fact),
                                                   Fact.value == value.decode()).limit(1))
            if known is None:
                fresh.append(line)
            else:
                report.unchanged += 1
    for start in range(0, len(fresh), BATCH):
        chunk = fresh[start:start + BATCH]
        messages = [message_for(result, line, hmac_key, observed) for line in chunk]
        # accepted on chain but not recorded here (the process died between the two): record, don't resend
        done = [hub.functions.isAccepted(attestation_digest(dom, m)).call() for m in messages]
        if any(done):
            _record(ledger, result, department, name, observed, keys,
                    [(line, m) for line, m, d in zip(chunk, messages, done) if d], dom, None)
            report.attested += sum(done)
            chunk = [line for line, d in zip(chunk, done) if not d]
            messages = [m for m, d in zip(messages, done) if not d]
            if not chunk:
                continue
        items = [(m["dataType"], m["subject"], m["valueHash"], m["observedAt"], m["sourceDigest"], m["sourceLine"])
                 for m in messages]
        signatures = [[sign(k, dom, m) for k in keys] for m in messages]
        tx = ledger.txm.transact(keys[0], hub.functions.submitMany(items, signatures),
                                 f"attest {len(chunk)} {result.data_type} facts from {result.file_digest[:12]}")
        accepted = {bytes(e["args"]["digest"]) for e in
                    hub.events.AttestationAccepted().process_receipt(tx.receipt, errors=DISCARD)}
        pairs = [(line, m) for line, m in zip(chunk, messages) if attestation_digest(dom, m) in accepted]
        _record(ledger, result, department, name, observed, keys, pairs, dom, tx)
        report.attested += len(pairs)
        report.transactions.append(tx.tx_hash)
    with transaction(ledger.sessions) as s:
        s.add(SourceFile(digest=result.file_digest, name=name[:255], data_type=result.data_type,
                         source_department=department, good_lines=len(result.good),
                         bad_lines=len(result.error_lines), attested=report.attested, unchanged=report.unchanged,
                         errors=json.dumps(report.errors, ensure_ascii=False)))
    return report


def _record(ledger: Ledger, result: Any, department: str, name: str, observed: int, keys: list[LocalAccount],
            pairs: list[tuple[Any, dict[str, Any]]], dom: dict[str, Any], tx: Any) -> None:
    """Store accepted facts with their provenance (``tx`` None: accepted by an earlier, unrecorded run)."""
    with transaction(ledger.sessions) as s:
        for line, message in pairs:
            digest = attestation_digest(dom, message)
            s.add(Fact(data_type=result.data_type, uscc=line.fact.uscc, fact_key=_fact_key(line.fact),
                       subject="0x" + bytes(message["subject"]).hex(), value=canonical_json(line.fact).decode(),
                       value_hash="0x" + bytes(message["valueHash"]).hex(), observed_at=observed,
                       source_department=department, file_digest=result.file_digest, file_name=name[:255],
                       line_no=line.line_no, signers=json.dumps([k.address for k in keys]),
                       digest="0x" + digest.hex(), tx_hash=tx.tx_hash if tx else "",
                       block_number=tx.block_number if tx else 0))


# ---------------------------------------------------------------------------- queries

def _provenance(row: Fact) -> dict[str, Any]:
    return {"source_department": row.source_department, "file": row.file_name, "file_digest": row.file_digest,
            "line": row.line_no, "signers": json.loads(row.signers), "attestation": row.digest,
            "tx_hash": row.tx_hash, "block_number": row.block_number}


def _view(row: Fact, now: int) -> dict[str, Any]:
    return {"data_type": row.data_type, "key": row.fact_key, "value": json.loads(row.value),
            "observed_at": row.observed_at, "age_seconds": max(now - row.observed_at, 0),
            "provenance": _provenance(row)}


def latest(ledger: Ledger, uscc: str, max_age_seconds: int | None = None) -> dict[str, Any]:
    """The newest attested fact of each kind for an enterprise, with its age, provenance and whether
    the chain's latest value hash for the subject still matches it."""
    now = int(time.time())
    with ledger.sessions() as s:
        rows = list(s.scalars(select(Fact).where(Fact.uscc == uscc).order_by(Fact.observed_at, Fact.id)))
    newest: dict[tuple[str, str], Fact] = {}
    for row in rows:
        newest[(row.data_type, row.fact_key)] = row
    hub = ledger.contract("OracleHub")
    facts = []
    for row in newest.values():
        view = _view(row, now)
        on_chain = call_struct(hub.functions.latestFact(code_to_bytes32(row.data_type), bytes.fromhex(row.subject[2:])))
        view["accepted_on_chain"] = hub.functions.isAccepted(bytes.fromhex(row.digest[2:])).call()
        view["chain_latest_value_hash"] = "0x" + bytes(on_chain["valueHash"]).hex()
        view["stale"] = max_age_seconds is not None and view["age_seconds"] > max_age_seconds
        facts.append(view)
    return {"uscc": uscc, "facts": facts}


def history(ledger: Ledger, uscc: str, data_type: str | None = None) -> list[dict[str, Any]]:
    now = int(time.time())
    with ledger.sessions() as s:
        q = select(Fact).where(Fact.uscc == uscc)
        if data_type:
            q = q.where(Fact.data_type == data_type)
        return [_view(r, now) for r in s.scalars(q.order_by(Fact.observed_at, Fact.id))]


def changes(ledger: Ledger, uscc: str, since: int = 0) -> list[dict[str, Any]]:
    """Fields whose attested value changed after ``since`` (e.g. between application and payout)."""
    out = []
    by_key: dict[tuple[str, str], Fact] = {}
    with ledger.sessions() as s:
        rows = list(s.scalars(select(Fact).where(Fact.uscc == uscc).order_by(Fact.observed_at, Fact.id)))
    for row in rows:
        prior = by_key.get((row.data_type, row.fact_key))
        if prior is not None and row.observed_at >= since:
            before, after = json.loads(prior.value), json.loads(row.value)
            for name in sorted(set(before) | set(after)):
                if before.get(name) != after.get(name):
                    out.append({"data_type": row.data_type, "key": row.fact_key, "field": name,
                                "before": before.get(name), "after": after.get(name),
                                "observed_before": prior.observed_at, "observed_after": row.observed_at,
                                "provenance": _provenance(row)})
        by_key[(row.data_type, row.fact_key)] = row
    return out


def disagreements(ledger: Ledger, uscc: str) -> list[dict[str, Any]]:
    """Where two sources say different things about the same enterprise: the payee name in the bank's
    return file against the registered name (PAY2), and a registry status that is not active."""
    with ledger.sessions() as s:
        rows = list(s.scalars(select(Fact).where(Fact.uscc == uscc).order_by(Fact.observed_at, Fact.id)))
    registry = [r for r in rows if r.data_type == "ENTERPRISE_REGISTRY"]
    if not registry:
        return []
    reg = json.loads(registry[-1].value)
    out = []
    for row in rows:
        if row.data_type == "BANK_RETURN":
            value = json.loads(row.value)
            if value.get("payee_name") and value["payee_name"] != reg.get("name"):
                out.append({"kind": "payee_name_differs", "registry": reg.get("name"),
                            "bank_return": value["payee_name"], "sources": [_provenance(registry[-1]),
                                                                            _provenance(row)]})
    if reg.get("status") not in (None, "active"):
        out.append({"kind": "registry_status", "status": reg["status"], "sources": [_provenance(registry[-1])]})
    return out
