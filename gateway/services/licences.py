"""Electronic licences: issue (one or bulk), suspend, reinstate, revoke, renew; documents, credentials,
presentations and verification. The LicenceRegistry contract is the authority; the gateway keeps
the wrapped documents (which hold the fields) and a copy of the status for listing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
import threading
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import bindparam, select, update

from chain.db import transaction
from chain.transactions import Calldata
from chain.journal import utcnow
from chain.roles import code_to_bytes32
from chain.errors import TransactionPending
from gateway.context import GatewayContext
from gateway.documents import openattestation as oa
from gateway.models import Licence
from gateway.verification.facts import ChainFacts
from gateway.verification.licences import Contracts, record_consistency, verify_licence

CST = timezone(timedelta(hours=8))
PENDING = "pending"  # written, transaction journaled but not yet confirmed
USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
FIELD_NAME = re.compile(r"^[a-z][A-Za-z0-9]{0,39}$")
RESERVED = {"issuers", "id", "licenceType", "licenceTypeName", "number", "holderUscc", "holderName",
            "issuerDepartment", "issuerDepartmentName", "validFrom", "validUntil", "validFromTimestamp",
            "validUntilTimestamp", "supersedes"}
ITEMS_PER_TRANSACTION = 50
MAX_BULK = 1000
RENDERER_IDENTITY = "alliance-ledger.local"


class LicenceError(ValueError):
    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass
class LicenceDraft:
    licence_type: str
    number: str
    holder_uscc: str
    holder_name: str
    valid_from: str
    valid_until: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- identifiers

@lru_cache(maxsize=8192)  # a bulk request asks for each licence's id several times (check, document, row)
def licence_id(licence_type: str, number: str) -> bytes:
    """keccak256(abi.encode(bytes32 type, string number)): the on-chain key of a licence."""
    return keccak(encode(["bytes32", "string"], [code_to_bytes32(licence_type), number]))


def holder_hash(hmac_key: bytes, uscc: str) -> bytes:
    """The enterprise as the chain sees it: an HMAC of its USCC under the alliance secret."""
    return hmac.new(hmac_key, b"uscc:" + uscc.encode("ascii"), hashlib.sha256).digest()


def _day_start(text: str, what: str) -> int:
    try:
        d = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise LicenceError("invalid_date", f"{what} must be a date like 2026-01-31, got {text!r}") from None
    return int(datetime(d.year, d.month, d.day, tzinfo=CST).timestamp())


def validity(draft: LicenceDraft) -> tuple[int, int]:
    """(valid from, valid until) as timestamps; until is exclusive: the day after the last valid day, 0 = none."""
    start = _day_start(draft.valid_from, "valid_from")
    end = _day_start(draft.valid_until, "valid_until") + 86400 if draft.valid_until else 0
    if end and end <= start:
        raise LicenceError("invalid_validity", "valid_until must not be before valid_from")
    return start, end


def check_draft(ctx: GatewayContext, draft: LicenceDraft) -> None:
    known = {lt.code for lt in ctx.ledger.spec.licence_types}
    if draft.licence_type not in known:
        raise LicenceError("unknown_licence_type", f"unknown licence type {draft.licence_type!r}; known: "
                           + ", ".join(sorted(known)))
    if not draft.number or len(draft.number) > 64 or not draft.number.isprintable():
        raise LicenceError("invalid_number", "licence number must be 1-64 printable characters")
    if not USCC.match(draft.holder_uscc or ""):
        raise LicenceError("invalid_uscc", f"holder_uscc {draft.holder_uscc!r} is not an 18-character unified "
                           "social credit code")
    if not draft.holder_name or len(draft.holder_name) > 200:
        raise LicenceError("invalid_holder_name", "holder_name must be 1-200 characters")
    for key, value in draft.fields.items():
        if not FIELD_NAME.match(key) or key in RESERVED:
            raise LicenceError("invalid_field", f"field name {key!r} is reserved or not camelCase letters/digits")
        if not isinstance(value, (str, int, float, bool)) or isinstance(value, float) and value != value:
            raise LicenceError("invalid_field", f"field {key!r} must be a string, number or boolean")
    validity(draft)


def raw_document(ctx: GatewayContext, draft: LicenceDraft, department: str, supersedes: str | None = None) -> dict:
    """The licence as an OpenAttestation v2 raw document (top-level fields, so any can be hidden)."""
    spec = ctx.ledger.spec
    lt = next(t for t in spec.licence_types if t.code == draft.licence_type)
    dept = spec.department(department)
    start, end = validity(draft)
    data: dict[str, Any] = {
        "issuers": [{"name": dept.name, "documentStore": ctx.ledger.contract("LicenceRegistry").address,
                     "identityProof": {"type": "DNS-TXT", "location": RENDERER_IDENTITY}}],
        "id": "0x" + licence_id(draft.licence_type, draft.number).hex(),
        "licenceType": lt.code, "licenceTypeName": lt.name, "number": draft.number,
        "holderUscc": draft.holder_uscc, "holderName": draft.holder_name,
        "issuerDepartment": dept.code, "issuerDepartmentName": dept.name,
        "validFrom": draft.valid_from, "validUntil": draft.valid_until or "",
        "validFromTimestamp": start, "validUntilTimestamp": end,
        **draft.fields,
    }
    if supersedes:
        data["supersedes"] = supersedes
    return data


# ---------------------------------------------------------------------------- lifecycle

def _contract(ctx: GatewayContext):
    return ctx.ledger.contract("LicenceRegistry")


def _item(ctx: GatewayContext, draft: LicenceDraft, target_hash: str) -> tuple:
    start, end = validity(draft)
    return (licence_id(draft.licence_type, draft.number), code_to_bytes32(draft.licence_type),
            holder_hash(ctx.hmac_key, draft.holder_uscc), bytes.fromhex(target_hash), start, end)


def _store_rows(ctx: GatewayContext, drafts: list[LicenceDraft], wrapped: list[dict], department: str,
                supersedes: str | None = None) -> list[str]:
    """Write the licences as ``pending`` BEFORE their transaction is sent: the salted documents must
    survive a transaction that is journaled but not yet confirmed (see ``settle_pending``)."""
    ids = []
    with transaction(ctx.sessions) as s:
        for draft, doc in zip(drafts, wrapped):
            start, end = validity(draft)
            row = Licence(id="0x" + licence_id(draft.licence_type, draft.number).hex(), number=draft.number,
                          licence_type=draft.licence_type, holder_uscc=draft.holder_uscc,
                          holder_name=draft.holder_name, issuer_department=department,
                          wrapped=json.dumps(doc, ensure_ascii=False),
                          target_hash="0x" + doc["signature"]["targetHash"],
                          merkle_root="0x" + doc["signature"]["merkleRoot"], valid_from=start, valid_until=end,
                          status=PENDING, supersedes=supersedes, tx_hash="", block_number=0, issued_at=0)
            s.add(row)
            ids.append(row.id)
    return ids


def _confirm_rows(ctx: GatewayContext, ids: list[str], tx_hash: str, block_number: int,
                  timestamp: int | None = None) -> list[Licence]:
    """Mark the pending rows ``ids`` valid as of their transaction (one UPDATE for all of them: rows
    settled meanwhile by the background task are left as they are) and return them, in ``ids``'
    order (None for a row that is gone). ``timestamp``: the block's, if the caller knows it."""
    if timestamp is None:
        timestamp = ctx.ledger.chain.w3.eth.get_block(block_number)["timestamp"]
    with transaction(ctx.sessions) as s:
        s.execute(update(Licence).where(Licence.id.in_(ids), Licence.status == PENDING)
                  .values(status="valid", tx_hash=tx_hash, block_number=block_number, issued_at=timestamp,
                          updated_at=utcnow()).execution_options(synchronize_session=False))
    with ctx.sessions() as s:
        found = {row.id: row for row in s.scalars(select(Licence).where(Licence.id.in_(ids)))}
    return [found.get(lid) for lid in ids]


def _drop_rows(ctx: GatewayContext, ids: list[str]) -> None:
    with transaction(ctx.sessions) as s:
        for lid in ids:
            row = s.get(Licence, lid)
            if row is not None and row.status == PENDING:
                s.delete(row)


def _send_with_rows(ctx: GatewayContext, account: LocalAccount, fn, purpose: str, ids: list[str]) -> list[Licence]:
    """Send the transaction for rows written as pending: confirm them, or remove them if it was refused.
    If it is journaled but unconfirmed, they stay pending and ``settle_pending`` finishes them."""
    try:
        result = ctx.ledger.txm.transact(account, fn, purpose)
    except TransactionPending:
        raise
    except BaseException:
        _drop_rows(ctx, ids)
        raise
    return _confirm_rows(ctx, ids, result.tx_hash, result.block_number, result.block_timestamp)


def settle_pending(ctx: GatewayContext) -> int:
    """Confirm pending licences whose transaction has since been mined (after a node restart), and drop
    those whose transaction never reached the journal's chain. Returns how many were confirmed."""
    from chain.journal import MINED, OPEN_STATUSES, JournalEntry

    with ctx.sessions() as s:
        pending = list(s.scalars(select(Licence).where(Licence.status == PENDING)))
    # a row is written a moment before its transaction is journaled (gas estimate, signing): only a row
    # older than this, with no journal entry at all, belongs to a request that died before sending
    grace = 2 * ctx.settings.chain.receipt_timeout + 60
    now = datetime.now(timezone.utc)
    confirmed = 0
    for row in pending:
        purpose = _purpose(row.merkle_root)
        with ctx.sessions() as s:
            entries = list(s.scalars(select(JournalEntry).where(JournalEntry.purpose == purpose)))
        mined = [e for e in entries if e.status == MINED]
        if mined:
            _confirm_rows(ctx, [row.id], mined[0].tx_hash, mined[0].block_number)
            if row.supersedes:
                _mark_superseded(ctx, row.supersedes, row.id)
            confirmed += 1
        elif not entries and (now - row.created_at.replace(tzinfo=row.created_at.tzinfo or timezone.utc)
                              ).total_seconds() > grace:
            _drop_rows(ctx, [row.id])
        elif entries and not any(e.status in OPEN_STATUSES for e in entries):
            _drop_rows(ctx, [row.id])  # journaled, but refused or reverted: never issued
    return confirmed


def _purpose(merkle_root: str) -> str:
    return f"licences batch {merkle_root}"


def issue(ctx: GatewayContext, account: LocalAccount, department: str, drafts: list[LicenceDraft]) -> list[Licence]:
    """Issue licences: all checked first, then one transaction per chunk of up to 50 (one Merkle batch each)."""
    if not drafts:
        raise LicenceError("empty_request", "no licences to issue")
    if len(drafts) > MAX_BULK:
        raise LicenceError("too_many", f"at most {MAX_BULK} licences per request")
    seen: set[bytes] = set()
    for draft in drafts:
        check_draft(ctx, draft)
        lid = licence_id(draft.licence_type, draft.number)
        if lid in seen:
            raise LicenceError("duplicate_in_request", f"{draft.licence_type} {draft.number} appears twice")
        seen.add(lid)
    with ctx.sessions() as s:
        existing = s.scalars(select(Licence.number).where(Licence.id.in_(["0x" + i.hex() for i in seen]))).all()
    if existing:
        raise LicenceError("licence_exists", f"already issued: {', '.join(existing[:5])}", 409)
    batches = []
    for start in range(0, len(drafts), ITEMS_PER_TRANSACTION):
        chunk = drafts[start:start + ITEMS_PER_TRANSACTION]
        wrapped = oa.wrap_documents([raw_document(ctx, d, department) for d in chunk])
        root = bytes.fromhex(wrapped[0]["signature"]["merkleRoot"])
        items = [_item(ctx, d, w["signature"]["targetHash"]) for d, w in zip(chunk, wrapped)]
        batches.append((chunk, wrapped, Calldata(_contract(ctx), "issueBatch", (root, items))))
    # all or nothing: a later chunk the contract would refuse (authority, an id already on chain) must be
    # found before the first chunk is sent (which the transaction manager checks itself), or the request
    # would leave the earlier chunks issued
    for _, _, fn in batches[1:]:
        _dry_run(ctx, account, fn)
    issued: list[Licence] = []
    for chunk, wrapped, fn in batches:
        ids = _store_rows(ctx, chunk, wrapped, department)
        issued += _send_with_rows(ctx, account, fn, _purpose("0x" + wrapped[0]["signature"]["merkleRoot"]), ids)
    return issued


def _dry_run(ctx: GatewayContext, account: LocalAccount, fn) -> None:
    """Call ``fn`` as ``account`` without sending it; a revert is raised as the contract's own error."""
    from chain.errors import revert_data
    from chain.transactions import REVERTS

    try:
        if isinstance(fn, Calldata):
            ctx.ledger.chain.w3.eth.call({"from": account.address, "to": fn.address, "data": fn.data})
        else:
            fn.call({"from": account.address})
    except REVERTS as exc:
        raise ctx.ledger.txm.decoder.decode(revert_data(exc)) from None


def get(ctx: GatewayContext, licence_id_hex: str) -> Licence:
    with ctx.sessions() as s:
        row = s.get(Licence, licence_id_hex.lower())
    if row is None:
        raise LicenceError("licence_not_found", f"no licence {licence_id_hex}", 404)
    return row


_ROW_BY_ID = select(Licence.__table__).where(Licence.__table__.c.id == bindparam("id"))


def record(ctx: GatewayContext, licence_id_hex: str) -> Any:
    """:func:`get` for reading only (verification): the row's columns as a plain row, without the
    ORM's identity map and unit of work — about a tenth of the time."""
    with ctx.sessions.kw["bind"].connect() as conn:
        row = conn.execute(_ROW_BY_ID, {"id": licence_id_hex.lower()}).first()
    if row is None:
        raise LicenceError("licence_not_found", f"no licence {licence_id_hex}", 404)
    return row


VERIFICATION_COLUMNS = ("id", "status", "target_hash", "valid_from", "valid_until", "wrapped")
VerificationRecord = namedtuple("VerificationRecord", VERIFICATION_COLUMNS)
_READERS_LOCK = threading.Lock()


class _SqliteReader:
    """Reads a licence's verification columns from the gateway's SQLite file over one connection of
    its own, in autocommit mode: every SELECT is its own read transaction, so it sees every
    transaction committed before it began (WAL), as a pooled connection does. SQLAlchemy's
    execution path (pool checkout and reset, compiled-statement cache, result object) costs several
    times the lookup itself, on the busiest public route."""

    SQL = f"SELECT {', '.join(VERIFICATION_COLUMNS)} FROM licences WHERE id = ?"

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def get(self, lid: str) -> VerificationRecord | None:
        with self._lock:
            conn = self._conn
            if conn is None:
                conn = self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                                    check_same_thread=False)
            try:
                found = conn.execute(self.SQL, (lid,)).fetchone()
            except sqlite3.Error:
                self._conn = None  # a broken connection is not used again
                conn.close()
                raise
        return None if found is None else VerificationRecord._make(found)


def _reader(ctx: GatewayContext) -> _SqliteReader | None:
    """The SQLite reader of the context's database (None: not a SQLite file; SQLAlchemy reads)."""
    engine = ctx.sessions.kw["bind"]
    found = vars(ctx).get("_verification_reader")
    if found is not None and found[0] is engine:
        return found[1]
    url = engine.url
    reader = None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:") and not url.query:
        reader = _SqliteReader(url.database)
    with _READERS_LOCK:
        vars(ctx)["_verification_reader"] = (engine, reader)
    return reader


def verification_record(ctx: GatewayContext, licence_id_hex: str) -> Any:
    """The columns of a licence's row a verdict reads (``VERIFICATION_COLUMNS``: its id, status,
    document hash, validity and wrapped document), read for each verdict — nothing is kept. On a
    SQLite database through :class:`_SqliteReader`, else as :func:`record` does."""
    lid = licence_id_hex.lower()
    reader = _reader(ctx)
    if reader is None:
        return record(ctx, lid)
    try:
        row = reader.get(lid)
    except sqlite3.Error:
        return record(ctx, lid)  # as before: through SQLAlchemy, which reports what is wrong
    if row is None:
        raise LicenceError("licence_not_found", f"no licence {licence_id_hex}", 404)
    return row


def find(ctx: GatewayContext, licence_type: str, number: str) -> Licence:
    return get(ctx, "0x" + licence_id(licence_type, number).hex())


def _set_status(ctx: GatewayContext, licence_id_hex: str, status: str, reason: int | None) -> Licence:
    with transaction(ctx.sessions) as s:
        row = s.get(Licence, licence_id_hex)
        row.status, row.reason_code = status, reason
    return get(ctx, licence_id_hex)


def _check_reason(reason: int) -> int:
    if not isinstance(reason, int) or not 0 < reason < 2**16:
        raise LicenceError("invalid_reason", "reason_code must be an integer from 1 to 65535")
    return reason


def suspend(ctx: GatewayContext, account: LocalAccount, lid: str, reason: int) -> Licence:
    get(ctx, lid)
    ctx.ledger.txm.transact(account, _contract(ctx).functions.suspend(bytes.fromhex(lid[2:]), _check_reason(reason)),
                            f"suspend licence {lid}")
    return _set_status(ctx, lid, "suspended", reason)


def reinstate(ctx: GatewayContext, account: LocalAccount, lid: str) -> Licence:
    get(ctx, lid)
    ctx.ledger.txm.transact(account, _contract(ctx).functions.reinstate(bytes.fromhex(lid[2:])),
                            f"reinstate licence {lid}")
    return _set_status(ctx, lid, "valid", None)


def revoke(ctx: GatewayContext, account: LocalAccount, lid: str, reason: int) -> Licence:
    get(ctx, lid)
    ctx.ledger.txm.transact(account, _contract(ctx).functions.revoke(bytes.fromhex(lid[2:]), _check_reason(reason)),
                            f"revoke licence {lid}")
    return _set_status(ctx, lid, "revoked", reason)


def renew(ctx: GatewayContext, account: LocalAccount, department: str, lid: str, draft: LicenceDraft) -> Licence:
    """Issue ``draft`` as the successor of licence ``lid``; the old one is superseded on chain."""
    old = get(ctx, lid)
    check_draft(ctx, draft)
    if draft.licence_type != old.licence_type or draft.holder_uscc != old.holder_uscc:
        raise LicenceError("renewal_mismatch", "a renewal keeps the licence type and the holder")
    new_id = "0x" + licence_id(draft.licence_type, draft.number).hex()
    with ctx.sessions() as s:
        if s.get(Licence, new_id) is not None:
            raise LicenceError("licence_exists", f"already issued: {draft.number}", 409)
    wrapped = oa.wrap_documents([raw_document(ctx, draft, department, supersedes=lid)])
    root = bytes.fromhex(wrapped[0]["signature"]["merkleRoot"])
    fn = _contract(ctx).functions.renew(bytes.fromhex(lid[2:]), root,
                                        _item(ctx, draft, wrapped[0]["signature"]["targetHash"]))
    ids = _store_rows(ctx, [draft], wrapped, department, supersedes=lid)
    (row,) = _send_with_rows(ctx, account, fn, _purpose("0x" + root.hex()), ids)
    _mark_superseded(ctx, lid, row.id)
    return row


def _mark_superseded(ctx: GatewayContext, old_id: str, new_id: str) -> None:
    with transaction(ctx.sessions) as s:
        prior = s.get(Licence, old_id)
        prior.status, prior.superseded_by = "superseded", new_id


# ---------------------------------------------------------------------------- views

def summary(row: Licence, chain_status: str | None = None) -> dict[str, Any]:
    return {"id": row.id, "number": row.number, "licence_type": row.licence_type, "holder_uscc": row.holder_uscc,
            "holder_name": row.holder_name, "issuer_department": row.issuer_department,
            "valid_from": row.valid_from, "valid_until": row.valid_until, "status": row.status,
            "chain_status": chain_status, "reason_code": row.reason_code, "supersedes": row.supersedes,
            "superseded_by": row.superseded_by, "target_hash": row.target_hash, "merkle_root": row.merkle_root,
            "tx_hash": row.tx_hash, "block_number": row.block_number, "issued_at": row.issued_at,
            "verify_url": f"/v/{row.id}", "qr_url": f"/v/{row.id}/qr.svg"}


def chain_status(ctx: GatewayContext, lid: str) -> str:
    from gateway.verification.licences import STATUS_NAMES

    return STATUS_NAMES[_contract(ctx).functions.statusOf(bytes.fromhex(lid[2:])).call()]


def of_holder(ctx: GatewayContext, uscc: str) -> list[Licence]:
    with ctx.sessions() as s:
        return list(s.scalars(select(Licence).where(Licence.holder_uscc == uscc).order_by(Licence.issued_at)))


def contracts(ctx: GatewayContext) -> Contracts:
    return Contracts(licences=_contract(ctx), registry=ctx.ledger.registry)


def document(row: Licence) -> dict[str, Any]:
    return json.loads(row.wrapped)


_FACTS_LOCK = threading.Lock()


def chain_facts(ctx: GatewayContext) -> ChainFacts:
    """The context's cache of chain facts for verdicts (made on first use; see
    ``gateway.verification.facts``), kept current by a head check before each verdict."""
    facts = vars(ctx).get("_chain_facts")
    live = contracts(ctx)
    if facts is None or facts.licences.address != live.licences.address \
            or facts.registry.address != live.registry.address:
        with _FACTS_LOCK:
            facts = vars(ctx).get("_chain_facts")
            if facts is None or facts.licences.address != live.licences.address \
                    or facts.registry.address != live.registry.address:
                facts = ChainFacts(live, ctx.settings.gateway.verify_max_staleness_ms)
                vars(ctx)["_chain_facts"] = facts
    return facts


def warm_verification(ctx: GatewayContext) -> int:
    """Read the chain facts of every licence this gateway holds into :func:`chain_facts` (at start,
    in the background): verdicts then need no chain reads but the shared head check. Returns the
    number of licences whose facts are kept."""
    with ctx.sessions() as s:
        ids = [bytes.fromhex(i[2:]) for i in s.scalars(select(Licence.id).where(Licence.status != PENDING))]
    return chain_facts(ctx).warm(ids)


def verify_document(ctx: GatewayContext, doc: dict[str, Any], *, fresh: bool = False,
                    row: Any = None) -> dict[str, Any]:
    """Verify a wrapped licence document; where the gateway holds the licence, its record is checked too.

    Chain facts come from :func:`chain_facts`, current as of the head after this call began (or
    ``fresh=True``: the caller has just waited for that). If the gateway's record then disagrees
    with them, everything is read again live from the node before tampering is reported, so a
    kept fact can never turn a verdict. ``row``: the gateway's record of the document, if the
    caller has it already.
    """
    facts = chain_facts(ctx)
    block = facts.block if fresh else facts.wait_fresh()
    try:
        data = oa.unsalt(doc)
    except Exception:  # noqa: BLE001 - the integrity fragment already says what is wrong
        data = None
    try:
        lid = "0x" + data["id"].removeprefix("0x").lower()  # type: ignore[index]
    except Exception:  # noqa: BLE001
        lid = None
    if row is not None and row.id != lid:
        row = None  # not this document's record: the one it names is checked
    if row is None and lid:
        try:
            row = verification_record(ctx, lid)
        except LicenceError:
            row = None
    sources = facts.contracts_for([doc], data=[data])
    verdict = verify_licence(doc, sources, data=data)
    if row is not None:
        consistency = record_consistency(row, sources)
        if consistency.status != "VALID" and consistency.status != "SKIPPED":
            sources, block = contracts(ctx), None  # the chain, read live, has the last word
            verdict = verify_licence(doc, sources)
            consistency = record_consistency(row, sources)
        verdict.fragments.append(consistency)
    out = verdict.to_dict()
    out["as_of_block"] = block  # the head the chain facts were current as of (None: read live)
    out["disclosed"] = {k: v for k, v in data.items() if k != "issuers"} if isinstance(data, dict) else {}
    return out


def bundle(ctx: GatewayContext, row: Licence, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """A proof bundle anyone can check offline against any node: ``alliance verify BUNDLE --rpc URL``."""
    return {"format": "alliance-ledger/licence-proof@1", "chain_id": ctx.ledger.chain.chain_id,
            "contracts": {"LicenceRegistry": _contract(ctx).address, "AllianceRegistry": ctx.ledger.registry.address},
            "document": doc or document(row), "anchor": {"tx_hash": row.tx_hash, "block_number": row.block_number}}


def presentation(ctx: GatewayContext, uscc: str, selections: dict[str, list[str]]) -> dict[str, Any]:
    """A verifiable presentation: the holder's chosen licences with chosen fields hidden (obfuscated)."""
    if not selections:
        raise LicenceError("empty_request", "choose at least one licence")
    documents = []
    for lid, hidden in selections.items():
        row = get(ctx, lid)
        if row.holder_uscc != uscc:
            raise LicenceError("not_holder", f"licence {lid} is not held by {uscc}", 403)
        protected = {"id", "licenceType", "issuerDepartment", "issuers", "validFromTimestamp", "validUntilTimestamp"}
        bad = [h for h in hidden if h in protected]
        if bad:
            raise LicenceError("field_required", f"fields {bad} are needed for verification and cannot be hidden")
        doc = document(row)
        try:
            documents.append(oa.obfuscate(doc, hidden) if hidden else doc)
        except ValueError as exc:
            raise LicenceError("unknown_field", str(exc)) from None
    return {"format": "alliance-ledger/presentation@1", "holder": uscc, "documents": documents,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def verifiable_credential(ctx: GatewayContext, row: Licence, base_url: str = "") -> dict[str, Any]:
    """The licence as a W3C Verifiable Credential 2.0; its status is read from the chain at the status URL
    (absolute under ``base_url``, the gateway's public address, as VC 2.0 wants URLs for ids)."""
    doc = document(row)
    data = oa.unsalt(doc)
    issued = datetime.fromtimestamp(row.issued_at, timezone.utc).isoformat().replace("+00:00", "Z")
    vc: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:alliance-ledger:licence:{row.id}",
        "type": ["VerifiableCredential", "AllianceLicenceCredential"],
        "issuer": {"id": f"urn:alliance-ledger:department:{row.issuer_department}",
                   "name": data.get("issuerDepartmentName")},
        "validFrom": datetime.fromtimestamp(row.valid_from, timezone.utc).isoformat().replace("+00:00", "Z"),
        "credentialSubject": {"id": f"urn:uscc:{row.holder_uscc}", "name": row.holder_name,
                              # the subject's id is the enterprise; the licence's own id is the VC's id
                              **{k: v for k, v in data.items() if k not in ("issuers", "id")}},
        "credentialStatus": {"id": f"{base_url.rstrip('/')}/licences/{row.id}/status",
                             "type": "AllianceLedgerLicenceStatus",
                             "statusPurpose": "revocation", "chainId": ctx.ledger.chain.chain_id,
                             "contract": _contract(ctx).address, "licenceId": row.id},
        "evidence": [{"type": "OpenAttestationV2", "targetHash": row.target_hash, "merkleRoot": row.merkle_root,
                      "transaction": row.tx_hash, "issued": issued}],
    }
    if row.valid_until:
        vc["validUntil"] = datetime.fromtimestamp(row.valid_until, timezone.utc).isoformat().replace("+00:00", "Z")
    return vc

