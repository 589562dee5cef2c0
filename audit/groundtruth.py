"""Score a scan against injected anomalies: how many were caught, how many alerts were false.

The ground truth is ``anomalies.json`` of ``python -m oracle.sample`` (see :mod:`oracle.sample.anomalies`):
labels ``{uscc, kind, points, level}``, or the demo's ``demo_anomalies.json`` (:mod:`gateway.demo.plan`):
``anomalies`` ``{point, level, subject, subject_id, uscc, method, rows}``. A finding belongs to the firm of
its subject (an application's applicant; a payout line's application's applicant) or, for a policy, to
the policy. Per point:

* ``labelled`` — firms with a label naming the point; ``caught`` — of those, firms with a finding of
  that point; ``at_level`` — caught at exactly the label's level; ``missed`` — labelled, no finding;
* ``alerts`` — findings of the point on firms; ``false`` — of those, on firms with no label naming the
  point (an anomaly of another kind, or none). A "false" alert is a signal the injector did not plant:
  some are real by construction (e.g. a revoked firm also trips PAY4), so read them, don't just count.

``python -m audit.groundtruth --data-dir DIR --anomalies anomalies.json [--as-of YYYY-MM-DD] [--chain]
[--keyed] [--external]`` scans the gateway's ledger in ``DIR`` and prints the table and a JSON summary.
``--chain`` compares every application row with the chain's record (REV6) and checks licence-backed
materials against the chain (APP1: licences revoked, suspended or expired while the application awaited
review); it starts the embedded node when it is not running. ``--keyed`` unseals the alliance secret
(passphrase from ``$ALLIANCE_PASSPHRASE`` or a prompt) so that drawn agencies compare with the registry's
keyed parties (REV3: a firm linked to the applicant); ``--external`` merges the manifest's ``snapshot_input``
rows (data from outside the ledger, see :mod:`gateway.demo.plan`) into the snapshot, negative dates counted in
days before ``as_of``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
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
    """The USCC a finding's subject belongs to; ``policy:ID`` for a policy."""
    if subject_type == "policy":
        return f"policy:{subject_id}"
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
    for label in labels(truth):
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


def labels(truth: dict[str, Any]) -> list[dict[str, Any]]:
    """The labels of either manifest: the sample's as they are; the demo's anomalies as one label each,
    keyed by the firm (application / payout subjects) or ``policy:ID``."""
    out = list(truth.get("labels", []))
    for x in truth.get("anomalies", []):
        key = f"policy:{x['subject_id']}" if x["subject"] == "policy" else x.get("uscc")
        if key and (x["subject"] != "policy" or x.get("subject_id")):
            out.append({"uscc": key, "points": [x["point"]], "level": x["level"], "kind": x.get("method")})
    return out


def external_rows(truth: dict[str, Any], as_of: date) -> list[dict[str, Any]]:
    """The manifest's ``snapshot_input`` rows with relative dates (negative integers in date columns: days
    before ``as_of``) made ISO dates."""
    from audit.snapshot import COLUMNS

    out = []
    for x in truth.get("anomalies", []):
        if x.get("method") != "snapshot_input":
            continue
        for item in x.get("rows", []):
            kinds = {name: c.kind for name, c in COLUMNS[item["table"]].items()}
            row = {k: (as_of + timedelta(days=v)).isoformat() if kinds.get(k) == "date" and isinstance(v, int)
                   else v for k, v in item["row"].items()}
            out.append({"table": item["table"], "row": row})
    return out


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
    from contextlib import ExitStack
    from types import SimpleNamespace

    from audit.loader import scan_gateway
    from chain.config import load_settings
    from chain.db import make_engine, session_factory

    ap = argparse.ArgumentParser(description="Score a full scan of the ledger against anomalies.json")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--anomalies", type=Path, required=True)
    ap.add_argument("--as-of", type=date.fromisoformat, default=None)
    ap.add_argument("--chain", action="store_true",
                    help="compare every application with the chain (REV6) and check licence-backed materials (APP1)")
    ap.add_argument("--keyed", action="store_true",
                    help="unseal the alliance secret ($ALLIANCE_PASSPHRASE or a prompt): drawn agencies keyed as "
                         "registry parties (REV3)")
    ap.add_argument("--external", action="store_true", help="merge the manifest's snapshot_input rows")
    args = ap.parse_args(argv)
    try:
        truth = json.loads(args.anomalies.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"groundtruth: cannot read {args.anomalies}: {exc}", file=sys.stderr)
        return 2
    settings = load_settings(args.data_dir)
    as_of = args.as_of or date.fromisoformat(truth["as_of"])
    external = external_rows(truth, as_of) if args.external else None
    with ExitStack() as stack:
        if args.chain:
            from gateway.runtime import open_runtime

            rt = stack.enter_context(open_runtime(settings, None, keys=False))
            ctx = SimpleNamespace(settings=settings, sessions=rt.ledger.sessions, ledger=rt.ledger)
        else:
            ctx = SimpleNamespace(settings=settings,
                                  sessions=session_factory(make_engine(settings.effective_database_url)))
        if args.keyed:
            from chain.keystore import KeystoreError, unseal_secret
            from gateway.runtime import read_passphrase

            try:
                ctx.hmac_key = unseal_secret(settings.alliance_secret_file, read_passphrase())
            except KeystoreError as exc:
                print(f"groundtruth: cannot unseal the alliance secret: {exc}", file=sys.stderr)
                return 2
        snap, result = scan_gateway(ctx, as_of=as_of, external=external)
    scores = score(result, snap, truth)
    print(render(scores), file=sys.stderr)
    fired = {r.id: 0 for r in RULES}
    for f in result.findings:
        fired[f.point_id] += 1
    print(json.dumps({"points": [s.as_dict() for s in scores], "fired": fired,
                      "points_silent": [p for p, n in fired.items() if n == 0],
                      "caught": sum(s.caught for s in scores), "labelled": sum(s.labelled for s in scores),
                      "alerts": sum(s.alerts for s in scores), "false": sum(s.false for s in scores)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
