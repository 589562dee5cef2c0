"""Score a scan against injected anomalies: how many were caught, how many alerts were false.

The ground truth is ``anomalies.json`` of ``python -m oracle.sample`` (see :mod:`oracle.sample.anomalies`):
labels ``{uscc, kind, points, level}``. A finding belongs to the firm of its subject (an application's
applicant; a payout line's application's applicant; policy findings belong to no firm and are not
scored). Per point:

* ``labelled`` — firms with a label naming the point; ``caught`` — of those, firms with a finding of
  that point; ``at_level`` — caught at exactly the label's level; ``missed`` — labelled, no finding;
* ``alerts`` — findings of the point on firms; ``false`` — of those, on firms with no label naming the
  point (an anomaly of another kind, or none). A "false" alert is a signal the injector did not plant:
  some are real by construction (e.g. a revoked firm also trips PAY4), so read them, don't just count.

``python -m audit.groundtruth --data-dir DIR --anomalies anomalies.json [--as-of YYYY-MM-DD]`` scans the
gateway's ledger in ``DIR`` and prints the table and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.engine import ScanResult
from audit.findings import Level
from audit.rules import RULES
from audit.snapshot import Snapshot


@dataclass
class PointScore:
    point_id: str
    labelled: int = 0
    caught: int = 0
    at_level: int = 0
    alerts: int = 0
    false: int = 0
    missed_firms: list[str] = field(default_factory=list)
    false_firms: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"point": self.point_id, "labelled": self.labelled, "caught": self.caught, "at_level": self.at_level,
                "missed": self.labelled - self.caught, "alerts": self.alerts, "false": self.false}


def firm_of(snap: Snapshot, subject_type: str, subject_id: str) -> str | None:
    """The USCC a finding's subject belongs to (None for a policy)."""
    if subject_type == "application":
        app = snap.index("applications").get(subject_id)
    elif subject_type == "payout":
        line = snap.index("payout_lines").get(subject_id)
        app = None if line is None else int(snap.payout_lines.application[line])
    else:
        return None
    if app is None or app < 0:
        return None
    ent = int(snap.applications.enterprise[app])
    return None if ent < 0 else str(snap.enterprises.id[ent])


def score(result: ScanResult, snap: Snapshot, truth: dict[str, Any]) -> list[PointScore]:
    """Per point of the catalogue, the catch and false-alert figures (see the module docstring)."""
    expected: dict[str, dict[str, str]] = defaultdict(dict)  # point -> uscc -> level
    for label in truth.get("labels", []):
        for point in label["points"]:
            prior = expected[point].get(label["uscc"])
            if prior is None or Level[label["level"].upper()] > Level[prior.upper()]:
                expected[point][label["uscc"]] = label["level"]
    found: dict[str, dict[str, Level]] = defaultdict(dict)  # point -> uscc -> highest level found
    out = {r.id: PointScore(r.id) for r in RULES}
    for f in result.findings:
        uscc = firm_of(snap, f.subject_type, f.subject_id)
        if uscc is None:
            continue
        sc = out[f.point_id]
        sc.alerts += 1
        if uscc not in expected[f.point_id]:
            sc.false += 1
            sc.false_firms.append(uscc)
        found[f.point_id][uscc] = max(found[f.point_id].get(uscc, Level.PROMPT), f.level)
    for point, firms in expected.items():
        if point not in out:
            continue
        sc = out[point]
        for uscc, level in sorted(firms.items()):
            sc.labelled += 1
            if uscc in found[point]:
                sc.caught += 1
                sc.at_level += found[point][uscc] == Level[level.upper()]
            else:
                sc.missed_firms.append(uscc)
    return list(out.values())


def render(scores: list[PointScore]) -> str:
    lines = ["point  labelled  caught  at level  missed  alerts  false"]
    for s in scores:
        d = s.as_dict()
        lines.append(f"{s.point_id:<6} {d['labelled']:>8} {d['caught']:>7} {d['at_level']:>9} {d['missed']:>7} "
                     f"{d['alerts']:>7} {d['false']:>6}")
    total = {k: sum(s.as_dict()[k] for s in scores) for k in ("labelled", "caught", "at_level", "missed", "alerts",
                                                               "false")}
    lines.append(f"{'all':<6} {total['labelled']:>8} {total['caught']:>7} {total['at_level']:>9} "
                 f"{total['missed']:>7} {total['alerts']:>7} {total['false']:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from datetime import date

    from types import SimpleNamespace

    from audit.loader import scan_gateway
    from chain.config import load_settings
    from chain.db import make_engine, session_factory

    ap = argparse.ArgumentParser(description="Score a full scan of the ledger against anomalies.json")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--anomalies", type=Path, required=True)
    ap.add_argument("--as-of", type=date.fromisoformat, default=None)
    args = ap.parse_args(argv)
    truth = json.loads(args.anomalies.read_text(encoding="utf-8"))
    settings = load_settings(args.data_dir)
    ctx = SimpleNamespace(settings=settings, sessions=session_factory(make_engine(settings.effective_database_url)))
    snap, result = scan_gateway(ctx, as_of=args.as_of or date.fromisoformat(truth["as_of"]))
    scores = score(result, snap, truth)
    print(render(scores), file=sys.stderr)
    print(json.dumps({"points": [s.as_dict() for s in scores],
                      "caught": sum(s.caught for s in scores), "labelled": sum(s.labelled for s in scores),
                      "alerts": sum(s.alerts for s in scores), "false": sum(s.false for s in scores)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
