"""Evidence packs: a ZIP an inspector exports for an alert or a case and checks offline.

Contents:

* ``alerts/<alert id>.json`` — per alert: the alert (who, what, when), each fact field with its
  source department (the oracle's provenance as the rule recorded it), the history with the values
  before and after each change, every anchored version of the alert record with its Merkle proof and
  the anchoring transaction, the dispositions (who signed what, the note and its on-chain hash and
  transaction), the hold and the case with its steps;
* ``manifest.json`` — format, scope, chain id, contract addresses, alert and record counts, the first
  and last time, and the SHA-256 of every other file;
* ``VERIFY.txt`` — how to check it.

``check_pack`` needs only the ZIP and any node of the chain (no gateway, no database): digests,
record hashes, Merkle proofs against AuditTrail's anchored roots, the contracts' code, dispositions
and case steps against their transactions' events, holds against AuditHolds. ``alliance audit
check-pack PACK.zip --rpc URL`` runs it (exit 0 valid, 1 invalid, 2 unusable input or node).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from audit import alerts as store
from audit import cases as case_store
from audit import routing
from audit.models import AuditBatch, AuditRecord
from gateway.documents.merkle import verify_proof

FORMAT = "alliance-ledger/audit-evidence@1"
MANIFEST = "manifest.json"
DISPOSITION_KINDS = {v: k for k, v in routing.DISPOSITIONS.items()}
STEP_KINDS = {**{v: k for k, v in case_store.STEPS.items()}, case_store.ESCALATED_STEP: "escalated"}


class PackError(ValueError):
    """The pack cannot be read at all (not a ZIP, no manifest, wrong format)."""


def _json(obj: Any) -> bytes:
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")


def field_sources(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """Each fact field with its value and source department (``source.department``,
    ``source_department`` or a plain ``source`` string, as the rule recorded the provenance)."""
    out = []
    for name in sorted(facts):
        value = facts[name]
        source: Any = None
        department = None
        if isinstance(value, dict):
            source = value.get("source")
            department = value.get("source_department")
            if isinstance(source, dict):
                department = department or source.get("department")
            elif isinstance(source, str):
                department = department or source
            shown = value.get("value", {k: v for k, v in value.items() if k not in ("source", "source_department")})
        else:
            shown = value
        out.append({"name": name, "value": shown, "source_department": department or "unknown", "source": source})
    return out


def _with_oracle_provenance(env: routing.AuditEnv, fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fields that name an attested oracle fact (``source.digest`` / ``fact_digest``) get the fact's source
    department, file and line from the oracle's provenance table."""
    from oracle.models import Fact

    for f in fields:
        src = f["source"] if isinstance(f["source"], dict) else {}
        digest = src.get("digest") or src.get("fact_digest")
        if not digest:
            continue
        with env.sessions() as s:
            fact = s.query(Fact).filter(Fact.digest == digest).one_or_none()
        if fact is not None:
            f["source_department"] = fact.source_department
            f["source"] = {**src, "department": fact.source_department, "file": fact.file_name,
                           "line": fact.line_no, "tx_hash": fact.tx_hash, "data_type": fact.data_type}
    return fields


def _changes(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Field-level before/after values of every change in the history."""
    out = []
    for h in history:
        before = json.loads(h["facts_before"]) if h.get("facts_before") else {}
        after = json.loads(h["facts_after"]) if h.get("facts_after") else {}
        if h["kind"] == "cleared":
            after = {}
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                out.append({"at": h["at"], "kind": h["kind"], "field": name, "before": before.get(name),
                            "after": after.get(name)})
        if h.get("level_before") != h.get("level_after") and h.get("level_after") is not None:
            out.append({"at": h["at"], "kind": h["kind"], "field": "level", "before": h.get("level_before"),
                        "after": h.get("level_after")})
    return out


def alert_file(env: routing.AuditEnv, alert_id: str, now: int) -> dict[str, Any]:
    alert = store.get(env.sessions, alert_id)
    history = [{"kind": e.kind, "at": e.at, "level_before": e.level_before, "level_after": e.level_after,
                "facts_before": e.facts_before, "facts_after": e.facts_after, "rule_version": e.rule_version,
                "actor": e.actor, "note": e.note, "tx_hash": e.tx_hash} for e in store.events_of(env.sessions, alert)]
    records = []
    with env.sessions() as s:
        for rec in s.query(AuditRecord).filter(AuditRecord.alert_pk == alert.id).order_by(AuditRecord.version):
            batch = s.get(AuditBatch, rec.batch_pk) if rec.batch_pk else None
            records.append({"version": rec.version, "record": rec.record, "record_hash": rec.record_hash,
                            "leaf": rec.leaf, "root": batch.root if batch else None,
                            "proof": json.loads(rec.proof) if rec.proof else None,
                            "tx_hash": batch.tx_hash if batch else None,
                            "block_number": batch.block_number if batch else None,
                            "anchored_at": batch.anchored_at if batch else None})
    case = case_store.of_alert(env.sessions, alert)
    return {
        "alert": store.summary(alert),
        "fields": _with_oracle_provenance(env, field_sources(json.loads(alert.facts))),
        "history": history,
        "changes": _changes(history),
        "records": records,
        "dispositions": [{"kind": d.kind, "member": d.member, "department": d.department, "note": d.note,
                          "note_hash": d.note_hash, "amount_recovered_fen": d.amount_recovered_fen,
                          "tx_hash": d.tx_hash, "block_number": d.block_number, "at": d.at}
                         for d in routing.dispositions_of(env.sessions, alert)],
        "hold": {"status": alert.hold_status, "application_id": alert.application_id, "tx_hash": alert.hold_tx},
        "case": case_store.summary(env, case, now) if case else None,
    }


def build_pack(env: routing.AuditEnv, now: int, *, alert_ids: list[str] | None = None,
               case_id: str | None = None) -> bytes:
    """The ZIP of an alert (or several) or of a case; pending records are anchored first."""
    if case_id is not None:
        case = case_store.get(env.sessions, case_id)
        with env.sessions() as s:
            from audit.models import AuditAlert

            alert_ids = [s.get(AuditAlert, case.alert_pk).alert_id]
        scope = {"kind": "case", "case_id": case.case_id, "alert_ids": alert_ids}
    else:
        if not alert_ids:
            raise store.AlertError("empty_scope", "name at least one alert or a case")
        alert_ids = [store.get(env.sessions, a).alert_id for a in alert_ids]
        scope = {"kind": "alert", "alert_ids": alert_ids}
    chain = routing._chain(env)
    routing.anchor_pending(env)
    files: dict[str, bytes] = {}
    times: list[int] = []
    record_count = 0
    for aid in alert_ids:
        content = alert_file(env, aid, now)
        files[f"alerts/{aid}.json"] = _json(content)
        record_count += len(content["records"])
        times += _times(content)
    files["VERIFY.txt"] = (
        "Alliance Ledger audit evidence pack.\n\n"
        "Check it offline against any node of the alliance chain (no gateway or database needed):\n\n"
        "    alliance audit check-pack THIS.zip --rpc http://NODE:8545\n\n"
        "Exit 0: every digest, record, Merkle proof, disposition, case step and hold matches the chain.\n"
        "Exit 1: something does not match (the report names it). Exit 2: the pack or node is unusable.\n"
    ).encode()
    manifest = {
        "format": FORMAT, "scope": scope, "chain_id": chain.chain_id, "contracts": chain.addresses(),
        "alert_count": len(alert_ids), "record_count": record_count,
        "first_time": min(times) if times else None, "last_time": max(times) if times else None,
        "created_at": now,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, _json(manifest))
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    return buffer.getvalue()


def _times(content: dict[str, Any]) -> list[int]:
    out = [h["at"] for h in content["history"]] + [d["at"] for d in content["dispositions"]]
    if content.get("case"):
        out += [st["at"] for st in content["case"]["steps"]]
    return [t for t in out if t is not None]


# ---------------------------------------------------------------------------- offline check

@dataclass
class Check:
    name: str
    valid: bool
    reason: str


@dataclass
class PackVerdict:
    checks: list[Check] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.valid for c in self.checks)

    def add(self, name: str, valid: bool, reason: str) -> None:
        self.checks.append(Check(name, valid, reason))

    def to_dict(self) -> dict[str, Any]:
        return {"status": "VALID" if self.valid else "INVALID",
                "checks": [{"name": c.name, "status": "VALID" if c.valid else "INVALID", "reason": c.reason}
                           for c in self.checks]}


def read_pack(data: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(manifest, files) of a pack; raises PackError when it is not a readable pack."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            files = {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackError(f"not a ZIP file: {exc}") from None
    if MANIFEST not in files:
        raise PackError("the ZIP holds no manifest.json")
    try:
        manifest = json.loads(files.pop(MANIFEST))
    except ValueError as exc:
        raise PackError(f"manifest.json is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        fmt = manifest.get("format") if isinstance(manifest, dict) else None
        raise PackError(f"not an audit evidence pack (format {fmt!r})")
    return manifest, files


def check_pack(data: bytes, w3: Any) -> PackVerdict:
    """Check a pack against the chain that ``w3`` reaches. Raises PackError for an unreadable pack."""
    from chain import artifacts

    manifest, files = read_pack(data)
    verdict = PackVerdict()
    listed = manifest.get("files") or {}
    for name in sorted(set(listed) | set(files)):
        if name not in files:
            verdict.add(f"digest {name}", False, "listed in the manifest but missing from the pack")
        elif name not in listed:
            verdict.add(f"digest {name}", False, "in the pack but not listed in the manifest")
        else:
            actual = hashlib.sha256(files[name]).hexdigest()
            verdict.add(f"digest {name}", actual == listed[name],
                        "SHA-256 matches the manifest" if actual == listed[name]
                        else f"SHA-256 is {actual}, the manifest says {listed[name]} (the file was changed)")
    chain_id = int(w3.eth.chain_id)
    if chain_id != manifest.get("chain_id"):
        verdict.add("chain", False,
                    f"the node is on chain {chain_id}, the pack is for chain {manifest.get('chain_id')}")
        return verdict
    contracts = {}
    for name in ("AuditTrail", "AuditHolds"):
        try:
            address = to_checksum_address(manifest["contracts"][name])
        except (KeyError, ValueError, TypeError):
            verdict.add(f"contract {name}", False, "the manifest names no valid address")
            return verdict
        code = bytes(w3.eth.get_code(address))
        ok = "0x" + keccak(code).hex() == artifacts.load(name).deployed_code_hash
        verdict.add(f"contract {name}", ok, f"{address} runs the committed {name} code" if ok
                    else f"the code at {address} is not the committed {name} contract")
        if not ok:
            return verdict
        contracts[name] = w3.eth.contract(address=address, abi=artifacts.load(name).abi)
    alert_files = {n: f for n, f in files.items() if n.startswith("alerts/") and n.endswith(".json")}
    record_count, times = 0, []
    for name in sorted(alert_files):
        try:
            content = json.loads(alert_files[name])
        except ValueError as exc:
            verdict.add(name, False, f"not JSON: {exc}")
            continue
        try:
            record_count += len(content["records"])
            times += _times(content)
            _check_alert(verdict, name, content, contracts, w3)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            verdict.add(name, False, f"malformed alert file: {type(exc).__name__}: {exc}")
    scope_ids = set((manifest.get("scope") or {}).get("alert_ids") or [])
    found_ids = {n[len("alerts/"):-len(".json")] for n in alert_files}
    verdict.add("scope", scope_ids == found_ids and manifest.get("alert_count") == len(found_ids),
                f"{len(found_ids)} alert file(s) for the {len(scope_ids)} alert(s) of the scope"
                if scope_ids == found_ids else f"scope names {sorted(scope_ids)}, the pack holds {sorted(found_ids)}")
    counts_ok = (manifest.get("record_count") == record_count
                 and manifest.get("first_time") == (min(times) if times else None)
                 and manifest.get("last_time") == (max(times) if times else None))
    verdict.add("manifest counts", counts_ok,
                f"{record_count} anchored record(s), first {manifest.get('first_time')}, "
                f"last {manifest.get('last_time')}"
                if counts_ok else f"the manifest says {manifest.get('record_count')} records "
                f"{manifest.get('first_time')}..{manifest.get('last_time')}, the files hold {record_count} "
                f"{min(times) if times else None}..{max(times) if times else None}")
    return verdict


def _b32(text: str) -> bytes:
    raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    if len(raw) != 32:
        raise ValueError(f"{text!r} is not 32 bytes")
    return raw


def _dept(code: str | None) -> bytes:
    return code.encode("ascii").ljust(32, b"\0") if code else bytes(32)


def _check_alert(verdict: PackVerdict, name: str, content: dict[str, Any], contracts: dict[str, Any], w3: Any) -> None:
    alert = content["alert"]
    alert_id = alert["alert_id"]
    occurrence = alert.get("occurrence", 1)
    expected_id = store.alert_id_of(alert["point_id"], alert["subject_type"], alert["subject_id"], occurrence)
    verdict.add(f"{name} identity", expected_id == alert_id,
                f"the alert id is keccak256 of its point, subject and occurrence {occurrence}"
                if expected_id == alert_id
                else f"the alert id {alert_id} is not that of {alert['point_id']} {alert['subject_id']}")
    trail = contracts["AuditTrail"]
    anchored: list[dict[str, Any]] = []
    for rec in content["records"]:
        label = f"{name} record v{rec['version']}"
        text = rec["record"]
        rh = "0x" + keccak(text.encode("utf-8")).hex()
        if rh != rec["record_hash"]:
            verdict.add(label, False, f"the record text hashes to {rh}, not the recorded {rec['record_hash']} "
                        "(the record was changed)")
            continue
        body = json.loads(text)
        if body.get("alert_id") != alert_id or body.get("version") != rec["version"]:
            verdict.add(label, False, "the record names another alert or version")
            continue
        if rec.get("root") is None:
            verdict.add(label, False, "this record version was never anchored")
            continue
        leaf = keccak(encode(["bytes32", "bytes32", "bytes32"], [_b32(alert_id), _dept(body.get("department")),
                                                                _b32(rh)]))
        proof = [_b32(p) for p in rec["proof"]]
        if not verify_proof(leaf, proof, _b32(rec["root"])):
            verdict.add(label, False, f"the Merkle proof does not lead from the record's leaf to root {rec['root']}")
            continue
        if not trail.functions.isIssued(_b32(rec["root"])).call():
            verdict.add(label, False, f"root {rec['root']} was never anchored on AuditTrail")
            continue
        block = trail.functions.getBatch(_b32(rec["root"])).call()[0]
        if block != rec["block_number"]:
            verdict.add(label, False, f"root {rec['root']} was anchored in block {block}, the pack says "
                        f"{rec['block_number']}")
            continue
        verdict.add(label, True, f"record hash, Merkle proof and root {rec['root'][:12]}… anchored in block {block}")
        anchored.append(body)
    if not anchored:
        verdict.add(f"{name} state", False, "no anchored record of this alert")
        return
    latest = max(anchored, key=lambda b: b["version"])
    summary_keys = ("occurrence", "recurrence_of", "point_id", "stage", "subject_type", "subject_id", "department",
                    "application_id", "rule_version", "condition", "facts", "level")
    differ = [k for k in summary_keys if latest.get(k) != alert.get(k)]
    verdict.add(f"{name} state", not differ, f"the alert agrees with its latest anchored record v{latest['version']}"
                if not differ else f"the alert's {', '.join(differ)} differ from its latest anchored record "
                f"v{latest['version']}")
    field_values = {f["name"]: f for f in content["fields"]}
    facts_ok = set(field_values) == set(alert["facts"])
    verdict.add(f"{name} fields", facts_ok, "every fact field is listed with its source department" if facts_ok
                else "the field list does not match the alert's facts")
    known_facts = [b["facts"] for b in anchored]
    bad_history = [h["kind"] for h in content["history"]
                   for side in ("facts_before", "facts_after")
                   if h.get(side) and json.loads(h[side]) not in known_facts]
    verdict.add(f"{name} before/after", not bad_history,
                "every before/after value in the history is in an anchored record" if not bad_history
                else f"history entries {bad_history} hold values that no anchored record holds")
    for i, d in enumerate(content["dispositions"]):
        _check_event(verdict, f"{name} disposition {i} ({d['kind']})", w3, trail, d["tx_hash"],
                     "DispositionRecorded", d["note"], {"alertId": _b32(alert_id)},
                     lambda args, d=d: DISPOSITION_KINDS.get(args["kind"]) == d["kind"]
                     and args["by"].lower() == d["member"].lower())
    hold = content["hold"]
    if hold["status"] in ("placed", "released"):
        try:
            rec = contracts["AuditHolds"].functions.getHold(_b32(hold["application_id"]), _b32(alert_id)).call()
        except Exception:  # noqa: BLE001 - a revert here means there is no such hold
            verdict.add(f"{name} hold", False, "AuditHolds has no hold for this alert and application")
        else:
            evidence_ok = "0x" + rec[0].hex() in {r["record_hash"] for r in content["records"]}
            released_ok = (rec[3] != 0) == (hold["status"] == "released")
            verdict.add(f"{name} hold", evidence_ok and released_ok,
                        f"AuditHolds holds it ({hold['status']}) with this alert's record as evidence"
                        if evidence_ok and released_ok else
                        "the hold's evidence is not one of this alert's records" if not evidence_ok
                        else f"the pack says {hold['status']}, AuditHolds says "
                             f"{'released' if rec[3] else 'active'}")
    case = content.get("case")
    if case:
        for i, st in enumerate(case["steps"]):
            if not st.get("tx_hash"):
                verdict.add(f"{name} case step {i} ({st['step']})", st["step"] == "escalated",
                            "a timer escalation not signed on chain yet (the gateway holds no INSPECTOR key)"
                            if st["step"] == "escalated" else "a case step with no transaction")
                continue
            event = "CaseOpened" if st["step"] == "opened" else "CaseStepRecorded"
            _check_event(verdict, f"{name} case step {i} ({st['step']})", w3, trail, st["tx_hash"], event, st["note"],
                         {"caseId": _b32(case["case_id"])},
                         lambda args, st=st: event == "CaseOpened" or STEP_KINDS.get(args["step"]) == st["step"])


def _check_event(verdict: PackVerdict, label: str, w3: Any, contract: Any, tx_hash: str, event: str, note: str,
                 match: dict[str, Any], more: Any) -> None:
    try:
        receipt = w3.eth.get_transaction_receipt(tx_hash)
    except Exception:  # noqa: BLE001 - unknown transaction
        verdict.add(label, False, f"transaction {tx_hash} is not on this chain")
        return
    from web3.logs import DISCARD

    own = [log for log in receipt["logs"] if log["address"].lower() == contract.address.lower()]
    decoded = contract.events[event]().process_receipt({**dict(receipt), "logs": own}, errors=DISCARD)
    note_h = keccak(note.encode("utf-8"))
    for e in decoded:
        args = dict(e.args)
        if all(args.get(k) == v for k, v in match.items()) and args["noteHash"] == note_h and more(args):
            verdict.add(label, True, f"{event} in {tx_hash[:12]}… matches the signer, kind and note")
            return
    verdict.add(label, False, f"transaction {tx_hash} has no {event} with this note, kind and signer "
                "(the note or signer was changed)")
