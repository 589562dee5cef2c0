"""Automatic verification (秒批): an applicant's declared facts against the registry attestations,
field by field, and the attested facts the eligibility rules are evaluated over.

Compared fields (:data:`FIELDS`): name, legal representative, registered capital, address and
business scope. A text field whose declared and attested values differ only in formatting —
full-width against half-width characters (NFKC), whitespace, punctuation, letter case — is
``format_only`` and counts as a match; any other difference is a ``mismatch``; a field the registry
has not attested is ``missing``. Every result carries the attested fact's provenance (source
department, file, file digest, line, attestation digest, transaction).

Fact names available to the eligibility rules (:func:`enterprise_facts`):

=========================  ==============================================================
``name``, ``legal_representative``, ``address``, ``business_scope``, ``status``,
``registered_district``, ``established`` (ISO date)                     ENTERPRISE_REGISTRY
``registered_capital_fen``                                              ENTERPRISE_REGISTRY
``age_years``  whole years since ``established`` (the chain's date)     ENTERPRISE_REGISTRY
``tax_year``, ``tax_paid_fen``, ``revenue_fen``, ``tax_credit_rating``   TAX_SUMMARY, latest year
``insured_month``, ``insured_headcount``                                 SOCIAL_INSURANCE, latest month
``licence_types``  types of the enterprise's licences valid now          LicenceRegistry
=========================  ==============================================================

An enterprise's licences (:func:`licences_of`) are found on chain, not in this gateway's licence table:
the LicenceRegistry records the holder as a keyed hash of the USCC (``oracle.keyed.subject_hash``) in
its ``LicenceIssued`` events, which the event indexer copies into ``chain_events``; the ids found there
for the enterprise's hash (and, for the blocks the index has not reached yet, in the node's logs) are
confirmed on chain in batched calls (status, type, holder). A licence another department's gateway
issued thus stands in for a material as well as this gateway's own; only its number and document stay
with the issuing department.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from eth_utils import event_abi_to_log_topic
from sqlalchemy import select

from chain.indexer import ChainEvent
from chain.roles import bytes32_to_code
from chain.structs import call_struct
from gateway.context import GatewayContext
from gateway.models import Licence
from oracle.keyed import subject_hash
from oracle.models import Fact

FIELDS = ("name", "legal_representative", "registered_capital_fen", "address", "business_scope")
# Figures the applicant declares on the form (上年度营业收入、纳税额、参保人数): not compared here (they do not decide
# 秒批) but kept with the application, where the audit's APP5 compares them with the tax and social-insurance
# attestations.
FIGURES = ("revenue_fen", "tax_paid_fen", "insured_staff")
MATCHING = ("match", "format_only")


@dataclass
class EnterpriseFacts:
    uscc: str
    values: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)  # fact name -> provenance
    licences: list[HeldLicence] = field(default_factory=list)  # valid now, on chain
    licence_discovery: dict[str, Any] = field(default_factory=dict)  # how far the chain was searched

    @property
    def registered(self) -> bool:
        return "name" in self.values


def _provenance(row: Fact) -> dict[str, Any]:
    return {"data_type": row.data_type, "source_department": row.source_department, "file": row.file_name,
            "file_digest": row.file_digest, "line": row.line_no, "attestation": row.digest, "tx_hash": row.tx_hash,
            "observed_at": row.observed_at}


@dataclass
class HeldLicence:
    """A licence the enterprise holds, as the chain proves it (id, type, issuing department, validity,
    status), with the number and holder name only when this gateway issued it (``source`` "gateway"):
    a licence another department's gateway issued (``source`` "chain") has its document and fields
    on that gateway alone."""

    id: str
    licence_type: str
    issuer_department: str
    valid_from: int
    valid_until: int  # 0 = no expiry
    issued_at: int
    chain_status: str
    source: str  # gateway | chain
    number: str | None = None
    holder_name: str | None = None

    def view(self) -> dict[str, Any]:
        out = {"id": self.id, "licence_type": self.licence_type, "issuer_department": self.issuer_department,
               "valid_from": self.valid_from, "valid_until": self.valid_until, "chain_status": self.chain_status,
               "source": self.source, "number": self.number, "holder_name": self.holder_name}
        if self.number is None:
            out["off_chain_fields"] = (f"the licence number, holder name and document are held by the issuing "
                                       f"department ({self.issuer_department}); the chain proves the id, type, "
                                       "issuing department, validity and status shown")
        return out


MAX_TAIL_BLOCKS = 200_000  # blocks past the event index scanned directly for LicenceIssued events
_TAIL_LOCK = threading.Lock()


@dataclass
class _Tail:
    """LicenceIssued events read straight from the node for blocks the event index has not reached yet,
    kept per gateway so that each request reads only the blocks that are new since the last one."""

    address: str
    scanned_to: int = -1
    by_holder: dict[str, set[str]] = field(default_factory=dict)  # holder hash -> licence ids


def _registry(ctx: GatewayContext):
    return ctx.ledger.contract("LicenceRegistry")


def _issued_topic(contract: Any) -> bytes:
    abi = next(i for i in contract.abi if i.get("type") == "event" and i.get("name") == "LicenceIssued")
    return event_abi_to_log_topic(abi)


def _index_state(ctx: GatewayContext) -> tuple[int, int]:
    """(last block the event index holds, first block of the deployment)."""
    ledger = ctx.ledger
    start = min(r.block_number for r in ledger.manifest.contracts.values()) if ledger.manifest else 0
    indexer = ledger.indexer
    return (indexer.cursor() if indexer is not None else start - 1), start


def _scan_tail(ctx: GatewayContext, frm: int, head: int) -> _Tail:
    """The LicenceIssued events of blocks ``frm``..``head`` not scanned yet (all holders)."""
    contract = _registry(ctx)
    with _TAIL_LOCK:
        tail = vars(ctx).get("_licence_tail")
        if tail is None or tail.address != contract.address or tail.scanned_to > head:
            tail = _Tail(address=contract.address)  # a new deployment, or a chain rebuilt shorter
            vars(ctx)["_licence_tail"] = tail
        start = max(frm, tail.scanned_to + 1)
        step = max(ctx.settings.chain.indexer_batch_blocks, 1)
        topic = "0x" + _issued_topic(contract).hex()
        event = contract.events.LicenceIssued()
        while start <= head:
            to = min(head, start + step - 1)
            for entry in ctx.ledger.chain.w3.eth.get_logs({"fromBlock": start, "toBlock": to,
                                                           "address": contract.address, "topics": [topic]}):
                args = event.process_log(entry)["args"]
                tail.by_holder.setdefault("0x" + bytes(args["holder"]).hex(), set()).add(
                    "0x" + bytes(args["id"]).hex())
            tail.scanned_to = to
            start = to + 1
        return tail


def discover_licence_ids(ctx: GatewayContext, holders: list[str]) -> tuple[dict[str, set[str]], dict[str, Any]]:
    """Ids of the licences ever issued to each holder hash (``0x``-hex keyed hash of a USCC) found on
    chain: in the event index (``chain_events``, every gateway indexes the whole shared chain) and, for
    the blocks the index has not reached yet, read from the node. Returns (holder -> ids, how far the
    discovery reached)."""
    contract = _registry(ctx)
    cursor, start = _index_state(ctx)
    head = ctx.ledger.chain.head()
    found: dict[str, set[str]] = {h: set() for h in holders}
    q = (select(ChainEvent.args).where(ChainEvent.chain_id == ctx.ledger.chain.chain_id,
                                       ChainEvent.address == contract.address,
                                       ChainEvent.event == "LicenceIssued", ChainEvent.block_number <= cursor))
    if len(holders) == 1:
        q = q.where(ChainEvent.args.contains(f'"holder": "{holders[0]}"'))
    with ctx.sessions() as s:
        for text in s.scalars(q):
            args = json.loads(text)
            if args.get("holder") in found:
                found[args["holder"]].add(args["id"])
    lag = max(head - cursor, 0)
    discovery: dict[str, Any] = {"indexed_to_block": cursor, "head_block": head, "lag_blocks": lag,
                                 "source": "chain_events", "complete": True}
    if lag:
        frm = max(cursor + 1, start)
        if head - frm + 1 > MAX_TAIL_BLOCKS:
            discovery["complete"] = False
            discovery["note"] = (f"the event index is {lag} blocks behind the chain head: licences issued after "
                                 f"block {cursor} by other departments may be missing")
        else:
            tail = _scan_tail(ctx, frm, head)
            for h in holders:
                found[h] |= tail.by_holder.get(h, set())
            discovery["note"] = (f"the event index is {lag} blocks behind the chain head: blocks {frm}-{head} "
                                 "were read from the node directly")
    return found, discovery


def read_licences(ctx: GatewayContext, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each licence's on-chain record and effective status now, read in JSON-RPC batches:
    id -> {"record": getLicence as a dict, "status": name}; an id the chain does not know is left out."""
    from gateway.verification.licences import STATUS_NAMES
    from gateway.verification.prefetch import Prefetch

    contract = _registry(ctx)
    ahead = Prefetch()
    keys = {lid: bytes.fromhex(lid[2:]) for lid in ids}
    for key in keys.values():
        ahead.want(contract, "getLicence", key)
        ahead.want(contract, "statusOf", key)
    ahead.fetch()
    reader = ahead.contract(contract)
    out = {}
    for lid, key in keys.items():
        code = reader.functions.statusOf(key).call()
        if code == 0:
            continue
        record = call_struct(reader.functions.getLicence(key))
        out[lid] = {"record": record, "status": STATUS_NAMES[code] if code < len(STATUS_NAMES) else str(code)}
    return out


def licences_of(ctx: GatewayContext, usccs: list[str], only_valid: bool = True
                ) -> tuple[dict[str, list[HeldLicence]], dict[str, Any]]:
    """The licences each enterprise holds, valid now (``only_valid``) by the chain: discovered from the
    chain's LicenceIssued events by the keyed holder hash (whichever department's gateway issued
    them), the gateway's own licence rows adding their off-chain fields (number, holder name), and
    every one confirmed on chain (status, type, holder) in batched calls."""
    holder_of = {"0x" + subject_hash(ctx.hmac_key, u).hex(): u for u in usccs}
    found, discovery = discover_licence_ids(ctx, list(holder_of))
    with ctx.sessions() as s:  # fast path: the licences this gateway issued (their fields are here)
        local = {row.id: row for row in s.scalars(select(Licence).where(Licence.holder_uscc.in_(usccs),
                                                                        Licence.status != "pending"))}
    ids = sorted({i for v in found.values() for i in v} | set(local))
    records = read_licences(ctx, ids)
    out: dict[str, list[HeldLicence]] = {u: [] for u in usccs}
    for lid in ids:
        got = records.get(lid)
        if got is None:
            continue
        rec = got["record"]
        uscc = holder_of.get("0x" + bytes(rec["holder"]).hex())
        if uscc is None or (only_valid and got["status"] != "valid"):
            continue  # a local row whose holder the chain does not confirm is not the enterprise's
        row = local.get(lid)
        out[uscc].append(HeldLicence(
            id=lid, licence_type=bytes32_to_code(rec["licenceType"]), issuer_department=bytes32_to_code(
                rec["department"]), valid_from=int(rec["validFrom"]), valid_until=int(rec["validUntil"]),
            issued_at=int(rec["issuedAt"]), chain_status=got["status"], source="gateway" if row else "chain",
            number=row.number if row else None, holder_name=row.holder_name if row else None))
    for held in out.values():
        held.sort(key=lambda h: (h.issued_at, h.id))
    discovery["licences_checked"] = len(ids)
    return out, discovery


def valid_licences(ctx: GatewayContext, uscc: str) -> list[HeldLicence]:
    """The enterprise's licences that are valid now on chain, whichever department issued them."""
    return licences_of(ctx, [uscc])[0][uscc]


FACT_TYPES = ("ENTERPRISE_REGISTRY", "TAX_SUMMARY", "SOCIAL_INSURANCE")


def enterprise_facts(ctx: GatewayContext, uscc: str, today: date | None = None,
                     with_licences: bool = True) -> EnterpriseFacts:
    """The latest attested facts of an enterprise (and its valid licences), flattened for the rules."""
    with ctx.sessions() as s:
        rows = list(s.scalars(select(Fact).where(Fact.uscc == uscc, Fact.data_type.in_(FACT_TYPES))
                              .order_by(Fact.observed_at, Fact.id)))
    out = _fold(uscc, rows, today or chain_today(ctx))
    if with_licences:
        _add_licences(ctx, out)
    return out


def all_enterprise_facts(ctx: GatewayContext, today: date | None = None,
                         with_licences: bool = False) -> dict[str, EnterpriseFacts]:
    """:func:`enterprise_facts` of every enterprise with a registry attestation, read in one query."""
    with ctx.sessions() as s:
        rows = list(s.scalars(select(Fact).where(Fact.data_type.in_(FACT_TYPES)).order_by(Fact.observed_at, Fact.id)))
    by_uscc: dict[str, list[Fact]] = {}
    for row in rows:
        by_uscc.setdefault(row.uscc, []).append(row)
    out = {}
    today = today or chain_today(ctx)
    for uscc in sorted(by_uscc):
        facts = _fold(uscc, by_uscc[uscc], today)
        if facts.registered:
            out[uscc] = facts
    if with_licences and out:
        held, discovery = licences_of(ctx, list(out))
        for uscc, facts in out.items():
            _put_licences(facts, held[uscc], discovery)
    return out


def chain_today(ctx: GatewayContext) -> date:
    """The district's date at the chain's latest block (the time every step is recorded in)."""
    from gateway.subsidies.calendar import WorkCalendar

    ts = ctx.ledger.chain.now()
    return WorkCalendar.from_settings(ctx.settings.calendar).local_date(ts)


def _add_licences(ctx: GatewayContext, out: EnterpriseFacts) -> None:
    held, discovery = licences_of(ctx, [out.uscc])
    _put_licences(out, held[out.uscc], discovery)


def _put_licences(out: EnterpriseFacts, held: list[HeldLicence], discovery: dict[str, Any]) -> None:
    out.licences = held
    out.licence_discovery = discovery
    out.values["licence_types"] = sorted({lic.licence_type for lic in out.licences})
    out.provenance["licence_types"] = {"source": "LicenceRegistry", "licences": [lic.id for lic in out.licences],
                                       "indexed_to_block": discovery.get("indexed_to_block")}


def _fold(uscc: str, rows: list[Fact], today: date) -> EnterpriseFacts:
    """The newest registry entry, tax year and social-insurance month among ``rows`` (oldest first)."""
    out = EnterpriseFacts(uscc=uscc)
    latest: dict[str, Fact] = {}
    for row in rows:
        if row.data_type == "ENTERPRISE_REGISTRY":
            latest["ENTERPRISE_REGISTRY"] = row
        elif row.data_type == "TAX_SUMMARY":
            prior = latest.get("TAX_SUMMARY")
            if prior is None or json.loads(row.value)["year"] >= json.loads(prior.value)["year"]:
                latest["TAX_SUMMARY"] = row
        elif row.data_type == "SOCIAL_INSURANCE":
            prior = latest.get("SOCIAL_INSURANCE")
            if prior is None or json.loads(row.value)["month"] >= json.loads(prior.value)["month"]:
                latest["SOCIAL_INSURANCE"] = row

    def put(name: str, value: Any, row: Fact) -> None:
        out.values[name] = value
        out.provenance[name] = _provenance(row)

    if (row := latest.get("ENTERPRISE_REGISTRY")) is not None:
        v = json.loads(row.value)
        for name in ("name", "legal_representative", "address", "business_scope", "status", "registered_district",
                     "established"):
            put(name, v.get(name), row)
        put("registered_capital_fen", v.get("registered_capital"), row)
        if v.get("established"):
            est = date.fromisoformat(v["established"])
            put("age_years", today.year - est.year - ((today.month, today.day) < (est.month, est.day)), row)
    if (row := latest.get("TAX_SUMMARY")) is not None:
        v = json.loads(row.value)
        put("tax_year", v["year"], row)
        put("tax_paid_fen", v["tax_paid"], row)
        put("revenue_fen", v["revenue"], row)
        put("tax_credit_rating", v["tax_credit_rating"], row)
    if (row := latest.get("SOCIAL_INSURANCE")) is not None:
        v = json.loads(row.value)
        put("insured_month", v["month"], row)
        put("insured_headcount", v["insured_headcount"], row)
    return out


def prefill(facts: EnterpriseFacts) -> dict[str, Any]:
    """The declared fields as the gateway pre-fills them from the registry attestation."""
    return {name: facts.values.get(name) for name in FIELDS}


# ---------------------------------------------------------------------------- comparison

def normalise(value: Any) -> str:
    """NFKC (full-width → half-width), no whitespace, no punctuation, case-folded."""
    text = unicodedata.normalize("NFKC", str(value))
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P")).casefold()


def compare(name: str, declared: Any, attested: Any) -> str:
    if attested is None:
        return "missing"
    if declared is None:
        return "mismatch"
    if name == "registered_capital_fen":
        return "match" if isinstance(declared, int) and declared == attested else "mismatch"
    if str(declared) == str(attested):
        return "match"
    return "format_only" if normalise(declared) == normalise(attested) else "mismatch"


def verify_fields(declared: dict[str, Any], facts: EnterpriseFacts) -> list[dict[str, Any]]:
    """One result per compared field: declared, attested, outcome and the attested fact's provenance."""
    out = []
    for name in FIELDS:
        attested = facts.values.get(name)
        out.append({"field": name, "declared": declared.get(name), "attested": attested,
                    "outcome": compare(name, declared.get(name), attested),
                    "provenance": facts.provenance.get(name, {})})
    return out


def all_match(results: list[dict[str, Any]]) -> bool:
    return all(r["outcome"] in MATCHING for r in results)
