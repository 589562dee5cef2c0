"""Fragments for a licence document (an OpenAttestation v2 wrapped document).

Each fragment reads only the document and the chain, so the same code runs inside the gateway
and in ``alliance verify BUNDLE --rpc URL`` on any machine that can reach a node.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from chain.roles import bytes32_to_code, code_to_bytes32
from chain.structs import call_struct
from gateway.documents import openattestation as oa
from gateway.verification.verdict import INVALID, VALID, Fragment, Verdict, run

STATUS_NAMES = ("none", "valid", "suspended", "revoked", "expired", "superseded", "not_yet_valid")


@dataclass(frozen=True)
class Contracts:
    """The contracts a licence verdict reads."""

    licences: Any  # LicenceRegistry
    registry: Any  # AllianceRegistry


def _hex32(value: str) -> bytes:
    raw = bytes.fromhex(value[2:] if value.startswith("0x") else value)
    if len(raw) != 32:
        raise ValueError(f"{value!r} is not a 32-byte hash")
    return raw


def licence_id_of(data: dict[str, Any]) -> bytes:
    return _hex32(str(data["id"]))


def verify_licence(document: dict[str, Any], contracts: Contracts, now: int | None = None) -> Verdict:
    """Integrity, anchoring, status, validity and issuer authority of a wrapped licence document."""
    now = int(time.time()) if now is None else now
    state: dict[str, Any] = {}

    def integrity():
        try:
            intact = oa.verify_signature(document)
        except oa.OpenAttestationError as exc:
            return INVALID, f"not a well-formed OpenAttestation v2 document: {exc}", {}
        if not intact:
            return INVALID, "the document was altered: its fields do not hash to the signed targetHash and root", {}
        state["data"] = oa.unsalt(document)
        return VALID, "fields, targetHash and Merkle proof are consistent", {}

    def on_chain_record():
        data = state.get("data") or oa.unsalt(document)
        state["data"] = data
        record = call_struct(contracts.licences.functions.getLicence(licence_id_of(data)))
        if record["status"] == 0:
            return INVALID, f"no licence {data['id']} is recorded on chain", {}
        state["record"] = record
        target = "0x" + document["signature"]["targetHash"].removeprefix("0x")
        if "0x" + bytes(record["targetHash"]).hex() != target.lower():
            return INVALID, "the chain records a different document for this licence", {}
        if bytes32_to_code(record["licenceType"]) != data.get("licenceType"):
            return INVALID, "the document's licence type differs from the chain's", {}
        return VALID, "the chain records this document for this licence", {}

    def issued():
        root = _hex32(document["signature"]["merkleRoot"])
        if not contracts.licences.functions.isIssued(root).call():
            return INVALID, "the document's Merkle root is not anchored in the licence registry", {}
        block = contracts.licences.functions.getIssuedBlock(root).call()
        return VALID, f"anchored in block {block}", {"block_number": block}

    def status():
        data = state.get("data") or oa.unsalt(document)
        code = contracts.licences.functions.statusOf(licence_id_of(data)).call()
        name = STATUS_NAMES[code] if code < len(STATUS_NAMES) else str(code)
        record = state.get("record") or {}
        extra = {"status": name, "reason_code": record.get("reason")}
        if name == "superseded":
            extra["superseded_by"] = "0x" + bytes(record.get("supersededBy", b"")).hex()
        if name != "valid":
            return INVALID, f"the licence is {name.replace('_', ' ')}", extra
        return VALID, "valid: not suspended, revoked, superseded or expired", extra

    def validity():
        record = state.get("record")
        if record is None:
            return INVALID, "no on-chain record to check the validity period against", {}
        data = state["data"]
        frm, until = record["validFrom"], record["validUntil"]
        if int(data.get("validFromTimestamp", frm)) != frm or int(data.get("validUntilTimestamp", until)) != until:
            return INVALID, "the document's validity period differs from the chain's", {}
        if now < frm:
            return INVALID, "not yet valid", {"valid_from": frm}
        if until and now >= until:
            return INVALID, "expired", {"valid_until": until}
        return VALID, "within its validity period", {"valid_from": frm, "valid_until": until}

    def authority():
        record = state.get("record")
        if record is None:
            return INVALID, "no on-chain record of the issuer", {}
        data = state["data"]
        dept = bytes32_to_code(record["department"])
        if data.get("issuerDepartment") != dept:
            return INVALID, f"the document names {data.get('issuerDepartment')} but {dept} issued it", {}
        stores = {str(i.get("documentStore", "")).lower() for i in data.get("issuers", [])}
        if contracts.licences.address.lower() not in stores:
            return INVALID, "the document names another document store as its issuer", {}
        authorised = contracts.registry.functions.wasAuthorisedIssuerAt(
            code_to_bytes32(data["licenceType"]), record["department"], record["issuedAt"]).call()
        if not authorised:
            return INVALID, f"{dept} was not authorised to issue {data['licenceType']} when it did", {}
        return VALID, f"{dept} was authorised for {data['licenceType']} at issuance", {"department": dept}

    return Verdict([
        run("OpenAttestationHash", "DOCUMENT_INTEGRITY", integrity),
        run("LicenceRecord", "DOCUMENT_INTEGRITY", on_chain_record),
        run("LicenceIssued", "DOCUMENT_STATUS", issued),
        run("LicenceStatus", "DOCUMENT_STATUS", status),
        run("LicenceValidity", "DOCUMENT_STATUS", validity),
        run("IssuerAuthority", "ISSUER_IDENTITY", authority),
    ])


def record_consistency(db_row: Any, contracts: Contracts) -> Fragment:
    """The gateway's row must agree with the chain; a disagreement is a tamper finding."""
    if db_row.status == "pending":
        return Fragment("RecordConsistency", "RECORD_CONSISTENCY", "SKIPPED",
                        "the gateway's record awaits confirmation of its transaction")
    try:
        record = call_struct(contracts.licences.functions.getLicence(_hex32(db_row.id)))
        code = contracts.licences.functions.statusOf(_hex32(db_row.id)).call()
    except Exception as exc:  # noqa: BLE001
        return Fragment("RecordConsistency", "RECORD_CONSISTENCY", "ERROR", f"{type(exc).__name__}: {exc}")
    problems = []
    if "0x" + bytes(record["targetHash"]).hex() != db_row.target_hash.lower():
        problems.append("document hash")
    effective = STATUS_NAMES[code]
    if effective in ("expired", "not_yet_valid"):  # time-derived; the gateway stores the lifecycle status
        effective = {1: "valid", 2: "suspended", 3: "revoked"}.get(record["status"], "none")
    if effective != db_row.status:
        problems.append(f"status (gateway says {db_row.status}, chain says {effective})")
    if record["validFrom"] != db_row.valid_from or record["validUntil"] != db_row.valid_until:
        problems.append("validity period")
    if problems:
        return Fragment("RecordConsistency", "RECORD_CONSISTENCY", INVALID,
                        "tampering: the gateway's record differs from the chain in " + ", ".join(problems))
    return Fragment("RecordConsistency", "RECORD_CONSISTENCY", VALID, "the gateway's record matches the chain")
