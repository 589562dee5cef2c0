"""Scoring a scan against injected anomalies (anomalies.json of oracle.sample): caught, at the labelled
level, missed, and alerts on firms the injector did not label."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from audit.engine import Engine
from audit.groundtruth import firm_of, render, score
from audit.synthetic import clean_ledger
from chain.config import Settings, render_config
from chain.db import Base, make_engine, session_factory
from tests.audit.test_engine_loader import POL, U1, U2, _fill, tables

E = [None] + [f"91330100MA0000000{k}" for k in range(1, 7)]
ROOT = Path(__file__).resolve().parents[2]


def test_score_counts_caught_missed_and_false():
    s = clean_ledger()
    s.set("applications", "A1", decl_revenue_fen=2_620_000_000)  # 31 %: APP5 warning, as labelled
    s.set("payout_lines", "B1:1", payee_name="Other Co")  # PAY2 warning on A1's payout line, labelled prompt
    s.set("applications", "A3", decl_address="99 Other Road")  # APP2 on E3: not labelled -> a false alert
    truth = {"labels": [
        {"uscc": E[1], "kind": "inflated_figures", "points": ["APP5"], "level": "warning"},
        {"uscc": E[1], "kind": "changed_account", "points": ["PAY2"], "level": "prompt"},
        {"uscc": E[2], "kind": "shell", "points": ["APP4"], "level": "prompt"},  # not injected: missed
    ]}
    snap = s.build()
    result = Engine().scan(snap)
    assert firm_of(snap, "payout", "B1:1") == E[1] and firm_of(snap, "policy", "P1") == "policy:P1"
    by = {x.point_id: x.as_dict() for x in score(result, snap, truth)}
    assert by["APP5"] == {"point": "APP5", "labelled": 1, "caught": 1, "at_level": 1, "missed": 0, "alerts": 1,
                          "false": 0}
    assert (by["PAY2"]["caught"], by["PAY2"]["at_level"]) == (1, 0)  # caught, but at warning, not the label's prompt
    assert (by["APP4"]["labelled"], by["APP4"]["missed"], by["APP4"]["alerts"]) == (1, 1, 0)
    assert (by["APP2"]["alerts"], by["APP2"]["false"], by["APP2"]["labelled"]) == (1, 1, 0)
    assert len(by) == 29
    table = render(score(result, snap, truth))
    assert by["NOT3"]["false"] == 1  # the changed payee also is not the one on the notice: not labelled
    assert table.splitlines()[-1].split() == ["all", "3", "2", "1", "1", "4", "2"]


def test_cli_scans_a_data_dir_and_prints_the_json_summary(tmp_path):
    db = tmp_path / "gateway.db"
    (tmp_path / "config.toml").write_text(render_config(Settings(data_dir=tmp_path, database_url=f"sqlite:///{db}")),
                                          encoding="utf-8")
    engine = make_engine(f"sqlite:///{db}")
    Base.metadata.create_all(engine, tables=tables())
    with session_factory(engine)() as s:
        _fill(s)
        s.commit()
    engine.dispose()
    anomalies = tmp_path / "anomalies.json"
    anomalies.write_text(json.dumps({"as_of": "2026-09-01", "labels": [
        {"uscc": U2, "kind": "revoked", "points": ["APP2", "PAY4"], "level": "alarm"},
        {"uscc": U1, "kind": "abnormal", "points": ["PAY4"], "level": "prompt"}]}), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "audit.groundtruth", "--data-dir", str(tmp_path), "--anomalies",
                           str(anomalies)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    points = {p["point"]: p for p in out["points"]}
    assert points["PAY4"]["caught"] == 1 and points["PAY4"]["at_level"] == 1  # U1 abnormal before payout
    assert points["APP2"]["caught"] == 1  # U2 revoked
    assert out["labelled"] == 3 and out["caught"] == 2  # U2's PAY4: its application is not approved
    assert "PUB2" in points and POL
