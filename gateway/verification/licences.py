"""Fragments for a licence document (an OpenAttestation v2 wrapped document).

Each fragment reads only the document and the chain, so the same code runs inside the gateway
and in ``alliance verify BUNDLE --rpc URL`` on any machine that can reach a node.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chain.roles import bytes32_to_code, code_to_bytes32
from chain.structs import call_struct
from gateway.documents import openattestation as oa
from gateway.documents.merkle import gc_paused
from gateway.verification.prefetch import Prefetch, is_prefetched, live_contract
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


def verify_licence(document: dict[str, Any], contracts: Contracts, now: int | None = None, *,
                   data: dict[str, Any] | None = None) -> Verdict:
    """Integrity, anchoring, status, validity and issuer authority of a wrapped licence document.

    ``data``: ``oa.unsalt(document)`` if the caller has computed it already (it is not recomputed)."""
    now = int(time.time()) if now is None else now
    contracts = _prefetched([document], contracts)  # same verdict; the chain read in 2 batched requests
    state: dict[str, Any] = {}

    def integrity():
        try:  # the fields are unsalted in the same walk that hashes them, unless the caller has them
            intact, unsalted = (oa.verify_signature(document), data) if data is not None \
                else oa.verify_signature_and_unsalt(document)
        except oa.OpenAttestationError as exc:
            return INVALID, f"not a well-formed OpenAttestation v2 document: {exc}", {}
        if not intact:
            return INVALID, "the document was altered: its fields do not hash to the signed targetHash and root", {}
        state["data"] = oa.unsalt(document) if unsalted is None else unsalted
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
        contracts = _prefetched_record(db_row.id, contracts)  # same reads, one batched request
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


# ---------------------------------------------------------------------------- many documents

PARALLEL_MIN_PER_PROCESS = 1000  # fewer documents per process and a worker costs more than it saves
_FORKED_DOCUMENTS: Sequence[Any] | None = None  # the documents, inherited by forked workers


def verify_licences(documents: Sequence[dict[str, Any]], contracts: Contracts, now: int | None = None, *,
                    chunk: int = 1000, processes: int = 1) -> list[Verdict]:
    """:func:`verify_licence` of each document: the same verdicts, fragment for fragment.

    The chain is read in JSON-RPC batches (see ``gateway.verification.prefetch``) by one reading
    thread, chunk after chunk (``FIRST_CHUNK`` documents, then twice as many each time, up to
    ``chunk``), while this thread checks the documents whose reads are back. The cyclic GC is
    paused meanwhile. Nothing read is kept after the call: the next call reads the chain again.
    ``processes`` > 1 checks slices of a large list in that many processes (this one included, at
    least ``PARALLEL_MIN_PER_PROCESS`` documents each), each with its own connection to the node;
    only for contracts on an HTTP node.
    """
    docs = list(documents)
    if not docs:
        return []
    live = Contracts(live_contract(contracts.licences), live_contract(contracts.registry))
    processes = max(1, min(int(processes), len(docs) // PARALLEL_MIN_PER_PROCESS))
    spec = _node_spec(live) if processes > 1 else None
    if spec is None:
        return _verify_chunks(docs, live, now, chunk)
    return _verify_parallel(docs, live, spec, now, chunk, processes)


FIRST_CHUNK = 16  # documents whose reads are awaited before any checking starts; the next chunks double


def _chunk_bounds(n: int, chunk: int) -> list[tuple[int, int]]:
    """Slices of ``n`` documents: ``FIRST_CHUNK`` (at most ``chunk``), then each twice the one before,
    up to ``chunk``. Nothing is checked until the first chunk's reads are back, so it is small (at
    1,000 documents, waiting for 1,000 documents' reads was a third of the time); the later chunks'
    reads follow while the earlier ones are checked."""
    bounds, start, size = [], 0, max(1, min(chunk, FIRST_CHUNK))
    while start < n:
        bounds.append((start, min(n, start + size)))
        start += size
        size = min(max(1, chunk), size * 2)
    return bounds


def _verify_chunks(docs: Sequence[dict[str, Any]], live: Contracts, now: int | None, chunk: int) -> list[Verdict]:
    parts = [docs[a:b] for a, b in _chunk_bounds(len(docs), chunk)]
    verdicts: list[Verdict] = []
    # verdicts are small acyclic objects: the cyclic GC would only rescan (here: the documents just loaded)
    with gc_paused(), ThreadPoolExecutor(1, thread_name_prefix="licence-prefetch") as pool:
        # every chunk's reads queued at once: one after the other, the node never idle between them
        pending = [pool.submit(_prefetched, part, live) for part in parts]
        for part, answers in zip(parts, pending):
            answered = answers.result()
            verdicts += [verify_licence(document, answered, now) for document in part]
    return verdicts


def _node_spec(contracts: Contracts) -> tuple | None:
    """What a worker process needs to bind the same contracts on the same node (None: not an HTTP node)."""
    from web3 import HTTPProvider

    provider = contracts.licences.w3.provider
    if not isinstance(provider, HTTPProvider) or contracts.registry.w3.provider is not provider:
        return None
    kwargs = dict(provider.get_request_kwargs())
    return (provider.endpoint_uri, kwargs, (contracts.licences.address, contracts.licences.abi),
            (contracts.registry.address, contracts.registry.abi))


def _bind(spec: tuple) -> Contracts:
    from web3 import Web3

    from chain.node_http import NodeHTTPProvider

    endpoint, kwargs, (lic_address, lic_abi), (reg_address, reg_abi) = spec
    w3 = Web3(NodeHTTPProvider(endpoint, request_kwargs=kwargs, exception_retry_configuration=None))
    return Contracts(w3.eth.contract(address=lic_address, abi=lic_abi), w3.eth.contract(address=reg_address, abi=reg_abi))


def _verify_slice(job: tuple) -> list[Verdict]:
    spec, start, stop, docs, now, chunk = job
    if docs is None:  # forked: the parent's list, nothing pickled to get here
        docs = _FORKED_DOCUMENTS[start:stop]  # type: ignore[index]
    return _verify_chunks(docs, _bind(spec), now, chunk)


def _verify_parallel(docs: list[dict[str, Any]], live: Contracts, spec: tuple, now: int | None, chunk: int,
                     processes: int) -> list[Verdict]:
    import multiprocessing
    import threading

    global _FORKED_DOCUMENTS
    n = len(docs)
    bounds = [n * k // processes for k in range(processes + 1)]
    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    mp = multiprocessing.get_context("fork" if fork else "spawn")
    jobs = [(spec, bounds[k], bounds[k + 1], None if fork else docs[bounds[k]:bounds[k + 1]], now, chunk)
            for k in range(1, processes)]
    _FORKED_DOCUMENTS = docs if fork else None
    try:
        with mp.Pool(processes - 1) as pool:
            pending = pool.imap(_verify_slice, jobs)
            verdicts = _verify_chunks(docs[:bounds[1]], live, now, chunk)
            for more in pending:
                verdicts += more
    finally:
        _FORKED_DOCUMENTS = None
    return verdicts


def _prefetched(documents: Sequence[Any], contracts: Contracts) -> Contracts:
    """Stand-ins for ``contracts`` holding the answers to the calls :func:`verify_licence` will make
    for ``documents``: two rounds of batched reads (the authority check needs the record first).
    Best effort: a call it did not foresee is made live, so the verdicts are the same either way."""
    if is_prefetched(contracts.licences) or is_prefetched(contracts.registry):
        return contracts
    try:
        lic, reg = contracts.licences, contracts.registry
        ahead = Prefetch()
        ids: list[tuple[Any, bytes]] = []
        for document in documents:
            try:
                root = _hex32(document["signature"]["merkleRoot"])
                ahead.want(lic, "isIssued", root)
                ahead.want(lic, "getIssuedBlock", root)  # a revert (not issued) is simply not used
            except Exception:  # noqa: BLE001 - the fragment will report it
                pass
            try:
                lid = licence_id_of({"id": oa.unsalt_field(document, "id")})
                ahead.want(lic, "getLicence", lid)
                ahead.want(lic, "statusOf", lid)
                ids.append((document, lid))
            except Exception:  # noqa: BLE001
                pass
        ahead.fetch()
        fields = [c["name"] for c in lic.functions.getLicence.abi["outputs"][0]["components"]]
        status, department, issued_at = (fields.index(f) for f in ("status", "department", "issuedAt"))
        for document, lid in ids:
            found, record = ahead.answered(lic, "getLicence", lid)
            if not found or record[status] == 0:
                continue
            try:
                licence_type = code_to_bytes32(oa.unsalt_field(document, "licenceType"))
            except Exception:  # noqa: BLE001
                continue
            ahead.want(reg, "wasAuthorisedIssuerAt", licence_type, record[department], record[issued_at])
        ahead.fetch()
        return Contracts(ahead.contract(lic), ahead.contract(reg))
    except Exception:  # noqa: BLE001 - never let reading ahead change a verdict: read live instead
        return contracts


def _prefetched_record(licence_id: str, contracts: Contracts) -> Contracts:
    """Stand-ins answering :func:`record_consistency`'s two reads from one batched request."""
    if is_prefetched(contracts.licences):
        return contracts
    try:
        lid = _hex32(licence_id)
        ahead = Prefetch()
        ahead.want(contracts.licences, "getLicence", lid)
        ahead.want(contracts.licences, "statusOf", lid)
        ahead.fetch()
        return Contracts(ahead.contract(contracts.licences), contracts.registry)
    except Exception:  # noqa: BLE001
        return contracts
