"""A deterministic plan of the demo district: policies, applications, the stage each one reaches and the
anomalies injected for the 29 supervision points — all from a seed, with no chain or database.

The plan sits on the oracle's sample district (:func:`oracle.sample.generate`): its firms are the
applicants, and the sample's own labelled anomalies (a deregistered firm, a shell company, declared
facts that differ from the registry, firms sharing a phone or a controller, a payee account that is not
the firm's, ...) become injected anomalies when the firm applies. The demo adds its own for the points
the sample does not cover (a window shorter than 15 days, criteria amended after the window opened,
criteria that fit two firms, an unanswered objection, a notice shorter than 5 working days, a payout
never exported, a failed bank line never re-exported, a late sign-off, reviews left overdue, ...).

Each anomaly is an :class:`Injection`: point id, expected level, subject (policy / application /
payout) and how it goes in:

- ``service``: the product's own services record the data (the audit reads it from the ledger): the
  workflow itself, declared figures, project blocks with invoice numbers, payee accounts, members'
  declared identities against registry shareholders, a licence revoked under an application awaiting
  review (its material lapses until re-supplied), a drawn verification agency the registry lists among the
  applicant's shareholders, review openings (the time a reviewer spent), oracle facts (registry changes,
  BANK_FLOW statements), usage reports, performance commitments and reports, claw-back orders with due dates;
- ``tamper``: a row of the gateway's database edited by hand after the load (REV6: the audit compares
  every application row with the chain's record of it);
- ``snapshot_input``: what the product does not record (the address an application came from) or what it
  refuses outright (a review overriding a hard-fail check with no reason: every review carries its opinion;
  paying with no notice, paying twice: the contracts revert). The injection then carries the rows, in the
  audit snapshot's table and column names (:data:`audit.snapshot.SCHEMA`), that an import from another
  system would supply: ``python -m audit.groundtruth --external`` merges them into the snapshot.

Timeline (days after D0, the chain's time when the load starts; the load moves the chain's clock):
setup and publication on day 0, applications on day 1, review levels on days 2-4, notices on day 5,
objections days 6-7, payout export and bank return after the notices end (about day 15), re-export of
failed lines, use reports, registry changes, claw-backs, a second round of notices on day 30, late
applications near the end, and the audit's ``as_of`` on day ``AS_OF_DAY``.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from oracle.sample import Sample, generate

POINTS = ("PUB1", "PUB2", "PUB3", "PUB4", "APP1", "APP2", "APP3", "APP4", "APP5", "APP6",
          "REV1", "REV2", "REV3", "REV4", "REV5", "REV6", "NOT1", "NOT2", "NOT3", "NOT4",
          "PAY1", "PAY2", "PAY3", "PAY4", "PAY5", "USE1", "USE2", "USE3", "USE4")
AS_OF_DAY = 60
POLICY_DEPARTMENTS = ("SCITECH", "INDUSTRY", "COMMERCE", "HRSS", "DRC", "TALENT", "IP", "CULTURE")
MATERIALS = {
    "business_licence": ("营业执照", ["BUSINESS_LICENCE"]),
    "high_tech": ("高新技术企业证书", ["HIGH_TECH_ENTERPRISE_CERTIFICATE"]),
    "patent": ("专利证书", ["PATENT_CERTIFICATE"]),
    "audit_report": ("上年度审计报告", []),
    "project_plan": ("项目实施方案", []),
}
THEMES = {
    "SCITECH": ("高新技术企业认定奖励", "研发费用补助", "科技创新券"),
    "INDUSTRY": ("技术改造补助", "专精特新奖励", "数字化转型补助"),
    "COMMERCE": ("外贸稳增长奖励", "电商发展补助", "会展补贴"),
    "HRSS": ("稳岗补贴", "以工代训补贴", "吸纳就业补贴"),
    "DRC": ("重点项目前期经费", "节能降碳奖励", "服务业发展引导资金"),
    "TALENT": ("高层次人才安家补贴", "人才引进奖励", "博士后资助"),
    "IP": ("专利资助", "知识产权质押贴息", "商标品牌奖励"),
    "CULTURE": ("文旅消费补贴", "文创产业扶持", "旅游品牌创建奖励"),
}
# how an application ends: path (auto / manual) and the furthest stage it reaches
STAGES = ("applied", "reviewing", "rejected", "approved", "noticed", "paid", "used", "clawed_back")
# the sample's anomaly kinds that an application carries (payout-file kinds of the sample's own bank batch
# are about that batch, not the demo's; the demo injects PAY3 itself)
APPLYING_KINDS = {"deregistered", "revoked", "dishonest", "abnormal", "moved_out", "shell", "declared_mismatch",
                  "inflated_figures", "changed_account", "payee_mismatch", "individual_payee", "shared_address",
                  "shared_phone", "shared_ip", "shared_account", "shared_controller"}
PAYEE_KINDS = {"changed_account", "payee_mismatch", "individual_payee", "shared_account"}


@dataclass
class PolicyPlan:
    key: str
    department: str
    title: str
    budget_fen: int
    cap_fen: int
    capital_floor_fen: int  # criteria: active and registered capital at least this much
    materials: list[str]
    notice_workdays: int = 5
    window_days: int = 365  # the window opens when the policy is published, on day 0
    no_application: bool = False
    fixed_fen: int = 0  # no-application policies: the fixed amount
    amend_day: int | None = None  # criteria amended (tightened) after the window opened
    narrow_usccs: list[str] = field(default_factory=list)  # criteria that fit only these firms (PUB3)
    payout: str = "normal"  # normal | never (PAY1: noticed, never exported)
    draw: bool = False  # a double-random draw of a verification agency over its applications
    document_days_before: int = 0  # the policy document was issued this many days before its guide (PUB1)


@dataclass
class AppPlan:
    key: str
    policy: str
    uscc: str
    requested_fen: int
    path: str  # auto | manual | enrolled
    stage: str  # the furthest stage, one of STAGES
    reject_level: int = 0  # manual path rejected at this level (1-3)
    submit_day: float = 1.0
    review_days: tuple[float, float, float] = (2.0, 3.0, 4.0)
    declared: dict[str, Any] = field(default_factory=dict)  # declared fields differing from the registry
    approve_ratio_bp: int = 10000  # approved amount = requested × this / 10000 (manual path)
    notice_round: int = 1  # 1: notices of day 5, 2: notices of day 30
    notice_workdays: int | None = None  # shorter notice (NOT2)
    objection: str | None = None  # dismissed | upheld | open (day 6) | recent (the day before as_of)
    bank: str = "paid"  # paid | failed_then_paid | failed (never re-exported)
    registry_change: str | None = None  # abnormal | moved_out | deregistered, ingested after approval
    project: dict[str, Any] | None = None  # the application's project block (APP3: category, year, invoices)
    use_category: str | None = None  # the usage report's category (default: equipment / research / training)
    clawback: str | None = None  # overdue: ordered with its due date, never refunded (USE4)
    performance: int | None = None  # % of the policy's commitment achieved, reported (USE3)
    shareholder_reviewer: bool = False  # the level-1 reviewer holds shares in the firm, no recusal (REV2)
    flow_to: str | None = None  # plan key of an application whose payee account receives a transfer (USE2)
    tamper: bool = False  # the gateway's row is edited by hand after the load (REV6)
    # APP1: (working days before as_of the licence behind one of its materials is revoked, working days before
    # as_of the enterprise re-supplies that material by upload, or None: never)
    licence_lapse: tuple[int, int | None] | None = None
    # REV3: drawn for on its own (a draw with this one subject) and its applicant's next registry extract lists
    # the drawn agency among its shareholders
    draw_linked: bool = False
    quick_review: bool = False  # REV4: the level-1 reviewer records the review 2 minutes after opening it
    labels: list[str] = field(default_factory=list)  # sample anomaly kinds this firm carries


@dataclass
class Injection:
    point: str
    level: str  # prompt | warning | alarm
    subject: str  # policy | application | payout
    key: str  # the plan key of the subject (P001 / A00001); the load adds the product id
    method: str  # service | tamper | snapshot_input
    what: str
    uscc: str | None = None
    source: str = "demo"  # demo | oracle.sample
    rows: list[dict[str, Any]] = field(default_factory=list)  # snapshot_input: {"table", "row"}


@dataclass
class DemoPlan:
    seed: int
    enterprises: int
    sample: Sample
    policies: list[PolicyPlan]
    applications: list[AppPlan]
    injections: list[Injection]
    licences: dict[str, list[str]]  # uscc -> licence types it holds
    payees: dict[str, list[dict[str, str]]]  # uscc -> payee accounts in order (the last is current)

    def app(self, key: str) -> AppPlan:
        return next(a for a in self.applications if a.key == key)

    def policy(self, key: str) -> PolicyPlan:
        return self._policies[key]

    def __post_init__(self) -> None:
        self._policies = {p.key: p for p in self.policies}

    def points(self) -> dict[str, Counter]:
        out: dict[str, Counter] = defaultdict(Counter)
        for i in self.injections:
            out[i.point][i.level] += 1
        return dict(out)

    def stages(self) -> Counter:
        return Counter(a.stage for a in self.applications)

    def summary(self) -> dict[str, Any]:
        return {"seed": self.seed, "enterprises": self.enterprises, "policies": len(self.policies),
                "applications": len(self.applications), "stages": dict(self.stages()),
                "paths": dict(Counter(a.path for a in self.applications)),
                "injections": len(self.injections),
                "points": {p: dict(c) for p, c in sorted(self.points().items())},
                "points_missing": [p for p in POINTS if p not in self.points()]}


# ---------------------------------------------------------------------------- building

def build(policies: int = 170, applications: int = 5000, seed: int = 7,
          departments: tuple[str, ...] = POLICY_DEPARTMENTS) -> DemoPlan:
    """The demo plan for ``policies`` policies and ``applications`` applications, the policies spread over
    ``departments`` (each needs a POLICY member and three REVIEWER members; the load adds reviewers)."""
    if policies < 6 or applications < 6 * policies // 2 or applications < 40:
        raise ValueError("the demo needs at least 6 policies and 40 applications (3 per policy on average)")
    rng = random.Random(f"demo:{seed}")
    enterprises = max(100, applications // 4)
    sample = generate(enterprises, share=0.1, seed=seed)
    firms = {f.uscc: f for f in sample.firms}
    kinds: dict[str, list[str]] = defaultdict(list)
    for label in sample.truth.labels:
        kinds[label.uscc].append(label.kind)
    normal = [f.uscc for f in sample.firms if f.uscc not in kinds]
    anomalous = [u for u in kinds if set(kinds[u]) & APPLYING_KINDS]

    # ---- licences (reduced materials) and payee accounts
    licences: dict[str, list[str]] = {}
    for f in sample.firms:
        types = ["BUSINESS_LICENCE"]
        if rng.random() < 0.45:
            types.append("HIGH_TECH_ENTERPRISE_CERTIFICATE")
        if rng.random() < 0.3:
            types.append("PATENT_CERTIFICATE")
        licences[f.uscc] = types
    payees: dict[str, list[dict[str, str]]] = {}
    for f in sample.firms:
        own = {"account_no": f.account_no, "payee_name": f.account_holder, "bank_name": "中国工商银行福州分行"}
        if "changed_account" in kinds.get(f.uscc, []):
            old = {"account_no": "6222" + f.account_no[-12:][::-1], "payee_name": f.name, "bank_name": "中国建设银行福州分行"}
            payees[f.uscc] = [old, own]  # changed shortly before the payout (PAY2 prompt)
        else:
            payees[f.uscc] = [own]

    # ---- policies
    pols: list[PolicyPlan] = []
    capitals = sorted(f.capital for f in sample.firms if f.status == "active")
    for n in range(policies):
        dept = departments[n % len(departments)]
        theme = THEMES.get(dept, THEMES["DRC"])[(n // len(departments)) % 3]
        cap = rng.choice((50_000_00, 100_000_00, 200_000_00, 300_000_00, 500_000_00))
        mats = ["business_licence"] + rng.sample(["high_tech", "patent", "audit_report", "project_plan"], 2)
        floor = capitals[int(len(capitals) * rng.uniform(0.15, 0.45))]  # most applicants meet it
        pols.append(PolicyPlan(key=f"P{n + 1:03d}", department=dept, title=f"2026年度{theme}（第{n // 24 + 1}批）",
                               budget_fen=cap * 60, cap_fen=cap, capital_floor_fen=floor, materials=mats,
                               draw=n % 9 == 0))
    # special policies (keys by position so that a plan of any size has them)
    short_window, amended, narrow, closed_unreached, never_paid, free = (pols[1], pols[2], pols[3], pols[4],
                                                                         pols[5], pols[0])
    free.no_application, free.fixed_fen, free.materials = True, 20_000_00, []
    free.title = "2026年度稳岗返还（免申即享）"
    short_window.window_days = 10
    amended.amend_day = 3
    narrow_firms = rng.sample(normal, 2)
    narrow.narrow_usccs = narrow_firms
    closed_unreached.window_days = 16  # ≥ 15 days (PUB2 is the short window's), closed by as_of
    closed_unreached.capital_floor_fen = 0
    never_paid.payout = "never"

    # ---- applications: every anomalous firm applies once; normal firms fill the rest
    apps: list[AppPlan] = []
    per_firm: dict[str, set[str]] = defaultdict(set)
    open_pols = [p for p in pols if not p.no_application and p is not narrow]

    def add(policy: PolicyPlan, uscc: str, **kw: Any) -> AppPlan:
        cap = policy.cap_fen
        requested = kw.pop("requested_fen", None) or int(cap * rng.choice((0.3, 0.4, 0.5, 0.6, 0.75, 0.8, 0.9)))
        a = AppPlan(key=f"A{len(apps) + 1:05d}", policy=policy.key, uscc=uscc, requested_fen=requested, **kw)
        apps.append(a)
        per_firm[uscc].add(policy.key)
        return a

    def pick_policy(uscc: str, pool: list[PolicyPlan]) -> PolicyPlan:
        for _ in range(50):
            p = rng.choice(pool)
            if p.key not in per_firm[uscc]:
                return p
        return next(p for p in pool if p.key not in per_firm[uscc])

    # the no-application policy enrols a handful of normal firms (fixed amount, straight to notice)
    for uscc in rng.sample(normal, 4):
        add(free, uscc, path="enrolled", stage="paid", requested_fen=free.fixed_fen)
    # the narrow policy: its two firms apply
    for uscc in narrow_firms:
        add(narrow, uscc, path="auto", stage="approved")
    # the closed, unreached policy: three firms apply before it closes; two apply to the short window
    for uscc in rng.sample(normal, 3):
        add(closed_unreached, uscc, path="auto", stage="approved")
    for uscc in rng.sample([u for u in normal if firms[u].capital >= short_window.capital_floor_fen], 2):
        add(short_window, uscc, path="auto", stage="approved")
    steady = [p for p in open_pols if p not in (short_window, closed_unreached)]
    for uscc in anomalous:
        a = add(pick_policy(uscc, steady), uscc, path="manual", stage="paid", labels=list(kinds[uscc]))
        firm = firms[uscc]
        if "declared_mismatch" in kinds[uscc]:
            a.declared = {k: v for k, v in firm.declared.items()
                          if k in ("name", "legal_representative", "address", "business_scope")}
            if "registered_capital" in firm.declared:
                a.declared["registered_capital_fen"] = int(firm.declared["registered_capital"])  # type: ignore
        if "inflated_figures" in kinds[uscc]:  # figures declared on the form (APP5 compares them)
            for figure, name in (("revenue", "revenue_fen"), ("tax_paid", "tax_paid_fen"), ("staff", "insured_staff")):
                if figure in firm.declared:
                    a.declared[name] = int(firm.declared[figure])  # type: ignore[arg-type]
    # the bulk: the path is chosen first, the firm so that the policy's criteria give it (the manual path
    # for firms below the policy's capital floor: the criteria are not met, people decide)
    by_capital = sorted(normal, key=lambda u: firms[u].capital)
    capital_of = [firms[u].capital for u in by_capital]
    import bisect
    bulk: list[AppPlan] = []
    tries = 0
    while len(apps) < applications and tries < applications * 50:
        tries += 1
        policy = rng.choice(steady)
        manual = rng.random() < 0.36
        split = bisect.bisect_left(capital_of, policy.capital_floor_fen)
        side = by_capital[:split] if manual else by_capital[split:]
        if not side:
            continue
        uscc = rng.choice(side)
        if policy.key in per_firm[uscc]:
            continue
        bulk.append(add(policy, uscc, path="manual" if manual else "auto", stage="used"))
    # stages of the bulk (deterministic shares): manual ones rejected at a level or left waiting
    manual_apps = [a for a in bulk if a.path == "manual"]
    for i, a in enumerate(manual_apps):
        r = i / max(1, len(manual_apps))
        if r < 0.08:
            a.stage, a.reject_level = "rejected", 1
        elif r < 0.14:
            a.stage, a.reject_level = "rejected", 2
        elif r < 0.18:
            a.stage, a.reject_level = "rejected", 3
        elif r < 0.26:
            a.stage, a.submit_day = "reviewing", -1.0  # filed the working day before as_of: within deadline
            a.review_days = (-2.0, -1, -1) if i % 2 else (-1, -1, -1)  # half have their first review
        else:
            a.approve_ratio_bp = rng.choice((8000, 9000, 10000))
    # the approved ones stop at approved / noticed / paid / used / clawed back
    approved_bulk = [a for a in bulk if a.stage == "used"]
    m = len(approved_bulk)
    for i, a in enumerate(approved_bulk):
        r = i / max(1, m)
        if r < 0.05:
            a.stage = "approved"
        elif r < 0.10:
            a.stage, a.notice_round = "noticed", 3  # on a notice still running at as_of
        elif r < 0.20:
            a.stage = "paid"
        elif r < 0.24:
            a.stage = "clawed_back"
        if r >= 0.24 and i % 17 == 0:
            a.bank = "failed_then_paid"
    for a in apps:
        if a.policy == never_paid.key and a.stage in ("paid", "used", "clawed_back"):
            a.stage = "noticed"
            a.bank = "never"

    injections: list[Injection] = []
    _inject(rng, sample, kinds, pols, apps, injections, short_window, amended, narrow, closed_unreached, never_paid,
            free, payees, licences)
    return DemoPlan(seed=seed, enterprises=enterprises, sample=sample, policies=pols, applications=apps,
                    injections=injections, licences=licences, payees=payees)


def _inject(rng: random.Random, sample: Sample, kinds: dict[str, list[str]], pols: list[PolicyPlan],
            apps: list[AppPlan], out: list[Injection], short_window: PolicyPlan, amended: PolicyPlan,
            narrow: PolicyPlan, closed_unreached: PolicyPlan, never_paid: PolicyPlan, free: PolicyPlan,
            payees: dict[str, list[dict[str, str]]], licences: dict[str, list[str]]) -> None:
    """The anomalies: the sample's labels on the firms that apply, then the demo's own."""
    by_uscc: dict[str, AppPlan] = {}
    firms_by_uscc = {f.uscc: f for f in sample.firms}
    for a in apps:
        if a.labels:
            by_uscc.setdefault(a.uscc, a)
    for label in sample.truth.labels:
        a = by_uscc.get(label.uscc)
        if a is None or label.kind not in APPLYING_KINDS:
            continue
        for point in label.points:
            method, rows = "service", []
            if label.kind == "shared_ip":  # the gateway does not record the address an application came from
                method = "snapshot_input"
                rows = [{"table": "applications", "row": {"id": a.key, "ip": f"ip:{firms_by_uscc[a.uscc].ip}"}}]
            subject = "payout" if point == "PAY2" else "application"
            out.append(Injection(point, label.level, subject, a.key, method, f"oracle sample: {label.kind}",
                                 uscc=label.uscc, source="oracle.sample", rows=rows))
    apps_per_firm = Counter(x.uscc for x in apps)
    bulk = [a for a in apps if not a.labels and a.path in ("auto", "manual")
            and a.policy not in (narrow.key, closed_unreached.key, never_paid.key, short_window.key, free.key)]
    def take(stage: str | tuple[str, ...], path: str | None = None) -> AppPlan:
        stages = (stage,) if isinstance(stage, str) else stage
        for a in bulk:
            if a.stage in stages and (path is None or a.path == path) and not a.labels:
                a.labels.append("demo")
                return a
        for a in bulk:  # a small plan: an unlabelled approved one of the right path is moved to that stage
            if a.stage in ("used", "paid") and (path is None or a.path == path) and not a.labels:
                a.stage = stages[0]
                a.labels.append("demo")
                return a
        for strict in (True, False):  # a very small plan: a subject carries two anomalies
            for a in bulk:
                if a.stage in stages and (path is None or a.path == path or not strict):
                    a.labels.append("demo")
                    return a
        raise ValueError(f"the plan is too small: no application left at stage {stages}")

    def svc(point: str, level: str, subject: str, key: str, what: str, uscc: str | None = None) -> None:
        out.append(Injection(point, level, subject, key, "service", what, uscc=uscc))

    def snap(point: str, level: str, subject: str, key: str, what: str, rows: list[dict[str, Any]],
             uscc: str | None = None) -> None:
        out.append(Injection(point, level, subject, key, "snapshot_input", what, uscc=uscc, rows=rows))

    # PUB: policies
    p = pols[-1]
    p.document_days_before = 13
    svc("PUB1", "warning", "policy", p.key, "application guide published 13 days (9 working days) after the policy "
        "document it implements")
    svc("PUB2", "warning", "policy", short_window.key, "application window of 10 days (< 15)")
    svc("PUB2", "alarm", "policy", amended.key, "criteria amended on day 3, after the window opened")
    svc("PUB3", "warning", "policy", narrow.key, "criteria fit exactly two firms of the registry")
    svc("PUB4", "warning", "policy", closed_unreached.key, "window closed with 3 of the eligible firms applied")
    svc("PUB4", "warning", "policy", short_window.key, "window closed with 2 of the eligible firms applied")
    # APP
    # APP1: the product refuses a submission with a material missing; a material goes missing afterwards when
    # the licence standing in for it is revoked while the application awaits review (the sign-off is refused
    # until the enterprise re-supplies it by upload)
    for submit_wd, lapse, level in ((8, (7, None), "warning"), (3, (2, None), "prompt"), (8, (7, 5), None)):
        a = _lapsing(bulk, licences, pols)
        a.submit_day, a.review_days, a.licence_lapse = -float(submit_wd), (-1, -1, -1), lapse
        if level == "warning":
            svc("APP1", level, "application", a.key, "the licence behind a material revoked 7 working days before "
                "as_of, while the application awaited review; never re-supplied (> 5 WD)", a.uscc)
        elif level == "prompt":
            svc("APP1", level, "application", a.key, "the licence behind a material revoked 2 working days before "
                "as_of; not re-supplied yet", a.uscc)
        # else: re-supplied by upload 2 working days after the revocation: no alert expected
    # APP3: one firm's two applications (two policies) with projects of the same category and year
    pair = _same_firm_pair(bulk, ("used", "paid"))
    if pair is not None:
        a, b = pair
        a.project = {"name": "生产线智能化改造", "category": "equipment_upgrade", "year": 2026}
        b.project = {"name": "数字化车间建设项目", "category": "equipment_upgrade", "year": 2026}
        svc("APP3", "warning", "application", b.key, "same project category and year in another policy", b.uscc)
    a, b = take(("used", "paid")), take(("used", "paid"))
    for x in (a, b):  # two firms claim one invoice: each application's invoice is funded by the other
        x.project = {"name": f"{x.key} 设备采购", "category": "equipment", "year": 2026,
                     "invoice_numbers": ["FP-3501-2026-000117"]}
        svc("APP3", "alarm", "application", x.key, "an invoice already funded by another policy", x.uscc)
    if not any(i.point == "APP4" for i in out):
        a = take(("used", "paid"))
        snap("APP4", "warning", "application", a.key, "no utility use and no insured staff",
             [{"table": "enterprises", "row": {"id": a.uscc, "utility_kwh": 0}}], a.uscc)
    if not any(i.point == "APP5" for i in out):
        a = take(("used", "paid"))
        snap("APP5", "alarm", "application", a.key, "declared revenue twice the tax attestation",
             [{"table": "applications", "row": {"id": a.key, "decl_revenue_fen": 10 ** 10}}], a.uscc)
    if not any(i.point == "APP6" for i in out):
        a, b = take(("used", "paid")), take(("used", "paid"))
        snap("APP6", "prompt", "application", a.key, "two firms filed from one IP address",
             [{"table": "applications", "row": {"id": a.key, "ip": "ip:10.2.3.4"}},
              {"table": "applications", "row": {"id": b.key, "ip": "ip:10.2.3.4"}}], a.uscc)
    if not any(i.point == "APP2" for i in out):
        a = take("reviewing", "manual")
        a.declared = {"address": "福州市台江区不存在路99号"}
        svc("APP2", "warning", "application", a.key, "declared address differs from the registry", a.uscc)
    # REV
    # REV1: the submissions and the missing reviews go through the product; the deadline the audit measures
    # them against is the catalogue's 60 WD unless the policy gives one (``policies.review_wd``, which the
    # ledger does not hold: the product's per-level deadline is [subsidies] first_review_workdays = 5 WD) —
    # the rows give the policy's 5 WD
    # REV1: the review deadline is the three levels' deadlines added up ([subsidies] 5 + 5 + 3 = 13 WD)
    a = take("reviewing", "manual")
    a.submit_day, a.review_days = 1.0, (-1, -1, -1)  # filed on day 1, never reviewed: > 2× the deadline
    svc("REV1", "alarm", "application", a.key, "first review never done since day 1 (> 2× the 13 WD deadline)",
        a.uscc)
    a = take("reviewing", "manual")
    a.submit_day, a.review_days = -15.0, (-1, -1, -1)  # filed 15 WD before as_of: 2 WD overdue
    svc("REV1", "warning", "application", a.key, "review overdue (less than twice the 13 WD deadline)", a.uscc)
    a = take("reviewing", "manual")
    a.submit_day, a.review_days = -11.0, (-1, -1, -1)  # filed 11 WD before as_of: 2 WD left
    svc("REV1", "prompt", "application", a.key, "review due in 3 working days or less", a.uscc)
    a = take(("used", "paid"), "manual")
    a.shareholder_reviewer = True
    svc("REV2", "alarm", "application", a.key, "the level-1 reviewer (declared identity) is a shareholder of the "
        "applicant in the registry and did not recuse", a.uscc)
    # REV3: the application is drawn for on its own (which of a policy's applications a draw picks is the
    # chain's random choice), and the agency drawn for it turns out to hold shares in the applicant
    drawn = {p.key for p in pols if p.draw}
    a = next((x for x in bulk if x.policy in drawn and x.stage in ("used", "paid") and not x.labels
              and apps_per_firm[x.uscc] == 1), None) or take(("used", "paid"))
    if a.policy not in drawn:
        next(p for p in pols if p.key == a.policy).draw = True
    a.labels.append("demo")
    a.draw_linked = True
    svc("REV3", "alarm", "application", a.key, "the verification agency drawn for it is a shareholder of the "
        "applicant (the registry extract after the draw lists it)", a.uscc)
    a = take(("used", "paid"), "manual")
    a.quick_review = True
    svc("REV4", "prompt", "application", a.key, "the level-1 review recorded 2 minutes after the reviewer opened "
        "the application (< 5 minutes)", a.uscc)
    a = take(("used", "paid"), "manual")
    snap("REV4", "alarm", "application", a.key, "a hard-fail check overridden with no reason",
         [{"table": "reviews", "row": {"application": a.key, "reviewer": "reviewer:L2", "recused": 0,
                                       "passed": 1, "hardfail_overridden": 1}}], a.uscc)
    a = take(("used", "paid"), "manual")
    a.approve_ratio_bp = 10000
    a.requested_fen = -96  # the load requests 96 % of the cap and approves it
    svc("REV5", "prompt", "application", a.key, "approved at 96 % of the per-enterprise cap", a.uscc)
    a = take(("used", "paid"))
    a.tamper = True
    out.append(Injection("REV6", "alarm", "application", a.key, "tamper", "the approved amount in the gateway's "
                         "database edited by hand after the load: the row no longer matches the chain", uscc=a.uscc))
    # NOT
    a = take("approved")  # approved, never noticed: a payment the bank made outside the ledger
    snap("NOT1", "alarm", "payout", a.key, "paid with no notice (the contract refuses this: a payment the bank "
         "reports outside the ledger)", [{"table": "payout_lines", "row": {
             "id": f"offline:{a.key}", "application": a.key, "export_fen": 100, "bank_fen": 100,
             "bank_status": "paid", "bank_date": -10, "planned": -10}}], a.uscc)
    a = next((x for x in bulk if x.stage in ("used", "paid") and not x.labels and x.notice_round == 1
              and x.bank == "paid" and len(payees.get(x.uscc, [])) == 1), None) or take(("used", "paid"))
    a.labels.append("demo")
    payees.setdefault(a.uscc, []).append({"account_no": "6217" + a.uscc[2:14], "payee_name": "福州某某贸易有限公司",
                                          "bank_name": "中国农业银行福州分行"})
    svc("NOT3", "alarm", "payout", a.key, "the payee account was changed after the notice to another company's: "
        "the bank file pays a payee who is not on the notice", a.uscc)
    svc("PAY2", "warning", "payout", a.key, "payee account holder is another company, changed a week before "
        "the payout", a.uscc)
    a = take(("used", "paid"))
    a.objection = "dismissed"  # answered the next day: no alert expected
    a = take(("used", "paid"))
    a.objection, a.stage, a.notice_round = "recent", "noticed", 3
    svc("NOT4", "prompt", "application", a.key, "objection filed the day before as_of, not answered yet", a.uscc)
    a = take(("used", "paid"))
    a.objection, a.stage = "open", "noticed"
    svc("NOT4", "warning", "application", a.key, "objection never answered (> 5 working days)", a.uscc)
    svc("PAY1", "alarm", "application", a.key, "unpaid since its notice ended (the open objection holds it)",
        a.uscc)
    a = take(("used", "paid"))
    a.objection, a.stage = "upheld", "rejected"
    # PAY
    for a in [x for x in apps if x.policy == never_paid.key and x.stage == "noticed" and x.notice_round == 1]:
        svc("PAY1", "alarm", "application", a.key, "notice ended on about day 15, never exported (> 30 WD)",
            a.uscc)
    a = take(("used", "paid"))
    a.stage, a.notice_round, a.bank = "noticed", 2, "never"
    svc("PAY1", "warning", "application", a.key, "notice of day 30 ended, not exported by as_of (> 15 WD)", a.uscc)
    a = take(("used", "paid"))
    a.bank, a.stage = "failed", "noticed"
    svc("PAY3", "warning", "payout", a.key, "a failed bank line never re-exported (> 5 WD)", a.uscc)
    svc("PAY1", "alarm", "application", a.key, "unpaid since its notice ended (its bank line failed)", a.uscc)
    a = take(("used", "paid"))
    snap("PAY3", "alarm", "payout", a.key, "paid twice (the contract refuses the second payout: the bank's own "
         "duplicate)", [{"table": "payout_lines", "row": {"id": f"offline:dup:{a.key}", "application": a.key,
                                                          "export_fen": 10 ** 8, "bank_fen": 10 ** 8,
                                                          "bank_status": "paid", "bank_date": -10}}],
         a.uscc)
    # a registry change concerns the firm: firms with this one application only, so that no other
    # application of theirs is touched
    for change, level in (("abnormal", "prompt"), ("moved_out", "warning"), ("deregistered", "alarm")):
        single = [x for x in bulk if x.stage == "approved" and not x.labels and apps_per_firm[x.uscc] == 1]
        a = single[0] if single else take("approved")
        if single:
            a.labels.append("demo")
        a.registry_change = change
        svc("PAY4", level, "application", a.key, f"registry change after approval: {change}", a.uscc)
        if change == "deregistered":
            svc("APP2", "alarm", "application", a.key, "the firm is deregistered (after its approval)", a.uscc)
    a = take(("used", "paid"), "manual")
    a.review_days = (2.0, 3.0, 12.0)  # the sign-off after its deadline
    svc("PAY5", "prompt", "application", a.key, "sign-off recorded after its deadline", a.uscc)
    if not any(i.point == "PAY2" for i in out):
        a = take(("used", "paid"))
        snap("PAY2", "warning", "payout", a.key, "account holder is another company",
             [{"table": "payout_lines", "row": {"id": f"offline:pay2:{a.key}", "application": a.key,
                                                "payee_name": "福州某某贸易有限公司"}}], a.uscc)
    # NOT2: a policy whose notice period is 3 working days (the contract holds a notice to the policy's own
    # period, so the short period is the policy's): every application noticed under it
    short_notice = pols[-1]
    short_notice.notice_workdays = 3
    for a in apps:
        if a.policy == short_notice.key and (a.stage in ("noticed", "paid", "used", "clawed_back")
                                             or a.objection == "upheld"):
            svc("NOT2", "prompt", "application", a.key, "notice period of 3 working days (< 5)", a.uscc)
    # USE
    a = take("used")
    a.use_category = "wages"
    svc("USE1", "alarm", "application", a.key, "usage report: spent on wages, which the policy bans", a.uscc)
    a = take("used")
    b = next((x for x in bulk if x.stage == "used" and not x.labels and x.uscc != a.uscc), None) or take("used")
    b.labels.append("demo")
    a.flow_to = b.key  # b's payee account (another firm's) receives money from a's
    svc("USE2", "alarm", "application", a.key, "bank statement (BANK_FLOW): money sent on to an account that "
        "also receives another firm's subsidy (an agent's)", a.uscc)
    a = take("used")
    a.performance = 60
    svc("USE3", "warning", "application", a.key, "performance report: 60 % of the policy's commitment", a.uscc)
    a = take("used")
    a.clawback = "overdue"
    svc("USE4", "warning", "application", a.key, "claw-back ordered on day 25, due 10 working days later, never "
        "refunded", a.uscc)


def _lapsing(bulk: list[AppPlan], licences: dict[str, list[str]], pols: list[PolicyPlan]) -> AppPlan:
    """An unlabelled manual application left under review, of a firm with no other application among ``bulk``
    (it may have some elsewhere: decided before the lapse, they are not APP1's), whose policy
    takes one of the firm's licences other than its business licence for a material (a high-tech or patent
    certificate lapses without touching the firm's other standing); failing that, any such application; in a
    small plan, an approved one left under review instead."""
    per_firm = Counter(a.uscc for a in bulk)
    by_key = {p.key: p for p in pols}

    def backed(a: AppPlan, strict: bool) -> bool:
        held = set(licences.get(a.uscc, [])) - ({"BUSINESS_LICENCE"} if strict else set())
        return any(set(MATERIALS[code][1]) & held for code in by_key[a.policy].materials)
    for strict in (True, False):
        for a in bulk:
            if (a.stage == "reviewing" and a.path == "manual" and not a.labels and backed(a, strict)
                    and (per_firm[a.uscc] == 1 or not strict)):
                a.labels.append("demo")
                return a
    for a in bulk:  # a small plan: an approved one is left under review instead
        if a.stage in ("used", "paid") and a.path == "manual" and not a.labels and backed(a, False):
            a.stage, a.labels = "reviewing", ["demo"]
            return a
    raise ValueError("the plan is too small: no manual application under review with a licence-backed material")


def _same_firm_pair(bulk: list[AppPlan], stages: tuple[str, ...]) -> tuple[AppPlan, AppPlan] | None:
    """Two unlabelled applications of one firm (to two policies) at ``stages``, or None."""
    seen: dict[str, AppPlan] = {}
    for a in bulk:
        if a.stage in stages and not a.labels:
            if a.uscc in seen:
                first = seen[a.uscc]
                first.labels.append("demo")
                a.labels.append("demo")
                return first, a
            seen[a.uscc] = a
    return None


# ---------------------------------------------------------------------------- manifest

def manifest(plan: DemoPlan, ids: dict[str, str] | None = None, as_of: str | None = None) -> dict[str, Any]:
    """The machine-readable list of injected anomalies (``demo_anomalies.json``): each with its point,
    expected level, subject (kind, plan key, product id once loaded) and method; snapshot inputs carry
    their rows with the plan keys replaced by product ids."""
    ids = ids or {}

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value in ids:
            return ids[value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    items = []
    for n, i in enumerate(plan.injections, start=1):
        d = asdict(i)
        d["id"] = f"DEMO-{n:04d}"
        d["subject_id"] = ids.get(i.key)
        d["rows"] = [resolve(r) for r in i.rows]
        items.append(d)
    return {"generator": "gateway.demo", "seed": plan.seed, "as_of": as_of, "as_of_day": AS_OF_DAY,
            "policies": len(plan.policies), "applications": len(plan.applications),
            "points": {p: dict(c) for p, c in sorted(plan.points().items())},
            "points_missing": [p for p in POINTS if p not in plan.points()],
            "notes": {"service": "recorded through the product's services; the audit reads it from the ledger",
                      "tamper": "the gateway's database row edited by hand after the load; REV6 compares it with "
                                "the chain",
                      "snapshot_input": "data the product does not hold (or the contracts refuse): rows in "
                                        "audit.snapshot table/column names to merge into the snapshot; "
                                        "negative dates are days before as_of"},
            "anomalies": items}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
