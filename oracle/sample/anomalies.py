"""Injected anomalies and their ground truth (``anomalies.json``).

Exactly ``round(enterprises × share)`` firms are made anomalous, each with one kind (a cluster
kind takes 2-4 firms at once). Each label names the supervision points it should trip and the
level the catalogue's default thresholds give (SUPERVISION_POINTS.md):

=====================  ==========  ========================================================================
kind                   points      what is changed, intended level
=====================  ==========  ========================================================================
deregistered/revoked/  APP2, PAY4  registry status 注销/吊销/失信 — alarm
dishonest
abnormal               PAY4        registry status 经营异常 — prompt
moved_out              PAY4        registered in a neighbouring district — warning
shell                  APP4        1-3 signals of zero_insured (every month 0), near_zero_tax (≤ 100 yuan a
                                   year, revenue ≤ 50,000 yuan) and young (established 200-330 days before
                                   as-of, in the last tax year, which is then partial (rating M); no tax years
                                   or months before it) — prompt / warning / alarm
declared_mismatch      APP2        the application declares: formatting-only difference — prompt; one of
                                   name, legal representative, capital, address, scope differs — warning;
                                   two or three differ — alarm
inflated_figures       APP5        declared revenue or tax (last tax year) or staff (last month) above the
                                   official figure by > 10 % / > 30 % / > 50 % — prompt / warning / alarm
changed_account        PAY2        payee account changed 1-29 days before as-of — prompt
payee_mismatch         PAY2        account holder is another company — warning
individual_payee       PAY2        paid to the legal representative's personal account — alarm
rounding_difference    PAY3        bank returned the exported amount ± 0.01 yuan — prompt
overpaid               PAY3        exported and paid more than approved — alarm
paid_twice             PAY3        exported on two lines of the batch, both paid — alarm
shared_address/phone/  APP6        a cluster shares it: two firms — prompt, three or four — warning
ip
shared_account         APP6, PAY2  a cluster is paid into one account held by its first member — warning
shared_controller      APP6        a cluster shares its actual controller and its address — alarm
=====================  ==========  ========================================================================
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from oracle.sample import words
from oracle.sample.firms import MIN_TAX_FEN, Firm, FirmFactory, TaxYear

INDIVIDUAL_WEIGHTS = {
    "deregistered": 5, "revoked": 4, "dishonest": 4, "abnormal": 5, "moved_out": 4, "shell": 14,
    "declared_mismatch": 12, "inflated_figures": 12, "changed_account": 5, "payee_mismatch": 4,
    "individual_payee": 3, "rounding_difference": 2, "overpaid": 2, "paid_twice": 2,
}
CLUSTER_WEIGHTS = {"shared_address": 3, "shared_phone": 3, "shared_ip": 2, "shared_account": 2,
                   "shared_controller": 2}
PAYOUT_KINDS = {"changed_account", "payee_mismatch", "individual_payee", "rounding_difference", "overpaid",
                "paid_twice", "shared_account"}
KEY_FIELDS = ("name", "legal_representative", "registered_capital", "address", "business_scope")
LEVELS = ("prompt", "warning", "alarm")


@dataclass
class Label:
    uscc: str
    kind: str
    points: list[str]
    level: str
    detail: dict[str, object] = field(default_factory=dict)


@dataclass
class Truth:
    labels: list[Label] = field(default_factory=list)
    clusters: list[dict[str, object]] = field(default_factory=list)
    payout_kinds: dict[str, str] = field(default_factory=dict)  # uscc → kind, for firms that must be in the batch

    @property
    def anomalous(self) -> set[str]:
        return {label.uscc for label in self.labels}


def _ratio_level(ratio: float) -> str | None:
    return "alarm" if ratio > 1.5 else "warning" if ratio > 1.3 else "prompt" if ratio > 1.1 else None


class Injector:
    """Applies anomalies to already generated normal firms."""

    def __init__(self, factory: FirmFactory):
        self.factory = factory
        self.rng: random.Random = factory.rng
        self.as_of: date = factory.as_of
        self.truth = Truth()

    def label(self, firm: Firm, kind: str, points: list[str], level: str, **detail: object) -> None:
        self.truth.labels.append(Label(firm.uscc, kind, points, level, detail))
        if kind in PAYOUT_KINDS:
            self.truth.payout_kinds[firm.uscc] = kind

    # ------------------------------------------------------------------ one firm
    def status(self, firm: Firm, kind: str) -> None:
        firm.status = kind
        if kind == "abnormal":
            self.label(firm, kind, ["PAY4"], "prompt", status=kind)
        else:
            self.label(firm, kind, ["APP2", "PAY4"], "alarm", status=kind)

    def moved_out(self, firm: Firm) -> None:
        code, name = self.rng.choice([n for n in words.NEIGHBOURS if n[0] != firm.district])
        firm.district, firm.address = code, self.factory.address(name)
        self.label(firm, "moved_out", ["PAY4"], "warning", registered_district=code)

    def shell(self, firm: Firm) -> None:
        rng = self.rng
        signals = sorted(rng.sample(["zero_insured", "near_zero_tax", "young"], rng.choice((1, 1, 2, 2, 3))))
        if "young" in signals:
            last_year = self.as_of.year - 1
            ages = [d for d in range(200, 331) if (self.as_of - timedelta(days=d)).year == last_year] or [200]
            firm.established = self.as_of - timedelta(days=rng.choice(ages))
            first_month = f"{firm.established:%Y-%m}"
            share = (date(last_year, 12, 31) - firm.established).days / 365
            firm.tax = {y: TaxYear(max(MIN_TAX_FEN, int(t.tax_paid * share)), "M", int(t.revenue * share))
                        for y, t in firm.tax.items() if y >= firm.established.year}
            firm.headcount = {m: v for m, v in firm.headcount.items() if m >= first_month}
            firm.account_since = firm.established + timedelta(days=rng.randint(1, 20))
        if "zero_insured" in signals:
            firm.headcount = {m: 0 for m in firm.headcount}
        if "near_zero_tax" in signals:
            firm.tax = {y: TaxYear(rng.randint(0, 10_000), rng.choice("BM"), rng.randint(0, 5_000_000))
                        for y in firm.tax}
        self.label(firm, "shell", ["APP4"], LEVELS[len(signals) - 1], signals=signals,
                   established=firm.established.isoformat(), age_days=(self.as_of - firm.established).days)

    def declared_mismatch(self, firm: Firm) -> None:
        rng, f = self.rng, self.factory
        level = rng.choice(LEVELS)
        if level == "prompt":
            field_name = rng.choice(("name", "address", "business_scope"))
            if field_name == "name":
                value = firm.name.replace(firm.brand, f" {firm.brand} ", 1).strip()
            elif field_name == "address":
                value = firm.address.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
            else:
                value = firm.scope.replace("；", ";").replace("：", ":").replace("。", ".")
            firm.declared[field_name] = value
            self.label(firm, "declared_mismatch", ["APP2"], level, fields=[field_name], formatting_only=True)
            return
        fields = sorted(rng.sample(KEY_FIELDS, 1 if level == "warning" else rng.choice((2, 3))))
        for name in fields:
            if name == "name":
                firm.declared[name] = f.company_name(industry=firm.industry)[0]
            elif name == "legal_representative":
                firm.declared[name] = next(n for n in iter(f.person_name, None) if n != firm.legal_rep.name)
            elif name == "registered_capital":
                firm.declared[name] = firm.capital * rng.choice((2, 5, 10))
            elif name == "address":
                firm.declared[name] = f.address()
            else:
                firm.declared[name] = f.scope(rng.choice([i for i in words.INDUSTRIES if i != firm.industry]))
        self.label(firm, "declared_mismatch", ["APP2"], level, fields=fields, formatting_only=False)

    def inflated_figures(self, firm: Firm) -> None:
        rng = self.rng
        last_year, last_month = max(firm.tax), max(firm.headcount)
        figure = rng.choice(("revenue", "tax_paid", "staff"))
        official = {"revenue": firm.tax[last_year].revenue, "tax_paid": firm.tax[last_year].tax_paid,
                    "staff": firm.headcount[last_month]}[figure]
        low, high = rng.choice(((1.12, 1.28), (1.33, 1.47), (1.6, 2.5)))
        declared = math.ceil(official * rng.uniform(low, high))
        while any(abs(declared / official - edge) < 0.01 for edge in (1.1, 1.3, 1.5)):
            declared += max(1, official // 100)
        firm.declared[figure] = declared
        ratio = declared / official
        self.label(firm, "inflated_figures", ["APP5"], _ratio_level(ratio) or "prompt", figure=figure,
                   official=official, declared=declared, ratio=round(ratio, 4),
                   basis=f"tax year {last_year}" if figure != "staff" else f"insured staff {last_month}")

    def changed_account(self, firm: Firm) -> None:
        firm.account_no = self.factory.account_no()
        firm.account_since = self.as_of - timedelta(days=self.rng.randint(1, 29))
        self.label(firm, "changed_account", ["PAY2"], "prompt", changed_on=firm.account_since.isoformat())

    def payee_mismatch(self, firm: Firm) -> None:
        firm.account_holder = self.factory.company_name()[0]
        self.label(firm, "payee_mismatch", ["PAY2"], "warning", holder_name=firm.account_holder)

    def individual_payee(self, firm: Firm) -> None:
        firm.account_no = "6222" + self.factory.account_no()[4:]
        firm.account_holder, firm.holder_type = firm.legal_rep.name, "individual"
        self.label(firm, "individual_payee", ["PAY2"], "alarm", holder_type="individual")

    def payout(self, firm: Firm, kind: str) -> None:
        level = "prompt" if kind == "rounding_difference" else "alarm"
        self.label(firm, kind, ["PAY3"], level)

    # ------------------------------------------------------------------ clusters
    def cluster(self, members: list[Firm], kind: str) -> None:
        first, size = members[0], len(members)
        cluster_id = f"C{len(self.truth.clusters) + 1:04d}"
        points, level = ["APP6"], "prompt" if size == 2 else "warning"
        for firm in members[1:]:
            if kind == "shared_address":
                firm.address = first.address
            elif kind == "shared_phone":
                firm.phone = first.phone
            elif kind == "shared_ip":
                firm.ip = first.ip
            elif kind == "shared_account":
                firm.account_no, firm.account_holder = first.account_no, first.name
            elif kind == "shared_controller":
                firm.controller, firm.address = first.controller, first.address
                firm.shareholders.append(first.controller)
        if kind == "shared_account":
            points, level = ["APP6", "PAY2"], "warning"
        elif kind == "shared_controller":
            level = "alarm"
        self.truth.clusters.append({"id": cluster_id, "kind": kind, "level": level,
                                    "members": [f.uscc for f in members]})
        for firm in members:
            self.label(firm, kind, points, level, cluster=cluster_id, size=size)

    # ------------------------------------------------------------------ all
    def inject(self, firms: list[Firm], share: float) -> Truth:
        """Make ``round(len(firms) * share)`` of ``firms`` anomalous; returns the ground truth."""
        if not 0 <= share <= 1:
            raise ValueError("the anomaly share must be between 0 and 1")
        rng = self.rng
        pool = rng.sample(firms, round(len(firms) * share))
        kinds = {**INDIVIDUAL_WEIGHTS, **CLUSTER_WEIGHTS}
        index = 0
        while index < len(pool):
            left = len(pool) - index
            kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
            if kind in CLUSTER_WEIGHTS:
                if left < 2:
                    continue
                size = min(rng.choice((2, 2, 3, 4)), left)
                self.cluster(pool[index:index + size], kind)
                index += size
                continue
            firm = pool[index]
            index += 1
            if kind in ("deregistered", "revoked", "dishonest", "abnormal"):
                self.status(firm, kind)
            elif kind in ("rounding_difference", "overpaid", "paid_twice"):
                self.payout(firm, kind)
            else:
                getattr(self, kind)(firm)
        return self.truth
