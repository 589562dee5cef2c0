"""Ledgers for testing and benchmarking the supervision rules.

* :func:`clean_ledger` — a small, fully documented ledger in which every point has something to
  judge and nothing trips: one policy, six eligible firms, five applications, the first (``A1``)
  carried through review, notice, payout and use. Tests change one fact at a time and check the
  level each point reaches (tests/audit/test_rules_*.py).
* :func:`generate` — a synthetic ledger of any size built directly as arrays, with a fixed seed and
  a realistic sprinkling of anomalies for every point (scripts/bench_audit.py).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from audit.snapshot import COLUMNS, SCHEMA, Snapshot, SnapshotBuilder, day

AS_OF = "2026-09-01"  # a Tuesday


class Scenario:
    """Rows per table (dicts, as :class:`SnapshotBuilder` takes them) that a test can edit."""

    def __init__(self, rows: dict[str, list[dict[str, Any]]], as_of: str = AS_OF):
        self.rows = rows
        self.as_of = as_of

    def copy(self) -> "Scenario":
        return Scenario(copy.deepcopy(self.rows), self.as_of)

    def row(self, table: str, key: str | int) -> dict[str, Any]:
        rows = self.rows[table]
        if isinstance(key, int):
            return rows[key]
        for r in rows:
            if r.get("id") == key:
                return r
        raise KeyError(f"{table}: no row {key!r}")

    def set(self, table: str, key: str | int, **values: Any) -> "Scenario":
        self.row(table, key).update(values)
        return self

    def add(self, table: str, **values: Any) -> "Scenario":
        self.rows[table].append(values)
        return self

    def where(self, table: str, **match: Any) -> list[dict[str, Any]]:
        return [r for r in self.rows[table] if all(r.get(k) == v for k, v in match.items())]

    def drop(self, table: str, **match: Any) -> "Scenario":
        self.rows[table] = [r for r in self.rows[table] if not all(r.get(k) == v for k, v in match.items())]
        return self

    def build(self) -> Snapshot:
        b = SnapshotBuilder()
        for table, rows in self.rows.items():
            for r in rows:
                b.add(table, **r)
        return b.build(self.as_of)


def clean_ledger() -> Scenario:
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in SCHEMA}
    add = lambda t, **v: rows[t].append(v)  # noqa: E731
    add("policies", id="P1", department="INDUSTRY", status="published", drafter="drafter-1", issue="2026-03-02",
        guide="2026-03-04", open="2026-03-09", close="2026-04-30", valid_until="2027-12-31", missing_fields=0,
        criteria_changed="2026-03-03", eligibility_run=1, cap_fen=10_000_000, review_wd=60, auto_grant=0)
    names = ["Acme Robotics Co., Ltd.", "Birch Optics Co., Ltd.", "Cedar Foods Co., Ltd.", "Delta Motors Co., Ltd.",
             "Elm Software Co., Ltd.", "Fir Textiles Co., Ltd."]
    for k, name in enumerate(names, start=1):
        add("enterprises", id=f"91330100MA0000000{k}", name=name, legal_rep=f"Legal Rep {k}", capital_fen=100_000_000,
            address=f"{k} Harbour Road", scope="manufacturing", status="active", established="2015-06-01",
            controller=f"controller-{k}", insured_staff=50, tax_paid_fen=10_000_000, revenue_fen=2_000_000_000,
            utility_kwh=120_000)
        add("eligible", policy="P1", enterprise=f"91330100MA0000000{k}", notified=1)
        add("relations", party=f"shareholder-{k}", enterprise=f"91330100MA0000000{k}", kind="shareholder")
    for k in range(1, 6):
        main = k == 1
        add("applications", id=f"A{k}", policy="P1", enterprise=f"91330100MA0000000{k}",
            submitted="2026-03-10" if main else "2026-04-20", decision="approved" if main else "rejected",
            project=f"Project {k}", category="equipment", year=2026, requested_fen=5_000_000, formula_fen=5_000_000,
            approved_fen=5_000_000 if main else None, approved="2026-03-20" if main else None, materials_missing=0,
            forwarded="2026-03-11" if main else "2026-04-21", reviewed="2026-03-20" if main else "2026-05-06",
            decl_name=names[k - 1], decl_legal_rep=f"Legal Rep {k}", decl_capital_fen=100_000_000,
            decl_address=f"{k} Harbour Road", decl_scope="manufacturing", decl_revenue_fen=2_000_000_000,
            decl_staff=50, decl_tax_fen=10_000_000, unanchored_docs=0, phone=f"phone-{k}", ip=f"ip-{k}",
            bank_account=f"account-{k}", contact_address=f"{k} Harbour Road", hash_ok=1)
        add("invoices", application=f"A{k}", number=f"INV-{k:03d}")
        add("reviews", application=f"A{k}", reviewer="reviewer-1", recused=0, minutes=30, passed=1 if main else 0,
            hardfail_overridden=0)
        add("draws", application=f"A{k}", firm=f"verifier-{k}", log_complete=1, overridden=0)
    for level, role, signed in ((1, "clerk", "2026-03-20"), (2, "head", "2026-03-23"), (3, "director", "2026-03-24")):
        add("signoffs", application="A1", level=level, role=role, expected_role=role, signed=signed, due="2026-03-25")
    add("notices", application="A1", published="2026-03-25", planned_end="2026-04-01", closed="2026-04-01",
        planned_payout="2026-04-08", listed_name=names[0], listed_amount_fen=5_000_000)
    add("objections", application="A1", received="2026-03-26", replied="2026-03-27", closed="2026-03-27")
    add("payout_lines", id="B1:1", application="A1", planned="2026-04-08", export_fen=5_000_000, bank_fen=5_000_000,
        bank_status="paid", bank_date="2026-04-08", payee_name=names[0], account_type="corporate",
        account_changed="2025-01-10")
    add("usage", application="A1", category="equipment", amount_fen=3_000_000, reported="2026-07-01")
    add("usage", application="A1", category="training", amount_fen=2_000_000, reported="2026-07-01")
    add("transfers", application="A1", date="2026-04-20", amount_fen=1_000_000, kind="transfer",
        counterparty="supplier-1", counterparty_since="2024-01-01", counterparty_link="none")
    add("performance", application="A1", due="2026-07-15", reported="2026-07-10", target=100, achieved=90,
        commitment_end="2028-12-31")
    add("rectifications", application="A1", kind="rectification", due="2026-08-01", done="2026-07-20", amount_fen=0)
    return Scenario(rows)


# ---------------------------------------------------------------------- synthetic ledger


def generate(n_apps: int, seed: int = 20261201, as_of: str = AS_OF) -> Snapshot:
    """A synthetic ledger of ``n_apps`` applications with every table filled and anomalies for every
    point at realistic rates (mostly 0.2-3% of subjects per point)."""
    rng = np.random.default_rng(seed)
    today = day(as_of)
    n_pol = max(12, n_apps // 500)
    n_ent = max(10, int(n_apps * 0.6))
    i32, i64 = np.int32, np.int64

    def rate(p: float, n: int) -> np.ndarray:
        return rng.random(n) < p

    def days_before(n: int, lo: int, hi: int) -> np.ndarray:
        return (today - rng.integers(lo, hi, n)).astype(i32)

    vocab: dict[str, list[str]] = {
        "department": [f"DEPT{k:02d}" for k in range(14)],
        "policy_status": ["draft", "published", "closed"],
        "decision": ["pending", "approved", "rejected", "withdrawn"],
        "ent_status": ["active", "abnormal", "deregistered", "revoked", "dishonest"],
        "change": ["abnormal", "moved_out", "deregistered", "revoked", "dishonest"],
        "relation": ["shareholder", "officer", "controller", "indirect", "relative", "former_employee"],
        "bank_status": ["paid", "failed"],
        "account_type": ["corporate", "individual", "agent", "department"],
        "use_category": ["equipment", "training", "rent", "entertainment", "wages", "debt"],
        "transfer_kind": ["cash", "transfer"],
        "link": ["none", "official", "agent"],
        "role": ["clerk", "head", "director"],
        "rect_kind": ["rectification", "clawback"],
        "category": [f"cat{k}" for k in range(200)],
        "text": ["reason"],
    }
    # names: code k = the registry name of firm k; n_ent + k = a formatting variant; 2 n_ent + k = another name
    vocab["name"] = [f"Firm {k} Co" for k in range(n_ent)] + [f"FIRM {k} co." for k in range(n_ent)] + \
        [f"Other {k} Ltd" for k in range(n_ent)]
    vocab["person_name"] = [f"Rep {k}" for k in range(n_ent)] + [f"Someone {k}" for k in range(n_ent)]
    vocab["address"] = [f"{k} Road" for k in range(n_ent)] + [f"{k} Street" for k in range(n_ent)]
    vocab["scope"] = ["manufacturing", "software", "trade", "services"]
    n_party = n_ent + 2000
    vocab["party"] = [f"party-{k}" for k in range(n_party)]
    vocab["project"] = [f"project{k}" for k in range(n_apps + 1)]
    vocab["phone"] = [f"phone-{k}" for k in range(n_apps)]
    vocab["ip"] = [f"ip-{k}" for k in range(n_apps)]
    vocab["account"] = [f"acct-{k}" for k in range(n_apps)]
    vocab["invoice"] = [f"inv-{k}" for k in range(n_apps)]

    # ---- policies
    issue = days_before(n_pol, 200, 400)
    guide = (issue + rng.integers(1, 7, n_pol)).astype(i32)
    guide[rate(0.05, n_pol)] += 10
    opened = (guide + rng.integers(1, 5, n_pol)).astype(i32)
    policies = dict(
        id=np.array([f"P{k:05d}" for k in range(n_pol)], dtype=object),
        department=rng.choice(14, n_pol, p=[0.01] + [0.99 / 13] * 13).astype(i32), status=np.ones(n_pol, i32),
        drafter=(n_ent + rng.integers(0, 2000, n_pol)).astype(i32), issue=issue, guide=guide, open=opened,
        close=(opened + rng.integers(20, 90, n_pol)).astype(i32), valid_until=np.full(n_pol, today + 400, i32),
        missing_fields=np.where(rate(0.08, n_pol), 4, 0).astype(i64),
        criteria_changed=np.where(rate(0.08, n_pol), opened + 3, issue).astype(i32),
        eligibility_run=np.ones(n_pol, np.int8), cap_fen=np.full(n_pol, 10_000_000, i64),
        review_wd=np.full(n_pol, 60, i64), auto_grant=rate(0.05, n_pol).astype(np.int8),
        grant_deadline=np.full(n_pol, today - 10, i32),
    )

    # at least one of each policy-level anomaly, whatever the size
    policies["guide"][0] += 10
    policies["missing_fields"][1] = 4
    policies["criteria_changed"][2] = opened[2] + 3

    # ---- enterprises
    ent_status = np.zeros(n_ent, i32)
    ent_status[rate(0.004, n_ent)] = 3
    enterprises = dict(
        id=np.array([f"E{k:08d}" for k in range(n_ent)], dtype=object), name=np.arange(n_ent, dtype=i32),
        legal_rep=np.arange(n_ent, dtype=i32), capital_fen=np.full(n_ent, 100_000_000, i64),
        address=np.arange(n_ent, dtype=i32), scope=rng.integers(0, 4, n_ent).astype(i32), status=ent_status,
        established=days_before(n_ent, 900, 6000), controller=np.arange(n_ent, dtype=i32),
        insured_staff=np.where(rate(0.02, n_ent), 0, rng.integers(5, 300, n_ent)).astype(i64),
        tax_paid_fen=np.where(rate(0.02, n_ent), 0, rng.integers(100_000, 50_000_000, n_ent)).astype(i64),
        revenue_fen=rng.integers(10_000_000, 5_000_000_000, n_ent).astype(i64),
        utility_kwh=np.where(rate(0.3, n_ent), -1, rng.integers(1_000, 500_000, n_ent)).astype(i64),
    )
    # a few controllers behind two firms
    shared_ctrl = np.flatnonzero(rate(0.01, n_ent))
    enterprises["controller"][shared_ctrl] = np.maximum(shared_ctrl - 1, 0)

    # ---- applications
    pol = rng.integers(0, n_pol, n_apps).astype(i32)
    ent = rng.integers(0, n_ent, n_apps).astype(i32)
    submitted = (opened[pol] + rng.integers(0, 20, n_apps)).astype(i32)
    decision = rng.choice(4, n_apps, p=[0.1, 0.7, 0.18, 0.02]).astype(i32)
    submitted[decision == 0] = today - rng.integers(1, 90, int((decision == 0).sum()))
    approved_mask = decision == 1
    reviewed = np.where(decision == 0, -1, submitted + rng.integers(5, 40, n_apps)).astype(i32)
    reviewed[rate(0.01, n_apps) & (decision != 0)] += 120
    amount = rng.integers(100_000, 9_000_000, n_apps).astype(i64)
    amount[rate(0.005, n_apps)] = 10_000_100
    project = np.arange(n_apps, dtype=i32)
    dup = np.flatnonzero(rate(0.005, n_apps))
    ent[dup] = ent[np.maximum(dup - 1, 0)]
    project[dup] = project[np.maximum(dup - 1, 0)]
    decl_name = ent.copy()
    decl_name[rate(0.01, n_apps)] += n_ent
    decl_addr = ent.copy()
    decl_addr[rate(0.01, n_apps)] += n_ent
    staff = enterprises["insured_staff"][ent]
    decl_staff = np.where(rate(0.03, n_apps), (staff * rng.choice([1.15, 1.35, 1.6], n_apps)).astype(i64) + 1,
                          staff).astype(i64)
    phone = np.arange(n_apps, dtype=i32)
    cl = np.flatnonzero(rate(0.01, n_apps))
    phone[cl] = phone[np.maximum(cl - 1, 0)]
    cc = cl[rate(0.2, len(cl))]
    enterprises["controller"][ent[cc]] = enterprises["controller"][ent[np.maximum(cc - 1, 0)]]
    account = np.arange(n_apps, dtype=i32)
    ca = np.flatnonzero(rate(0.002, n_apps))
    account[ca] = account[np.maximum(ca - 1, 0)]
    materials = np.where(rate(0.03, n_apps), 1, 0).astype(i64)
    supplied = np.where(materials > 0, np.where(rate(0.5, n_apps), submitted + 3, -1), -1).astype(i32)
    forwarded = np.where(materials > 0, np.where(supplied >= 0, supplied + 1,
                                                 np.where(rate(0.2, n_apps), submitted + 1, -1)),
                         submitted + 1).astype(i32)
    applications = dict(
        id=np.array([f"0x{k:064x}" for k in range(n_apps)], dtype=object), policy=pol, enterprise=ent,
        submitted=submitted, decision=decision, project=project, category=rng.integers(0, 200, n_apps).astype(i32),
        year=np.full(n_apps, 2026, i64), requested_fen=amount, formula_fen=np.maximum(amount, 10_000_000),
        approved_fen=np.where(approved_mask, amount, -1), approved=np.where(approved_mask, reviewed, -1).astype(i32),
        materials_missing=materials,
        materials_supplied=supplied,
        forwarded=forwarded, reviewed=reviewed, decl_name=decl_name, decl_legal_rep=ent.copy(),
        decl_capital_fen=np.full(n_apps, 100_000_000, i64), decl_address=decl_addr,
        decl_scope=enterprises["scope"][ent], decl_revenue_fen=enterprises["revenue_fen"][ent],
        decl_staff=decl_staff, decl_tax_fen=enterprises["tax_paid_fen"][ent],
        unanchored_docs=np.where(rate(0.001, n_apps), 1, 0).astype(i64), phone=phone, ip=np.arange(n_apps, dtype=i32),
        bank_account=account, contact_address=decl_addr.copy(),
        hash_ok=np.where(rate(0.001, n_apps), 0, 1).astype(np.int8),
    )

    # ---- children of applications (one row each for most, vectorised)
    apps = np.arange(n_apps, dtype=i32)
    approved_apps = apps[approved_mask]
    na = len(approved_apps)
    invoices = dict(application=apps, number=np.arange(n_apps, dtype=i32))
    inv_dup = np.flatnonzero(rate(0.002, n_apps))
    invoices["number"][inv_dup] = invoices["number"][np.maximum(inv_dup - 1, 0)]
    n_rev = 200
    reviews = dict(application=apps, reviewer=(n_ent + rng.integers(0, n_rev, n_apps)).astype(i32),
                   recused=np.zeros(n_apps, np.int8), minutes=np.where(rate(0.01, n_apps), 2, 30).astype(i64),
                   passed=(decision == 1).astype(np.int8),
                   hardfail_overridden=np.where(rate(0.002, n_apps), 1, 0).astype(np.int8),
                   override_reason=np.full(n_apps, -1, i32))
    reviews["passed"][reviews["reviewer"] < n_ent + 2] = 1  # two reviewers pass everything
    firm = n_ent + 1000 + rng.integers(0, 50, n_apps)
    captured = (policies["department"][pol] == 0) & rate(0.5, n_apps)  # one department favours one firm
    firm[captured] = n_ent + 1000
    draws = dict(application=apps, firm=firm.astype(i32),
                 log_complete=np.where(rate(0.01, n_apps), 0, 1).astype(np.int8),
                 overridden=np.where(rate(0.001, n_apps), 1, 0).astype(np.int8))
    # relations: each firm's controller; some reviewers linked to applicants
    linked = np.flatnonzero(rate(0.002, n_apps))
    relations = dict(
        party=np.concatenate([enterprises["controller"], reviews["reviewer"][linked]]).astype(i32),
        enterprise=np.concatenate([np.arange(n_ent, dtype=i32), ent[linked]]).astype(i32),
        kind=np.concatenate([np.full(n_ent, 2), rng.integers(0, 6, len(linked))]).astype(i32))
    niche = rate(0.05, n_pol)  # criteria only one firm meets
    niche[3] = True
    first_of_policy = np.zeros(n_apps, dtype=bool)
    first_of_policy[np.unique(pol, return_index=True)[1]] = True
    el = ~niche[pol] | first_of_policy
    eligible = dict(policy=pol[el], enterprise=ent[el],
                    notified=np.where(rate(0.0003, int(el.sum())), 0, 1).astype(np.int8))
    ap = approved_apps
    rv = reviewed[ap]
    signoffs = dict(
        application=np.repeat(ap, 3), level=np.tile(np.array([1, 2, 3], i64), na),
        role=np.tile(np.array([0, 1, 2], i32), na), expected_role=np.tile(np.array([0, 1, 2], i32), na),
        signed=np.repeat(rv, 3).astype(i32), due=np.repeat(rv + 3, 3).astype(i32))
    signoffs["signed"][rate(0.005, 3 * na)] += 5
    signoffs["signed"][rate(0.002, 3 * na)] = -1
    pub = (rv + 2).astype(i32)
    notices = dict(application=ap, published=pub, planned_end=(pub + 7).astype(i32),
                   closed=(pub + 7).astype(i32), planned_payout=(pub + 14).astype(i32),
                   listed_name=ent[ap].astype(i32), listed_amount_fen=amount[ap])
    notices["planned_end"][rate(0.01, na)] -= 4
    objections_apps = ap[rate(0.02, na)]
    no = len(objections_apps)
    orec = (reviewed[objections_apps] + 3).astype(i32)
    objections = dict(application=objections_apps, received=orec,
                      replied=np.where(rate(0.8, no), orec + 2, -1).astype(i32),
                      closed=np.where(rate(0.8, no), orec + 3, -1).astype(i32))
    bank_date = np.where(rv + 12 < today, rv + 12 + rng.integers(0, 10, na), -1).astype(i32)
    bank_date[rate(0.01, na)] += 40
    status = np.where(bank_date >= 0, 0, -1).astype(i32)
    status[rate(0.005, na) & (bank_date >= 0)] = 1
    bank = amount[ap].copy()
    bank[rate(0.002, na)] += 50
    payout_lines = dict(
        id=np.array([f"B{k // 500}:{k % 500}" for k in range(na)], dtype=object), application=ap,
        planned=(pub + 14).astype(i32), export_fen=amount[ap], bank_fen=np.where(status >= 0, bank, -1),
        bank_status=status, bank_date=bank_date, resolved=np.full(na, -1, i32),
        payee_name=np.where(rate(0.003, na), ent[ap] + 2 * n_ent, ent[ap]).astype(i32),
        account_type=np.where(rate(0.002, na), 1, 0).astype(i32),
        account_changed=np.where(rate(0.01, na), bank_date - 5, bank_date - 400).astype(i32))
    late_notice = rate(0.003, na) & (bank_date >= 0)
    notices["published"][late_notice] = bank_date[late_notice] + 1
    payout_lines["bank_fen"][rate(0.001, na) & (status == 0)] += 1_000_000
    paid_apps = ap[status == 0]
    npd = len(paid_apps)
    usage = dict(application=np.repeat(paid_apps, 2),
                 category=np.where(rate(0.01, 2 * npd), 4, rng.integers(0, 3, 2 * npd)).astype(i32),
                 amount_fen=np.repeat(amount[paid_apps] // 2, 2), reported=np.full(2 * npd, today - 30, i32))
    pdate = bank_date[status == 0]
    transfers = dict(application=paid_apps, date=(pdate + 10).astype(i32), amount_fen=amount[paid_apps] // 4,
                     kind=np.where(rate(0.01, npd), 0, 1).astype(i32),
                     counterparty=(n_ent + 1500 + rng.integers(0, 400, npd)).astype(i32),
                     counterparty_since=np.where(rate(0.01, npd), pdate + 1, pdate - 300).astype(i32),
                     counterparty_link=np.where(rate(0.001, npd), 1, 0).astype(i32))
    performance = dict(application=paid_apps, due=(pdate + 90).astype(i32),
                       reported=np.where(rate(0.02, npd), -1, pdate + 80).astype(i32),
                       target=np.full(npd, 100, i64),
                       achieved=np.where(rate(0.02, npd), 50, 95).astype(i64),
                       commitment_end=(pdate + 1000).astype(i32))
    rect_apps = paid_apps[rate(0.01, npd)]
    nr = len(rect_apps)
    rectifications = dict(application=rect_apps, kind=np.ones(nr, i32),
                          due=(today + rng.integers(-200, 30, nr)).astype(i32),
                          done=np.where(rate(0.5, nr), today - 1, -1).astype(i32), amount_fen=np.full(nr, 100_000, i64))
    ch = rate(0.003, na)
    ch_ent = ent[ap[ch]]
    registry_changes = dict(enterprise=ch_ent.astype(i32), date=(rv[ch] + 1).astype(i32),
                            kind=rng.integers(0, 5, len(ch_ent)).astype(i32))
    record_changes = dict(application=apps[rate(0.005, n_apps)])
    nrc = len(record_changes["application"])
    record_changes.update(at=np.full(nrc, today - 50, i32), after_signoff=rate(0.3, nrc).astype(np.int8),
                          reason=np.where(rate(0.5, nrc), 0, -1).astype(i32), deleted=np.zeros(nrc, np.int8))
    columns = dict(policies=policies, enterprises=enterprises, registry_changes=registry_changes,
                   relations=relations, eligible=eligible, applications=applications, invoices=invoices,
                   reviews=reviews, draws=draws, signoffs=signoffs, record_changes=record_changes,
                   notices=notices, objections=objections, payout_lines=payout_lines, usage=usage,
                   transfers=transfers, performance=performance, rectifications=rectifications)
    assert set(columns) == set(COLUMNS)
    return Snapshot.from_columns(today, columns, vocab)
