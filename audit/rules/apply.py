"""Stage 2, apply (申报): APP1-APP6, subject = the application."""

from __future__ import annotations

import numpy as np

from audit.rules.base import Ctx, Fact, Outcome, Rule, distinct_per_group, gmax, group_ids, levels, outcome
from audit.snapshot import NA


def _live(c: Ctx, idx: np.ndarray) -> np.ndarray:
    return c.s.applications.decision[idx] != c.code("decision", "withdrawn")


def app1(c: Ctx, idx: np.ndarray) -> Outcome:
    a = c.s.applications
    miss, sub, sup, fwd = a.materials_missing[idx], a.submitted[idx], a.materials_supplied[idx], a.forwarded[idx]
    lapsed = a.materials_lapsed[idx]  # -1 in snapshots from before the column: the wait starts at submission
    known = (miss >= 0) & (sub >= 0) & _live(c, idx)
    lacking = miss > 0
    since = np.maximum(sub, lapsed)  # a licence-backed item missing only since its licence stopped standing
    end = np.where(sup >= 0, sup, c.today)
    waited = c.wd(since, end)
    prompt = lacking & (sup < 0)
    warning = lacking & (waited > c.p["supply_wd"])
    alarm = lacking & (fwd >= 0) & ((sup < 0) | (sup > fwd))
    return outcome(levels(len(idx), prompt, warning, alarm), known, (miss < 0) | (sub < 0),
                   missing_items=Fact(miss, "applications.materials_missing"),
                   submitted=Fact(sub, "applications.submitted", "date"),
                   lapsed=Fact(lapsed, "applications.materials_lapsed", "date"),
                   supplied=Fact(sup, "applications.materials_supplied", "date"),
                   forwarded=Fact(fwd, "applications.forwarded", "date"),
                   wd_waiting=Fact(waited, "applications.max(submitted, materials_lapsed)→supplied (working days)"))


_APP2_FIELDS = (("name", "decl_name", "name", "name"), ("legal_rep", "decl_legal_rep", "legal_rep", "person_name"),
                ("address", "decl_address", "address", "address"), ("scope", "decl_scope", "scope", "scope"))


def app2(c: Ctx, idx: np.ndarray) -> Outcome:
    s, a, e = c.s, c.s.applications, c.s.enterprises
    ent = a.enterprise[idx]
    has_ent = ent >= 0
    ent_safe = np.where(has_ent, ent, 0)
    fmt = np.zeros(len(idx), dtype=np.int64)
    key = np.zeros(len(idx), dtype=np.int64)
    known = np.zeros(len(idx), dtype=bool)
    facts: dict[str, Fact] = {}
    for label, dcol, rcol, domain in _APP2_FIELDS:
        d = a[dcol][idx]
        r = np.where(has_ent, e[rcol][ent_safe], NA) if len(e) else np.full(len(idx), NA)
        both = (d >= 0) & (r >= 0)
        differ = both & (d != r)
        same_norm = s.same_text(domain, d, r)
        fmt += differ & same_norm
        key += differ & ~same_norm
        known |= both
        facts[f"declared_{label}"] = Fact(d, f"applications.{dcol}", "code", domain)
        facts[f"registry_{label}"] = Fact(r, f"enterprises.{rcol}", "code", domain)
    dcap = a.decl_capital_fen[idx]
    rcap = np.where(has_ent, e.capital_fen[ent_safe], NA) if len(e) else np.full(len(idx), NA)
    both = (dcap >= 0) & (rcap >= 0)
    key += both & (dcap != rcap)
    known |= both
    facts["declared_capital_fen"] = Fact(dcap, "applications.decl_capital_fen", "money")
    facts["registry_capital_fen"] = Fact(rcap, "enterprises.capital_fen", "money")
    status = np.where(has_ent, e.status[ent_safe], NA) if len(e) else np.full(len(idx), NA)
    bad = np.isin(status, c.codes("ent_status", ("deregistered", "revoked", "dishonest"))) & (status >= 0)
    known |= status >= 0
    known &= _live(c, idx)
    facts["registry_status"] = Fact(status, "enterprises.status", "code", "ent_status")
    facts["fields_differing"] = Fact(key, "applications × enterprises (MARKET)")
    facts["formatting_only"] = Fact(fmt, "applications × enterprises (MARKET)")
    lv = levels(len(idx), fmt > 0, key >= 1, (key >= c.p["alarm_fields"]) | bad)
    return outcome(lv, known, has_ent & ~known, **facts)


def _app3_groups(c: Ctx) -> tuple[np.ndarray, np.ndarray]:
    a = c.s.applications
    live = (a.decision != c.code("decision", "withdrawn")) & (a.year >= 0) & (a.enterprise >= 0)
    n = len(a)
    same_project = np.zeros(n, dtype=np.int64)
    same_category = np.zeros(n, dtype=np.int64)
    for out, col in ((same_project, a.project), (same_category, a.category)):
        m = live & (col >= 0)
        if m.any():
            g = group_ids(a.enterprise[m], a.year[m], col[m])
            out[m] = distinct_per_group(g, a.policy[m])
    return same_project, same_category


def _funded_invoices(c: Ctx) -> np.ndarray:
    """Per application: how many of its invoice numbers another approved application already uses."""
    s = c.s
    inv, a = s.invoices, s.applications
    n = len(a)
    ok = (inv.application >= 0) & (inv.number >= 0)
    app, num = inv.application[ok].astype(np.int64), inv.number[ok].astype(np.int64)
    funded = (a.approved_fen[app] >= 0) & (a.decision[app] == c.code("decision", "approved"))
    if len(num) == 0:
        return np.zeros(n, dtype=np.int64)
    funded_per_number = np.bincount(num, weights=funded, minlength=int(num.max()) + 1).astype(np.int64)
    others = funded_per_number[num] - funded.astype(np.int64)
    return gmax(others, app, n, 0)


def app3(c: Ctx, idx: np.ndarray) -> Outcome:
    a = c.s.applications
    same_project, same_category = c.cached("app3_groups", lambda: _app3_groups(c))
    funded = c.cached("app3_invoices", lambda: _funded_invoices(c))
    sp, sc, fi = same_project[idx], same_category[idx], funded[idx]
    known = _live(c, idx) & (a.year[idx] >= 0) & (a.enterprise[idx] >= 0)
    lv = levels(len(idx), sp >= 2, sc >= 2, fi > 0)
    return outcome(lv, known, a.year[idx] < 0,
                   policies_same_project_year=Fact(sp, "applications.project, year (same firm)"),
                   policies_same_category_year=Fact(sc, "applications.category, year (same firm)"),
                   invoices_funded_elsewhere=Fact(fi, "invoices × approved applications"),
                   year=Fact(a.year[idx], "applications.year"))


def app4(c: Ctx, idx: np.ndarray) -> Outcome:
    a, e = c.s.applications, c.s.enterprises
    ent = a.enterprise[idx]
    has = ent >= 0
    es = np.where(has, ent, 0)
    n = len(idx)

    def col(name: str) -> np.ndarray:
        return np.where(has, e[name][es], NA) if len(e) else np.full(n, NA)

    staff, tax, est, kwh = col("insured_staff"), col("tax_paid_fen"), col("established"), col("utility_kwh")
    sub = np.where(a.submitted[idx] >= 0, a.submitted[idx], c.today)
    age = np.where(est >= 0, sub - est, NA)
    signals = ((staff >= 0) & (staff <= c.p["max_insured_staff"])).astype(np.int64)
    signals += (tax >= 0) & (tax <= c.p["max_tax_fen"])
    signals += (est >= 0) & (age < c.p["min_age_days"])
    signals += (kwh >= 0) & (kwh <= c.p["max_utility_kwh"])
    known = ((staff >= 0) | (tax >= 0) | (est >= 0) | (kwh >= 0)) & _live(c, idx)
    lv = levels(n, signals >= 1, signals >= 2, signals >= c.p["alarm_signals"])
    return outcome(lv, known, has & ~known,
                   signals=Fact(signals, "derived"), insured_staff=Fact(staff, "enterprises.insured_staff"),
                   tax_paid_fen=Fact(tax, "enterprises.tax_paid_fen", "money"),
                   age_days=Fact(age, "enterprises.established"),
                   utility_kwh=Fact(kwh, "enterprises.utility_kwh"))


def app5(c: Ctx, idx: np.ndarray) -> Outcome:
    a, e = c.s.applications, c.s.enterprises
    ent = a.enterprise[idx]
    has = ent >= 0
    es = np.where(has, ent, 0)
    n = len(idx)
    worst = np.full(n, -1.0)
    facts: dict[str, Fact] = {}
    for label, dcol, rcol in (("revenue", "decl_revenue_fen", "revenue_fen"), ("staff", "decl_staff", "insured_staff"),
                              ("tax", "decl_tax_fen", "tax_paid_fen")):
        d = a[dcol][idx]
        r = np.where(has, e[rcol][es], NA) if len(e) else np.full(n, NA)
        both = (d >= 0) & (r >= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = np.where(r > 0, np.abs(d - r) / np.maximum(r, 1), np.where(d > 0, np.inf, 0.0))
        worst = np.where(both, np.maximum(worst, dev), worst)
        facts[f"declared_{label}"] = Fact(d, f"applications.{dcol}", "money" if label != "staff" else "int")
        facts[f"official_{label}"] = Fact(r, f"enterprises.{rcol}", "money" if label != "staff" else "int")
    docs = a.unanchored_docs[idx]
    known = ((worst >= 0) | (docs >= 0)) & _live(c, idx)
    lv = levels(n, worst > c.p["prompt_ratio"], worst > c.p["warning_ratio"],
                (worst > c.p["alarm_ratio"]) | (docs > 0))
    facts["largest_deviation"] = Fact(worst, "derived", "ratio")
    facts["unanchored_documents"] = Fact(docs, "applications.unanchored_docs")
    return outcome(lv, known, ~known, **facts)


_APP6_ATTRS = (("phone", "phone"), ("ip", "ip"), ("contact_address", "address"))


def _app6_all(c: Ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per application: most firms sharing one of phone / IP / address, firms sharing its bank account,
    whether a firm sharing one of them has the same controller, and whether any attribute is known."""
    s = c.s
    a, e = s.applications, s.enterprises
    n = len(a)
    live = (a.decision != c.code("decision", "withdrawn")) & (a.enterprise >= 0)
    ent = a.enterprise
    ctrl = np.where(ent >= 0, e.controller[np.where(ent >= 0, ent, 0)], NA) if len(e) else np.full(n, NA)
    shared = np.zeros(n, dtype=np.int64)
    account = np.zeros(n, dtype=np.int64)
    common = np.zeros(n, dtype=bool)
    any_known = np.zeros(n, dtype=bool)
    for col, target in [(a[name], shared) for name, _ in _APP6_ATTRS] + [(a.bank_account, account)]:
        m = live & (col >= 0)
        any_known |= m
        if not m.any():
            continue
        g = group_ids(col[m])
        firms = distinct_per_group(g, ent[m])
        target[m] = np.maximum(target[m], firms)
        mc = m & (ctrl >= 0)
        if mc.any():
            g2 = group_ids(col[mc], ctrl[mc])
            common[mc] |= distinct_per_group(g2, ent[mc]) >= 2
    return shared, account, common, any_known


def app6(c: Ctx, idx: np.ndarray) -> Outcome:
    shared, account, common, any_known = c.cached("app6", lambda: _app6_all(c))
    sh, ac, co = shared[idx], account[idx], common[idx]
    pf, wf = c.p["prompt_firms"], c.p["warning_firms"]
    prompt = sh >= pf
    warning = (sh >= wf) | (ac >= 2)
    alarm = (prompt | (ac >= 2)) & co
    return outcome(levels(len(idx), prompt, warning, alarm), any_known[idx], ~any_known[idx],
                   firms_sharing_contact=Fact(sh, "applications.phone / ip / contact_address"),
                   firms_sharing_account=Fact(ac, "applications.bank_account"),
                   common_controller=Fact(co.astype(np.int8), "enterprises.controller (MARKET)", "flag"))


RULES = [
    Rule("APP1", "apply", "application", "材料缺失", "missing materials",
         "Checklist items missing at submission, and licence-backed items whose licence stopped standing "
         "(revoked, suspended, expired) while the application awaited review; working days from the later "
         "of submission and the first lapse until they arrive (re-supplied); whether the application went "
         "to review or was approved before they did.",
         "Incomplete files approved anyway are how ineligible claims slip through.",
         ("items still missing", "not supplied within supply_wd WD of submission or of the licence's lapse",
          "forwarded to review or approved with items missing"),
         "Withdrawn applications; a licence that stops standing after the approval (PAY4's) or of an "
         "application already rejected.",
         "2 items missing → prompt; still missing 6 WD later → warning (5 WD → only the prompt); forwarded "
         "while missing → alarm; a licence revoked 10 WD after submission, re-supplied 2 WD later → nothing.",
         {"supply_wd": 5}, ("application.submitted", "application.reviewed", "licence.changed"), app1, revision=2,
         sources="applications, subsidy_materials, chain (licence events)"),
    Rule("APP2", "apply", "application", "主体不符", "applicant facts differ from the registry",
         "Name, legal representative, registered capital, address and business scope declared vs the "
         "registry attestation; registry status.",
         "A claim in another firm's name, or by a firm that no longer legally exists, is not eligible.",
         ("a formatting-only difference (case, spaces, full-width, punctuation)", "one key field differs",
          "alarm_fields or more differ, or the firm is deregistered, revoked or dishonest"),
         "Withdrawn applications; firms the registry does not know are skipped.",
         "'Acme  Co.' vs 'ACME Co' → prompt; another address → warning; address and legal rep → alarm; "
         "status revoked → alarm.",
         {"alarm_fields": 2}, ("application.submitted", "registry.changed"), app2, sources="enterprises (MARKET)"),
    Rule("APP3", "apply", "application", "重复/多头申报", "duplicate or multi-department claim",
         "Same firm + year across policies: the same normalised project title; the same category; "
         "invoice / contract numbers already used by an approved application.",
         "The same project funded twice from different pots is the most common subsidy fraud.",
         ("the same project title in another policy, same year", "the same category and year in another policy",
          "an invoice already funded"),
         "Withdrawn applications do not count.",
         "same project twice → warning (category too); same title in a different category → prompt; "
         "shared invoice with an approved claim → alarm.",
         {}, ("application.submitted", "application.reviewed"), app3, sources="applications, invoices"),
    Rule("APP4", "apply", "application", "空壳", "shell company",
         "Signals: insured staff ≤ max_insured_staff, tax paid in the latest year ≤ max_tax_fen (1,000 yuan "
         "*(a)*), firm younger than min_age_days at "
         "submission, utility use ≤ max_utility_kwh. Unknown signals do not count.",
         "Shell firms exist to receive subsidies, not to do the funded work.",
         ("one signal", "two signals", "alarm_signals or more"),
         "Withdrawn applications; firms with no known signal are skipped.",
         "0 insured staff → prompt; plus tax of 1,000 yuan → warning (1,000.01 → prompt only); plus 100 days old "
         "→ alarm; 1 staff → nothing.",
         {"max_insured_staff": 0, "max_tax_fen": 100_000, "min_age_days": 365, "max_utility_kwh": 0,
          "alarm_signals": 3}, ("application.submitted", "registry.changed"), app4,
         sources="enterprises (MARKET, HRSS, TAX, DRC utility use)"),
    Rule("APP5", "apply", "application", "数据失真", "declared figures differ from official data",
         "Largest relative gap between declared revenue / staff / tax and the tax and social-insurance "
         "attestations; documents whose hash matches no anchored original.",
         "Inflated figures inflate the amount; forged documents are fraud.",
         ("gap > prompt_ratio", "gap > warning_ratio", "gap > alarm_ratio, or an unanchored document"),
         "Withdrawn applications; pairs with an unknown side are ignored.",
         "revenue 111 vs 100 → prompt (110 → nothing); 131 → warning; 151 → alarm; forged document → alarm.",
         {"prompt_ratio": 0.10, "warning_ratio": 0.30, "alarm_ratio": 0.50}, ("application.submitted",), app5,
         sources="enterprises (TAX, HRSS), chain"),
    Rule("APP6", "apply", "application", "集中代办", "applications clustered through an agent",
         "Distinct firms sharing a phone, IP or contact address; sharing a bank account; sharing one of "
         "these and the same controller.",
         "Agents filing for many firms, or one controller behind several applicants, point to collusion "
         "or split claims.",
         ("prompt_firms firms share a contact", "warning_firms firms share a contact, or two share a bank account",
          "a shared contact or account and a common controller"),
         "Withdrawn applications. Registered business-centre addresses are not yet excluded.",
         "two firms, one phone → prompt; three → warning; two sharing an account → warning; two with one "
         "phone and one controller → alarm.",
         {"prompt_firms": 2, "warning_firms": 3}, ("application.submitted",), app6,
         sources="applications, enterprises.controller"),
]
