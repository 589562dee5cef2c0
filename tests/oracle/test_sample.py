"""The synthetic district: determinism, exact anomaly share, and labels that match the files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from oracle import uscc
from oracle.adapters import parse_file
from oracle.facts import EnterpriseStatus
from oracle.keyed import phone_hash
from oracle.sample import generate, write
from oracle.sample.firms import id_check

KEY = b"alliance-test-secret"
AS_OF = date(2026, 6, 30)


def digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_deterministic_for_a_seed(tmp_path):
    write(generate(150, 0.2, seed=3), tmp_path / "a", broken=9)
    write(generate(150, 0.2, seed=3), tmp_path / "b", broken=9)
    write(generate(150, 0.2, seed=4), tmp_path / "c", broken=9)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert digests(tmp_path / "a")["registry.csv"] != digests(tmp_path / "c")["registry.csv"]


@pytest.mark.parametrize("n, share", [(200, 0.0), (200, 0.1), (333, 0.25), (50, 1.0), (1, 0.5), (7, 0.3)])
def test_anomaly_share_is_exact(n, share):
    sample = generate(n, share, seed=1, batch_size=20)
    assert len(sample.truth.anomalous) == round(n * share)
    assert len(sample.firms) == n


def test_identifiers_are_valid_and_unique(sample):
    codes = [f.uscc for f in sample.firms]
    assert len(set(codes)) == len(codes) and all(uscc.is_valid(c) and uscc.org_code_valid(c) for c in codes)
    people = {p.id_number for f in sample.firms for p in f.shareholders if not p.id_number.startswith("91")}
    assert all(id_check(i[:17]) == i[17] for i in people)
    assert len({f.name for f in sample.firms}) == len(sample.firms)


def test_kinds_cover_the_catalogue_at_scale():
    sample = generate(3000, 0.1, seed=7)
    kinds = Counter(label.kind for label in sample.truth.labels)
    assert len(sample.truth.anomalous) == 300
    assert {"deregistered", "revoked", "dishonest", "abnormal", "moved_out", "shell", "declared_mismatch",
            "inflated_figures", "changed_account", "payee_mismatch", "individual_payee", "rounding_difference",
            "paid_twice", "shared_address", "shared_phone", "shared_ip", "shared_account",
            "shared_controller"} <= set(kinds)
    points = {p for label in sample.truth.labels for p in label.points}
    assert {"APP2", "APP4", "APP5", "APP6", "PAY2", "PAY3", "PAY4"} <= points


@pytest.fixture(scope="module")
def district(sample_dir, truth):
    facts = {name: parse_file(sample_dir / name, hmac_key=KEY).facts
             for name in ("registry.csv", "tax.csv", "social_insurance.csv", "bank_return.csv")}
    declarations = {d["uscc"]: d for d in json.loads((sample_dir / "declarations.json").read_text("utf-8"))}
    labels = defaultdict(list)
    for label in truth["labels"]:
        labels[label["uscc"]].append(label)
    return facts, declarations, labels


def test_labels_match_the_source_files(district, truth):
    facts, declarations, labels = district
    registry = {f.uscc: f for f in facts["registry.csv"]}
    staff = defaultdict(dict)
    for f in facts["social_insurance.csv"]:
        staff[f.uscc][f.month] = f.insured_headcount
    taxes = defaultdict(dict)
    for f in facts["tax.csv"]:
        taxes[f.uscc][f.year] = f
    assert truth["anomalous_enterprises"] == len(labels) == round(400 * 0.15)
    assert len({found[0]["kind"] for found in labels.values()}) >= 18
    for code, found in labels.items():
        assert len(found) == 1
        label, fact, declared = found[0], registry[code], declarations[code]
        kind, detail = label["kind"], label["detail"]
        if kind in ("deregistered", "revoked", "dishonest", "abnormal"):
            assert fact.status == EnterpriseStatus(kind)
        else:
            assert fact.status is EnterpriseStatus.ACTIVE
        if kind == "moved_out":
            assert fact.registered_district != "350102" and label["level"] == "warning"
        if kind == "shell":
            signals = detail["signals"]
            assert label["level"] == ("prompt", "warning", "alarm")[len(signals) - 1]
            assert ("zero_insured" in signals) == all(v == 0 for v in staff[code].values())
            assert taxes[code] and staff[code]
            assert ("near_zero_tax" in signals) == all(t.tax_paid <= 10_000 for t in taxes[code].values())
            assert ("young" in signals) == (fact.established > AS_OF - timedelta(days=365))
            assert ("young" in signals) == (len(taxes[code]) == 1)
        if kind == "inflated_figures":
            key = {"revenue": "revenue_yuan", "tax_paid": "tax_paid_yuan", "staff": "staff"}[detail["figure"]]
            official = {"revenue": taxes[code][2025].revenue, "tax_paid": taxes[code][2025].tax_paid,
                        "staff": staff[code]["2026-05"]}[detail["figure"]]
            value = declared[key] if key == "staff" else round(float(declared[key]) * 100)
            ratio = value / official
            assert label["level"] == ("alarm" if ratio > 1.5 else "warning" if ratio > 1.3 else "prompt")
            assert ratio > 1.1
        if kind == "declared_mismatch":
            differing = [k for k in ("name", "legal_representative", "address", "business_scope")
                         if declared[k] != getattr(fact, k)]
            if declared["registered_capital_yuan"] != f"{fact.registered_capital / 100:.2f}":
                differing.append("registered_capital")
            assert sorted(differing) == sorted(detail["fields"])
        if kind == "changed_account":
            assert (AS_OF - date.fromisoformat(declared["bank_account"]["since"])).days < 30
        if kind == "individual_payee":
            assert declared["bank_account"]["holder_type"] == "individual"
        if kind == "payee_mismatch":
            assert declared["bank_account"]["holder_name"] != fact.name


def test_normal_firms_are_clean(district, truth):
    facts, declarations, labels = district
    registry = {f.uscc: f for f in facts["registry.csv"]}
    normal = [code for code in registry if code not in labels]
    assert len(normal) == 400 - len(labels)
    for f in facts["social_insurance.csv"]:
        if f.uscc not in labels:
            assert f.insured_headcount >= 3
    for f in facts["tax.csv"]:
        if f.uscc not in labels:
            assert f.tax_paid >= 2_000_000
    for code in normal:
        fact, declared = registry[code], declarations[code]
        assert fact.status is EnterpriseStatus.ACTIVE and fact.registered_district == "350102"
        assert (AS_OF - fact.established).days >= 730
        assert declared["name"] == fact.name and declared["bank_account"]["holder_name"] == fact.name
    for attribute in ("address", "phone_hash", "controller_hash"):
        values = [getattr(registry[c], attribute) for c in normal]
        assert len(set(values)) == len(values), attribute


def test_clusters_share_what_they_say(district, truth):
    facts, declarations, _ = district
    registry = {f.uscc: f for f in facts["registry.csv"]}
    for cluster in truth["clusters"]:
        members = cluster["members"]
        attribute = {"shared_address": lambda c: registry[c].address,
                     "shared_phone": lambda c: registry[c].phone_hash,
                     "shared_ip": lambda c: declarations[c]["submit_ip"],
                     "shared_account": lambda c: declarations[c]["bank_account"]["account_no"],
                     "shared_controller": lambda c: registry[c].controller_hash}[cluster["kind"]]
        assert len({attribute(c) for c in members}) == 1 and 2 <= len(members) <= 4


def test_payout_anomalies_show_in_the_bank_return(district, truth, sample):
    facts, declarations, labels = district
    lines = defaultdict(list)
    for f in facts["bank_return.csv"]:
        lines[f.uscc].append(f)
    exported = {(x.firm.uscc, x.line_no): x.exported for x in sample.payout}
    for code, found in labels.items():
        kind = found[0]["kind"]
        if kind in ("paid_twice", "overpaid", "rounding_difference", "individual_payee", "payee_mismatch"):
            assert code in lines, kind
        approved = round(float(declarations[code]["approved_amount_yuan"] or 0) * 100)
        if kind == "paid_twice":
            assert [x.status for x in lines[code]] == ["paid", "paid"]
        if kind == "overpaid":
            assert lines[code][0].amount > approved
        if kind == "rounding_difference":
            assert abs(lines[code][0].amount - exported[(code, lines[code][0].line_no)]) == 1
    failed = [f.line_no for f in facts["bank_return.csv"] if f.status == "failed"]
    assert failed == truth["payout"]["failed_lines"]


def test_cli(tmp_path):
    out = tmp_path / "cli"
    run = subprocess.run([sys.executable, "-m", "oracle.sample", "--enterprises", "60", "--out", str(out),
                          "--anomalies", "0.1", "--seed", "7", "--broken", "4", "--encoding", "gb18030"],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], check=True)
    assert "60 enterprises, 6 anomalous" in run.stdout
    assert {p.name for p in out.iterdir()} == {"registry.csv", "registry.json", "tax.csv", "social_insurance.csv",
                                               "payout_batch.csv", "bank_return.csv", "declarations.json",
                                               "anomalies.json"}
    result = parse_file(out / "registry.csv", hmac_key=KEY)
    assert result.encoding == "gb18030" and len(result.good) == 60 and len(result.error_lines) == 1
    truth = json.loads((out / "anomalies.json").read_text("utf-8"))
    assert truth["anomalous_enterprises"] == 6 and len(truth["broken_lines"]) == 4
    assert phone_hash(KEY, json.loads((out / "declarations.json").read_text("utf-8"))[0]["phone"])
