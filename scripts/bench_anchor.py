#!/usr/bin/env python3
"""Anchoring throughput: our OpenAttestation wrap + one on-chain anchor, against OA's JS ``wrapDocuments``.

For each size N (default 1,000 / 10,000 / 100,000):

1. generate N raw OpenAttestation v2 documents with 10 data fields (the documents of
   ``scripts/oa/wrap.cjs --generate``, their issuer pointing at the deployed DocumentStore);
2. **ours**, timed wall-clock: ``gateway.documents.openattestation.wrap_documents`` (schema check,
   salting, targetHash, one Merkle tree, every proof; ``--processes`` worker processes, pool
   start-up included) and then ``DocumentStore.anchor(root, N)`` through the product's
   transaction manager (signed, journaled in SQL, sent to a real anvil node this script started,
   receipt awaited) — one transaction per batch of ``--batch`` documents (default: all N in one);
3. **OA**, timed in node: ``wrapDocuments`` of ``@govtechsg/open-attestation`` on the *same* raw
   documents (handed over as a JSON file; only the ``wrapDocuments`` call is timed, not the
   JSON parse nor node's start-up). Node then checks a few of *our* wrapped documents with OA's
   ``verifySignature``, so the two sides are known to produce the same kind of document.

Both sides run ``--repeat`` times per size (default 3 up to 10,000 documents, else 1) and keep
their best time (node's JIT is warm after the first run; so are Python's caches).

Prints one JSON line per size, ascending, so the last line is the largest size::

    {"docs": N, "docs_per_s": X, "oa_docs_per_s": Y, "ratio": X/Y, "tx_per_doc": Z}

Details (timings per phase, machine, load) go to stderr. Target (DESIGN.md): ratio >= 5 with one
transaction per batch.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    DEFAULT_SIZES,
    ROOT,
    bench_document,
    bench_ledger,
    emit,
    exit_on_signals,
    log,
    machine,
    parse_sizes,
    round_sig,
    stop_process,
    temp_dir,
)

# Times only wrapDocuments; then verifySignature on the wrapped documents Python produced.
NODE_BENCH = r"""
const fs = require("fs");
const path = require("path");
const oa = require(path.join(process.argv[2], "node_modules", "@govtechsg", "open-attestation"));
const input = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const runs = [];
for (let r = 0; r < input.repeat; r += 1) {
  const start = process.hrtime.bigint();
  const wrapped = oa.wrapDocuments(input.raw);
  runs.push(Number(process.hrtime.bigint() - start) / 1e9);
  if (wrapped.length !== input.raw.length) throw new Error("wrapDocuments returned the wrong number of documents");
}
const ours = input.check.map((d) => oa.verifySignature(d));
process.stdout.write(JSON.stringify({ docs: input.raw.length, seconds: Math.min(...runs), runs, ours_verified: ours }) + "\n");
"""


def js_wrap(raw: list[dict], check: list[dict], work: Path, timeout: float, repeat: int) -> dict:
    """Run OA's wrapDocuments on ``raw`` ``repeat`` times in a fresh node process; its best time."""
    payload = work / "raw.json"
    payload.write_text(json.dumps({"raw": raw, "check": check, "repeat": repeat}, ensure_ascii=False),
                       encoding="utf-8")
    script = work / "oa_bench.cjs"
    script.write_text(NODE_BENCH, encoding="utf-8")
    proc = subprocess.Popen(["node", str(script), str(ROOT), str(payload)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(proc)
        raise SystemExit(f"OA wrapDocuments of {len(raw)} documents took longer than --oa-timeout {timeout:.0f}s")
    finally:
        stop_process(proc)
        payload.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise SystemExit(f"node exited {proc.returncode}: {err.strip()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def ours(ledger, signer, store, raw: list[dict], batch: int, processes: int) -> tuple[float, list[dict], int, dict]:
    """Wrap and anchor ``raw`` (one Merkle batch and one transaction per ``batch`` documents);
    return (seconds, wrapped documents, transactions, phase seconds). The phases are wall-clock
    seconds (``wrap``, ``anchor``) and this process's CPU seconds (``wrap_cpu``, ``anchor_cpu``:
    on a loaded machine they tell what the code costs apart from waiting for a CPU)."""
    from gateway.documents import openattestation as oa

    phases = {"wrap": 0.0, "anchor": 0.0, "wrap_cpu": 0.0, "anchor_cpu": 0.0}
    wrapped: list[dict] = []
    txs = 0
    start = time.perf_counter()
    for at in range(0, len(raw), batch):
        t0, c0 = time.perf_counter(), time.process_time()
        docs = oa.wrap_documents(raw[at:at + batch], processes=processes)
        t1, c1 = time.perf_counter(), time.process_time()
        root = bytes.fromhex(docs[0]["signature"]["merkleRoot"])
        ledger.txm.transact(signer, store.functions.anchor(root, len(docs)), f"bench: anchor {len(docs)} documents")
        t2, c2 = time.perf_counter(), time.process_time()
        phases["wrap"] += t1 - t0
        phases["anchor"] += t2 - t1
        phases["wrap_cpu"] += c1 - c0
        phases["anchor_cpu"] += c2 - c1
        txs += 1
        wrapped += docs
    return time.perf_counter() - start, wrapped, txs, phases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"comma-separated document counts (default {DEFAULT_SIZES})")
    parser.add_argument("--batch", type=int, default=0, help="documents per Merkle batch / transaction (0 = all N)")
    parser.add_argument("--processes", type=int, default=1,
                        help="processes salting and hashing a batch (default 1: single-threaded, like OA's JS; "
                             "0 = one per usable CPU; used only from 2,000 documents per process)")
    parser.add_argument("--repeat", type=int, default=0,
                        help="runs per size, best time kept, for both sides (default 3 up to 10,000 documents, else 1)")
    parser.add_argument("--oa-timeout", type=float, default=3600, help="seconds to allow OA's wrapDocuments per size")
    parser.add_argument("--keep", action="store_true", help="keep the temp data directory")
    args = parser.parse_args(argv)
    sizes = parse_sizes(args.sizes)
    exit_on_signals()

    from gateway.context import department_signer
    from gateway.documents import openattestation as oa

    processes = args.processes or oa.default_processes()
    facts = machine()
    log(f"machine: {facts}")
    with temp_dir("bench-anchor-", args.keep) as work:
        t = time.perf_counter()
        with bench_ledger(work / "data") as ledger:
            store = ledger.contract("DocumentStore")
            signer = department_signer(ledger, "MARKET")
            log(f"setup: anvil started, contracts deployed, alliance bootstrapped in {time.perf_counter() - t:.1f}s; "
                f"DocumentStore {store.address}")
            for n in sizes:
                raw = [bench_document(i, store.address) for i in range(n)]
                batch = args.batch or n
                repeat = args.repeat or (3 if n <= 10_000 else 1)
                runs = [ours(ledger, signer, store, raw, batch, processes) for _ in range(repeat)]
                seconds, wrapped, txs, phases = min(runs, key=lambda r: r[0])
                roots = {d["signature"]["merkleRoot"] for d in wrapped}
                anchored = all(store.functions.isIssued(bytes.fromhex(r)).call() for r in roots)
                check = [wrapped[0], wrapped[len(wrapped) // 2], wrapped[-1]]
                del runs, wrapped
                used = max(1, min(processes, batch // oa.PARALLEL_MIN_PER_PROCESS))
                log(f"N={n}: ours best of {repeat}: {seconds:.3f}s (wrap {phases['wrap']:.3f}s in {used} process(es), "
                    f"anchor {phases['anchor']:.3f}s in {txs} transaction(s); CPU of this process: wrap "
                    f"{phases['wrap_cpu']:.3f}s, anchor {phases['anchor_cpu']:.3f}s), roots anchored: {anchored}; "
                    f"load {machine()['loadavg_1m']}")
                if not anchored:
                    raise SystemExit("a batch root is not anchored on chain after its transaction")
                js = js_wrap(raw, check, work, args.oa_timeout, repeat)
                log(f"N={n}: OA wrapDocuments best of {repeat}: {js['seconds']:.3f}s "
                    f"(runs {', '.join(f'{r:.3f}' for r in js['runs'])}); OA verifySignature of our documents: "
                    f"{js['ours_verified']}; load {machine()['loadavg_1m']}")
                if not all(js["ours_verified"]):
                    raise SystemExit("OA's verifySignature refused a document wrapped by our implementation")
                docs_per_s = n / seconds
                oa_docs_per_s = n / js["seconds"]
                emit({"docs": n, "docs_per_s": round_sig(docs_per_s), "oa_docs_per_s": round_sig(oa_docs_per_s),
                      "ratio": round_sig(docs_per_s / oa_docs_per_s, 3), "tx_per_doc": round_sig(txs / n, 3)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
