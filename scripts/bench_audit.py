#!/usr/bin/env python3
"""The 3-6-29 scan engine: full 29-point scan and single-event evaluation on a synthetic ledger.

For each size N (default 10,000 / 100,000 / 1,000,000 applications, ascending) this script

1. **setup** (timed, reported on stderr, not part of the figures): builds a synthetic ledger of N
   applications with ``audit.synthetic.generate`` (fixed seed; ~0.6 firms per application, one
   policy per 500 applications, every table filled, anomalies for every point at 0.1-3 % of
   subjects) as a columnar snapshot;
2. **full scan**: ``Engine().scan`` — all 29 points over every subject, producing the findings
   (``alerts``) a re-scan would hand to the alert store; wall clock, one process. The first scan
   also builds the snapshot's indexes (per-subject child rows, clusters, peer statistics), as the
   first scan after loading a ledger does;
3. **events**: ``--events`` (default 1,000) single events on random subjects — application
   submitted / reviewed, payout recorded, notice published, usage reported, registry changed … —
   each evaluating only the points it concerns over the subjects it touches; p99 of the wall time
   per event, Finding objects included.

Prints one JSON line per size on stdout (the last line is the largest size)::

    {"applications": N, "full_scan_s": X, "event_ms_p99": Y, "alerts": Z}

Targets (DESIGN.md): the full scan of 1,000,000 applications in <= 60 s on 2 cores; one event in
<= 100 ms at p99.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import emit, log, machine, parse_sizes, round_sig  # noqa: E402

import numpy as np  # noqa: E402

from audit.engine import Engine, Event  # noqa: E402
from audit.synthetic import generate  # noqa: E402

APP_EVENTS = ("application.submitted", "application.reviewed", "notice.published", "objection.recorded",
              "signoff.recorded", "record.changed", "draw.recorded", "usage.reported", "transfer.recorded",
              "performance.reported", "rectification.recorded")


def run(n: int, events: int, seed: int) -> dict:
    t0 = time.perf_counter()
    snap = generate(n, seed=seed)
    log(f"N={n:,}: synthetic ledger built in {time.perf_counter() - t0:.2f} s "
        f"({len(snap.enterprises):,} firms, {len(snap.policies):,} policies, {len(snap.payout_lines):,} payout lines)")
    engine = Engine()
    t0, c0 = time.perf_counter(), time.process_time()
    result = engine.scan(snap)
    full, cpu = time.perf_counter() - t0, time.process_time() - c0
    by_level = {lv: sum(st.hits[lv] for st in result.stats.values()) for lv in ("prompt", "warning", "alarm")}
    skipped = sum(st.skipped for st in result.stats.values())
    log(f"N={n:,}: full scan {full:.2f} s wall ({cpu:.2f} s CPU, load {os.getloadavg()[0]:.1f}), "
        f"{len(result.findings):,} findings {by_level}, "
        f"{skipped:,} subject-points skipped for missing data")
    rng = np.random.default_rng(seed + 1)
    apps = rng.integers(0, len(snap.applications), events)
    times = []
    touched = 0
    for k, a in enumerate(apps.tolist()):
        if k % 10 == 9 and len(snap.payout_lines):
            line = int(rng.integers(0, len(snap.payout_lines)))
            ev = Event("payout.recorded", payout_id=str(snap.payout_lines.id[line]))
        elif k % 10 == 8:
            ev = Event("registry.changed", enterprise_id=str(snap.enterprises.id[snap.applications.enterprise[a]]))
        else:
            ev = Event(APP_EVENTS[k % len(APP_EVENTS)], application_id=str(snap.applications.id[a]))
        t0 = time.perf_counter()
        out = engine.evaluate(snap, ev)
        times.append(time.perf_counter() - t0)
        touched += len(out.findings)
    ms = np.array(times) * 1000
    p99 = float(np.percentile(ms, 99))
    log(f"N={n:,}: {events:,} events, p50 {np.percentile(ms, 50):.2f} ms, p99 {p99:.2f} ms, max {ms.max():.2f} ms, "
        f"{touched:,} findings returned")
    return {"applications": n, "full_scan_s": round_sig(full), "event_ms_p99": round_sig(p99),
            "alerts": len(result.findings)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated numbers of applications")
    ap.add_argument("--events", type=int, default=1000, help="single events to time per size")
    ap.add_argument("--seed", type=int, default=20261201)
    args = ap.parse_args()
    log("machine:", machine())
    for n in parse_sizes(args.sizes):
        emit(run(n, max(1, args.events), args.seed))


if __name__ == "__main__":
    main()
