"""Chain facts for licence verdicts, kept between requests and current as of a known block.

A licence verdict reads five things from the chain (see ``gateway.verification.licences``):
``getLicence(id)``, ``statusOf(id)``, ``isIssued(root)``, ``getIssuedBlock(root)`` and
``AllianceRegistry.wasAuthorisedIssuerAt(type, department, issuedAt)``. Most of it never changes
once it is true, and every change of the rest is announced by an event:

* ``isIssued(root)`` = true and ``getIssuedBlock(root)``: a batch is anchored once and for ever
  (``MerkleBatches`` has no way to un-anchor). Only positive answers are kept.
* ``getLicence(id)`` of an issued licence: type, department, holder, targetHash, root, validity and
  issuedAt are written once; status, reason and supersededBy change only with ``LicenceSuspended``,
  ``LicenceReinstated``, ``LicenceRevoked`` or ``LicenceRenewed`` — each with the licence id as an
  indexed topic. An entry is dropped when a log of the LicenceRegistry names its id in any topic.
  Unknown licences (status 0) are not kept.
* ``statusOf(id)`` is not kept: it is computed from the kept record exactly as the contract does,
  with the wall clock in place of ``block.timestamp`` (expiry and not-yet-valid are time-derived).
* ``wasAuthorisedIssuerAt``: a question about the past, but the whole table is dropped on *any*
  AllianceRegistry log (authority intervals are granted and revoked by governance there).

**Freshness.** :meth:`ChainFacts.refresh` reads the head and the LicenceRegistry and AllianceRegistry
logs of the blocks since the last refresh, and drops what they touch; the facts are then current
*as of* that head (``ChainFacts.block``). A verdict waits for a refresh that *started after it was
asked for* (:meth:`ChainFacts.wait_fresh` / :meth:`ChainFacts.await_fresh`) unless
``[gateway] verify_max_staleness_ms`` allows an older one: with the default 0 a verdict is never
staler than the chain at the moment the request arrived — a revocation mined before the request
is always seen. Refreshes are shared: however many requests wait, one ``eth_blockNumber`` (plus
one ``eth_getLogs`` when blocks were added) serves all that arrived before it started. If the head
went *back* (a node restored from an older state) or a refresh fails, everything is dropped and
read again from the node.

Reads that miss are made in JSON-RPC batches (``gateway.verification.prefetch``) and kept only if
no refresh ran meanwhile (a refresh could have dropped what the read had just seen).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

from chain.roles import code_to_bytes32
from gateway.documents import openattestation as oa
from gateway.verification.licences import Contracts, _hex32, licence_id_of
from gateway.verification.prefetch import Key, Prefetch, PrefetchedContract, _post, live_contract

__all__ = ["ChainFacts", "status_of"]

MAX_ENTRIES = 500_000  # licence records kept (about 0.5 KB each); beyond it the table starts again


def status_of(record: Sequence[Any], fields: dict[str, int], now: int) -> int:
    """``LicenceRegistry.statusOf`` of a ``getLicence`` tuple, with ``now`` as ``block.timestamp``."""
    lifecycle = record[fields["status"]]
    if lifecycle == 0:
        return 0  # None
    if lifecycle == 3:
        return 3  # Revoked
    if record[fields["supersededBy"]] != bytes(32):
        return 5  # Superseded
    until = record[fields["validUntil"]]
    if until != 0 and now >= until:
        return 4  # Expired
    if lifecycle == 2:
        return 2  # Suspended
    if now < record[fields["validFrom"]]:
        return 6  # NotYetValid
    return 1  # Valid


class ChainFacts:
    """Cached chain facts of licence verdicts for one pair of contracts (see the module docstring)."""

    def __init__(self, contracts: Contracts, max_staleness_ms: float = 0.0) -> None:
        self.licences = live_contract(contracts.licences)
        self.registry = live_contract(contracts.registry)
        self.max_staleness = max(0.0, float(max_staleness_ms)) / 1000.0
        components = self.licences.functions.getLicence.abi["outputs"][0]["components"]
        self.fields = {c["name"]: i for i, c in enumerate(components)}
        self.block = -1  # the head the kept facts are current as of (-1: none yet)
        self._records: dict[bytes, tuple] = {}
        self._issued: dict[bytes, int] = {}  # root -> block it was anchored in
        self._authority: dict[tuple[bytes, bytes, int], bool] = {}
        self._generation = 0  # +1 whenever a refresh may have dropped something
        self._fresh_since = float("-inf")  # monotonic start time of the last completed refresh
        self._refresh_lock = threading.Lock()
        self._store_lock = threading.Lock()
        self._tasks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> the refresh awaited
        self.refreshes = 0
        self.provider = self.licences.w3.provider
        self._addresses = [self.licences.address, self.registry.address]
        self._node = _plain_http_node(self.provider)  # (host, port, path, netloc) or None
        self._streams: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> (reader, writer)

    # ------------------------------------------------------------------ freshness

    def _rpc(self, method: str, params: list[Any]) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        reply = _post(self.provider, body)
        if not isinstance(reply, dict) or "result" not in reply:
            raise RuntimeError(f"{method}: {reply!r}"[:300])
        return reply["result"]

    def _rpc_w3(self, method: str, params: list[Any]) -> Any:
        """The two calls :meth:`refresh` makes, through web3 (in-process providers such as eth-tester)."""
        eth = self.licences.w3.eth
        if method == "eth_blockNumber":
            return hex(eth.block_number)
        query = params[0]
        return eth.get_logs({"fromBlock": int(query["fromBlock"], 16), "toBlock": int(query["toBlock"], 16),
                             "address": query["address"]})

    def refresh(self) -> int:
        """Catch up with the chain's head: drop what the new blocks' logs touched; the new head."""
        call = self._rpc if _is_http(self.provider) else self._rpc_w3
        start = self.block
        try:
            head = int(call("eth_blockNumber", []), 16)
            logs = None
            if head > start >= 0:
                logs = call("eth_getLogs", [{"fromBlock": hex(start + 1), "toBlock": hex(head),
                                             "address": self._addresses}])
        except Exception:  # noqa: BLE001 - cannot say what changed: keep nothing, read live
            self.clear()
            raise
        return self._advance(start, head, logs)

    def _advance(self, start: int, head: int, logs: list[dict[str, Any]] | None) -> int:
        """Record a refresh that began at ``start`` and read ``head`` and the logs of (start, head].

        Refreshes may overlap (a worker thread's and the event loop's): ``block`` only moves
        forward, and a refresh that began at ``start`` covers what another one may not have."""
        if head < start:  # the chain went back: nothing kept can be trusted
            self.clear()
        elif logs is not None:
            self._drop(logs)
        with self._store_lock:
            if start < 0 or head < start:
                self._generation += 1  # reads made before this point are not kept
            self.block = max(self.block, head)
            self.refreshes += 1
        return self.block

    def _drop(self, logs: list[dict[str, Any]]) -> None:
        registry = self.registry.address.lower()
        with self._store_lock:
            self._generation += 1
            for log in logs:
                if str(log.get("address", "")).lower() == registry:
                    self._authority.clear()
                    continue
                for topic in log.get("topics", [])[1:]:
                    self._records.pop(bytes(topic) if isinstance(topic, (bytes, bytearray))
                                      else bytes.fromhex(topic[2:]), None)

    def clear(self) -> None:
        with self._store_lock:
            self._generation += 1
            self._records.clear()
            self._issued.clear()
            self._authority.clear()
            self.block = -1

    def wait_fresh(self, asked: float | None = None) -> int:
        """Block until a refresh that started after ``asked`` (default: now, less the allowed
        staleness) has completed; refreshes are shared between the threads waiting. The head."""
        asked = (time.monotonic() if asked is None else asked) - self.max_staleness
        while self._fresh_since <= asked:
            with self._refresh_lock:
                if self._fresh_since > asked:
                    break
                started = time.monotonic()
                try:
                    self.refresh()
                except Exception:  # noqa: BLE001 - refresh() kept nothing: the reads go to the node,
                    pass  # where a verdict's fragments meet (and report) the same problem
                self._fresh_since = max(self._fresh_since, started)
        return self.block

    async def await_fresh(self) -> int:
        """:meth:`wait_fresh` for a coroutine: one refresh at a time, shared by every coroutine of
        this event loop that was waiting when it started. On a plain ``http://`` node the refresh
        talks to the node from the event loop itself (no worker thread: under load a thread waits
        for the GIL at each step, which made a head check cost tens of milliseconds)."""
        asked = time.monotonic() - self.max_staleness
        loop = asyncio.get_running_loop()
        while self._fresh_since <= asked:
            task = self._tasks.get(loop)
            if task is None or task.done():
                task = self._tasks[loop] = loop.create_task(self._arefresh(time.monotonic()))
            await asyncio.shield(task)
        return self.block

    async def _arefresh(self, asked: float) -> None:
        if self._node is None:  # not a plain HTTP node: the provider's own (blocking) stack, in a worker thread
            await asyncio.get_running_loop().run_in_executor(None, self.wait_fresh, asked)
            return
        if self._fresh_since > asked:
            return
        started = time.monotonic()
        start = self.block
        try:
            head = int(await self._arpc("eth_blockNumber", []), 16)
            logs = None
            if head > start >= 0:
                logs = await self._arpc("eth_getLogs", [{"fromBlock": hex(start + 1), "toBlock": hex(head),
                                                         "address": self._addresses}])
            self._advance(start, head, logs)
        except Exception:  # noqa: BLE001 - as refresh(): keep nothing, the reads go to the node
            self.clear()
            self._streams.pop(asyncio.get_running_loop(), None)
        self._fresh_since = max(self._fresh_since, started)

    async def _arpc(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call over this event loop's kept-alive connection to the node."""
        loop_id = asyncio.get_running_loop()
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        host, port, path, netloc = self._node  # type: ignore[misc]
        request = (f"POST {path} HTTP/1.1\r\nHost: {netloc}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body
        for attempt in (1, 2):
            streams = self._streams.get(loop_id)
            fresh = streams is None
            try:
                if fresh:
                    streams = self._streams[loop_id] = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
                reader, writer = streams
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                status, headers = _parse_head(head)
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    data = await _read_chunked(reader)
                else:
                    data = await reader.readexactly(int(headers.get("content-length", "0")))
                if headers.get("connection", "").lower() == "close":
                    self._streams.pop(loop_id, None)
                    writer.close()
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
                self._streams.pop(loop_id, None)
                if fresh or attempt == 2:
                    raise
                continue  # a kept-alive connection the node had closed: once more on a new one
            reply = json.loads(data) if status == 200 else None
            if not isinstance(reply, dict) or "result" not in reply:
                raise RuntimeError(f"{method}: HTTP {status} {reply!r}"[:300])
            return reply["result"]
        raise RuntimeError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ answers

    def contracts_for(self, documents: Sequence[Any], now: int | None = None,
                      data: Sequence[Any] | None = None) -> Contracts:
        """Stand-in contracts answering every read :func:`verify_licence` (and ``record_consistency``)
        makes for ``documents``: kept facts, the rest read in batches now (and kept). Call after a
        refresh. A read that is neither kept nor answered by the batch is made live by the stand-in.
        ``data``: ``oa.unsalt`` of each document where the caller has it (None where it failed)."""
        now = int(time.time()) if now is None else now
        lic, reg = self.licences, self.registry
        lic_at, reg_at = lic.address, reg.address
        answers: dict[Key, Any] = {}
        generation = self._generation
        ahead = Prefetch()
        wanted: list[tuple[Any, bytes]] = []
        for k, document in enumerate(documents):
            unsalted = data[k] if data is not None and isinstance(data[k], dict) else None
            try:
                root = _hex32(document["signature"]["merkleRoot"])
                block = self._issued.get(root)
                if block is None:
                    ahead.want(lic, "isIssued", root)
                    ahead.want(lic, "getIssuedBlock", root)
                else:
                    answers[(lic_at, "isIssued", (root,))] = True
                    answers[(lic_at, "getIssuedBlock", (root,))] = block
            except Exception:  # noqa: BLE001 - the fragment will report it
                pass
            try:
                lid = licence_id_of({"id": unsalted["id"] if unsalted is not None
                                     else oa.unsalt_field(document, "id")})
            except Exception:  # noqa: BLE001
                continue
            record = self._records.get(lid)
            if record is None:
                ahead.want(lic, "getLicence", lid)
            else:
                answers[(lic_at, "getLicence", (lid,))] = record
            wanted.append((document, lid, unsalted))
        if ahead._queued:
            ahead.fetch()
            answers.update(ahead.answers)
        authority = []
        f = self.fields
        for document, lid, unsalted in wanted:
            record = answers.get((lic_at, "getLicence", (lid,)))
            if record is None:
                continue
            answers[(lic_at, "statusOf", (lid,))] = status_of(record, f, now)
            if record[f["status"]] == 0:
                continue
            try:
                licence_type = code_to_bytes32(unsalted["licenceType"] if unsalted is not None
                                               else oa.unsalt_field(document, "licenceType"))
            except Exception:  # noqa: BLE001
                continue
            key = (licence_type, record[f["department"]], record[f["issuedAt"]])
            found = self._authority.get(key)
            if found is None:
                ahead.want(reg, "wasAuthorisedIssuerAt", *key)
                authority.append(key)
            else:
                answers[(reg_at, "wasAuthorisedIssuerAt", key)] = found
        if authority:
            ahead.fetch()
            for key in authority:
                k = (reg_at, "wasAuthorisedIssuerAt", key)
                if k in ahead.answers:
                    answers[k] = ahead.answers[k]
        self._keep(ahead.answers, generation)
        return Contracts(PrefetchedContract(lic, answers), PrefetchedContract(reg, answers))

    def _keep(self, read: dict[Key, Any], generation: int) -> None:
        """Keep what was just read, unless a refresh ran since (it may have dropped what we read)."""
        if not read:
            return
        status = self.fields["status"]
        with self._store_lock:
            if generation != self._generation or self.block < 0:
                return
            if len(self._records) > MAX_ENTRIES:
                self._records.clear()
            for (_, name, args), value in read.items():
                if name == "getLicence":
                    if value[status] != 0:
                        self._records[args[0]] = value
                elif name == "getIssuedBlock":
                    if value:
                        self._issued[args[0]] = value
                elif name == "wasAuthorisedIssuerAt":
                    self._authority[args] = value

    def warm(self, licence_ids: Sequence[bytes], chunk: int = 2000) -> int:
        """Read ahead the facts of ``licence_ids`` (a gateway's own licences, at start), ``chunk`` at a
        time in JSON-RPC batches: the record, its batch's block and the issuer's authority at
        issuance — all a verdict needs, read from the chain (never from the gateway's database).
        Returns how many records are kept. Runs alongside verdicts; kept under the same rules."""
        lic, reg, f = self.licences, self.registry, self.fields
        for start in range(0, len(licence_ids), chunk):
            if self.block < 0:
                self.wait_fresh()
            generation = self._generation
            ahead = Prefetch()
            ids = [lid for lid in licence_ids[start:start + chunk] if lid not in self._records]
            for lid in ids:
                ahead.want(lic, "getLicence", lid)
            ahead.fetch()
            for lid in ids:
                record = ahead.answers.get((lic.address, "getLicence", (lid,)))
                if record is None or record[f["status"]] == 0:
                    continue
                root = record[f["merkleRoot"]]
                if root not in self._issued:
                    ahead.want(lic, "getIssuedBlock", root)
                key = (record[f["licenceType"]], record[f["department"]], record[f["issuedAt"]])
                if key not in self._authority:
                    ahead.want(reg, "wasAuthorisedIssuerAt", *key)
            ahead.fetch()
            self._keep(ahead.answers, generation)
        return len(self._records)

    def stats(self) -> dict[str, int]:
        return {"block": self.block, "records": len(self._records), "batches": len(self._issued),
                "authority": len(self._authority), "refreshes": self.refreshes}


def _plain_http_node(provider: Any) -> tuple[str, int, str, str] | None:
    """Where to reach the node without the provider's HTTP stack: plain http:// with no extra
    request settings (proxies, certificates, auth headers) only."""
    from urllib.parse import urlsplit

    if not _is_http(provider):
        return None
    kwargs = dict(provider.get_request_kwargs())
    headers = {k.lower(): v for k, v in (kwargs.pop("headers", None) or {}).items()}
    url = urlsplit(provider.endpoint_uri)
    if url.scheme != "http" or set(kwargs) - {"timeout"} or set(headers) - {"content-type", "user-agent"} \
            or "@" in url.netloc:
        return None
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    return url.hostname or "127.0.0.1", url.port or 80, path, url.netloc


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _is_http(provider: Any) -> bool:
    from web3 import HTTPProvider

    return isinstance(provider, HTTPProvider)
