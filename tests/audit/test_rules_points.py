"""Every supervision point at each of its levels: a case that trips it and a boundary case that must not.

Each case starts from ``audit.synthetic.clean_ledger()`` (in which no point fires), changes a few
facts, builds a real snapshot and runs the real rule through the engine. ``expected`` is the level
the point must reach for the subject (0: no finding at all for that point and subject).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Callable

import pytest

from audit.engine import Engine
from audit.findings import Level
from audit.rules import RULES
from audit.synthetic import AS_OF, Scenario, clean_ledger
from chain.config import AuditSettings
from gateway.subsidies.calendar import WorkCalendar

CAL = WorkCalendar()
TODAY = date.fromisoformat(AS_OF)
E = [None] + [f"91330100MA0000000{k}" for k in range(1, 7)]  # E[1] is A1's applicant


def back(n: int, ref: date = TODAY) -> str:
    """The latest date from which n working days have passed by ``ref``."""
    d = ref
    while CAL.workdays_between(d, ref) < n:
        d -= timedelta(days=1)
    return d.isoformat()


def fwd(start: str | date, n: int) -> str:
    s = date.fromisoformat(start) if isinstance(start, str) else start
    return CAL.add_workdays(s, n).isoformat()


def days(start: str, n: int) -> str:
    return (date.fromisoformat(start) + timedelta(days=n)).isoformat()


Mut = Callable[[Scenario], object]


def case(point: str, label: str, expected: int, *muts: Mut, subject: str | None = None, settings=None):
    return pytest.param(point, expected, muts, subject, settings, id=f"{point}-{label}")


def unpaid(s: Scenario) -> None:
    s.set("payout_lines", "B1:1", bank_status=None, bank_date=None, bank_fen=None)


def pending(s: Scenario, forwarded: str) -> None:
    s.set("applications", "A1", decision="pending", reviewed=None, approved=None, approved_fen=None,
          forwarded=forwarded)


def p2(s: Scenario) -> None:
    s.add("policies", id="P2", department="SCIENCE", status="published", issue="2026-02-02", guide="2026-02-03",
          open="2026-02-04", close="2026-05-30", missing_fields=0, eligibility_run=0, cap_fen=10_000_000)


def a6(**over) -> Mut:
    def m(s: Scenario) -> None:
        p2(s)
        row = dict(s.row("applications", "A2"))
        row.update(id="A6", enterprise=E[1], policy="P2", project="Other project", category="software",
                   phone="phone-6", ip="ip-6", bank_account="account-6", contact_address="6 Some Road")
        row.update(over)
        s.add("applications", **row)
    return m


def peers(reviewer_rate: int) -> Mut:
    """Four peer reviewers with 10 reviews each passing 5, 6, 5, 6; reviewer-1 with 10 reviews of A1
    passing ``reviewer_rate``."""
    def m(s: Scenario) -> None:
        s.drop("reviews")
        for k, passes in enumerate((5, 6, 5, 6), start=2):
            for j in range(10):
                s.add("reviews", application="A2", reviewer=f"reviewer-{k}", recused=0, minutes=30,
                      passed=int(j < passes), hardfail_overridden=0)
        for j in range(10):
            s.add("reviews", application="A1", reviewer="reviewer-1", recused=0, minutes=30,
                  passed=int(j < reviewer_rate) if j else 1, hardfail_overridden=0)
    return m


def setr(table: str, key, **v) -> Mut:
    return lambda s: s.set(table, key, **v)


def addr(table: str, **v) -> Mut:
    return lambda s: s.add(table, **v)


def signoff(level: int, **v) -> Mut:
    def m(s: Scenario) -> None:
        s.where("signoffs", level=level)[0].update(v)
    return m


CASES = [
    # ---------------------------------------------------------------- PUB1 (policy P1)
    case("PUB1", "prompt-5wd", 1, setr("policies", "P1", issue=back(5), guide=None, open=None)),
    case("PUB1", "none-4wd", 0, setr("policies", "P1", issue=back(4), guide=None, open=None)),
    case("PUB1", "prompt-7wd-still-prompt", 1, setr("policies", "P1", issue=back(7), guide=None, open=None)),
    case("PUB1", "warning-8wd", 2, setr("policies", "P1", issue=back(8), guide=None, open=None)),
    case("PUB1", "none-guide-on-7th-wd", 0, setr("policies", "P1", issue="2026-03-02", guide=fwd("2026-03-02", 7),
                                                 open=fwd("2026-03-02", 8))),
    case("PUB1", "warning-guide-on-8th-wd", 2, setr("policies", "P1", issue="2026-03-02",
                                                    guide=fwd("2026-03-02", 8), open=fwd("2026-03-02", 8))),
    case("PUB1", "alarm-opened-without-guide", 3, setr("policies", "P1", issue=back(3), guide=None, open=AS_OF)),
    case("PUB1", "none-opens-tomorrow", 0, setr("policies", "P1", issue=back(3), guide=None, open=fwd(TODAY, 1))),
    # ---------------------------------------------------------------- PUB2
    case("PUB2", "prompt-draft-missing-contact", 1, setr("policies", "P1", status="draft", missing_fields=8)),
    case("PUB2", "none-draft-complete", 0, setr("policies", "P1", status="draft", missing_fields=0)),
    case("PUB2", "warning-published-incomplete", 2, setr("policies", "P1", missing_fields=8)),
    case("PUB2", "warning-window-14-days", 2, setr("policies", "P1", close="2026-03-23")),
    case("PUB2", "none-window-15-days", 0, setr("policies", "P1", close="2026-03-24")),
    case("PUB2", "alarm-criteria-changed-after-opening", 3, setr("policies", "P1", criteria_changed="2026-03-10")),
    case("PUB2", "none-criteria-changed-on-opening-day", 0, setr("policies", "P1", criteria_changed="2026-03-09")),
    # ---------------------------------------------------------------- PUB3
    case("PUB3", "prompt-5-qualify", 1, lambda s: s.drop("eligible", enterprise=E[6])),
    case("PUB3", "none-6-qualify", 0, lambda s: None),
    case("PUB3", "warning-2-qualify", 2, *[(lambda k: lambda s: s.drop("eligible", enterprise=E[k]))(k)
                                           for k in (3, 4, 5, 6)]),
    case("PUB3", "prompt-3-qualify", 1, *[(lambda k: lambda s: s.drop("eligible", enterprise=E[k]))(k)
                                          for k in (4, 5, 6)]),
    case("PUB3", "alarm-2-qualify-one-linked-to-drafter", 3,
         *[(lambda k: lambda s: s.drop("eligible", enterprise=E[k]))(k) for k in (3, 4, 5, 6)],
         addr("relations", party="drafter-1", enterprise=E[2], kind="relative")),
    case("PUB3", "prompt-3-qualify-linked-is-not-alarm", 1,
         *[(lambda k: lambda s: s.drop("eligible", enterprise=E[k]))(k) for k in (4, 5, 6)],
         addr("relations", party="drafter-1", enterprise=E[2], kind="relative")),
    # ---------------------------------------------------------------- PUB4
    case("PUB4", "prompt-eligible-not-notified", 1,
         lambda s: s.where("eligible", enterprise=E[6])[0].update(notified=0)),
    case("PUB4", "none-notification-unknown", 0,
         lambda s: s.where("eligible", enterprise=E[6])[0].update(notified=None)),
    case("PUB4", "warning-4-of-6-reached", 2, setr("applications", "A5", decision="withdrawn")),
    case("PUB4", "none-4-of-5-reached-is-80pct", 0, setr("applications", "A5", decision="withdrawn"),
         lambda s: s.drop("eligible", enterprise=E[6])),
    case("PUB4", "alarm-auto-grant-unpaid-after-deadline", 3,
         setr("policies", "P1", auto_grant=1, grant_deadline=days(AS_OF, -1))),
    case("PUB4", "none-auto-grant-deadline-today", 0, setr("policies", "P1", auto_grant=1, grant_deadline=AS_OF)),
    # ---------------------------------------------------------------- APP1 (application A1)
    case("APP1", "none-nothing-missing-unforwarded", 0, setr("applications", "A1", materials_missing=0,
                                                             submitted=back(10), forwarded=None)),
    case("APP1", "prompt-missing-5wd", 1, setr("applications", "A1", materials_missing=2, submitted=back(5),
                                               forwarded=None)),
    case("APP1", "warning-missing-6wd", 2, setr("applications", "A1", materials_missing=2, submitted=back(6),
                                                forwarded=None)),
    case("APP1", "alarm-forwarded-while-missing", 3, setr("applications", "A1", materials_missing=2)),
    case("APP1", "none-supplied-on-forwarding-day", 0, setr("applications", "A1", materials_missing=2,
                                                            materials_supplied="2026-03-11")),
    case("APP1", "warning-supplied-after-6wd", 2, setr("applications", "A1", materials_missing=2,
                                                       materials_supplied="2026-03-18", forwarded="2026-03-19")),
    case("APP1", "none-supplied-after-5wd", 0, setr("applications", "A1", materials_missing=2,
                                                    materials_supplied="2026-03-17", forwarded="2026-03-19")),
    # ---------------------------------------------------------------- APP2
    case("APP2", "none-declared-as-registered", 0, setr("applications", "A1", decl_name="Acme Robotics Co., Ltd.",
                                                        decl_legal_rep="Legal Rep 1", decl_capital_fen=100_000_000)),
    case("APP2", "prompt-formatting-only", 1, setr("applications", "A1", decl_name="ACME robotics co ltd")),
    case("APP2", "warning-address-differs", 2, setr("applications", "A1", decl_address="99 Other Road")),
    case("APP2", "warning-capital-differs", 2, setr("applications", "A1", decl_capital_fen=100_000_001)),
    case("APP2", "alarm-two-fields-differ", 3, setr("applications", "A1", decl_address="99 Other Road",
                                                    decl_legal_rep="Somebody Else")),
    case("APP2", "alarm-revoked", 3, setr("enterprises", E[1], status="revoked")),
    case("APP2", "none-abnormal-is-not-app2", 0, setr("enterprises", E[1], status="abnormal")),
    # ---------------------------------------------------------------- APP3
    case("APP3", "prompt-same-title-other-policy", 1, a6(project="PROJECT-1")),
    case("APP3", "warning-same-category-other-policy", 2, a6(category="equipment")),
    case("APP3", "none-same-project-other-year", 0, a6(project="Project 1", category="equipment", year=2025)),
    case("APP3", "none-same-project-same-policy", 0, a6(project="Project 1", category="equipment", policy="P1")),
    case("APP3", "alarm-invoice-already-funded", 3, addr("invoices", application="A2", number="INV-001"),
         subject="A2"),
    case("APP3", "none-invoice-of-rejected-claim", 0, addr("invoices", application="A1", number="INV-002")),
    # ---------------------------------------------------------------- APP4
    case("APP4", "prompt-no-insured-staff", 1, setr("enterprises", E[1], insured_staff=0)),
    case("APP4", "none-one-insured", 0, setr("enterprises", E[1], insured_staff=1)),
    case("APP4", "warning-no-staff-no-tax", 2, setr("enterprises", E[1], insured_staff=0, tax_paid_fen=0)),
    case("APP4", "warning-tax-1000-yuan", 2, setr("enterprises", E[1], insured_staff=0, tax_paid_fen=100_000)),
    case("APP4", "prompt-tax-1000.01-yuan", 1, setr("enterprises", E[1], insured_staff=0, tax_paid_fen=100_001)),
    case("APP4", "alarm-three-signals", 3, setr("enterprises", E[1], insured_staff=0, tax_paid_fen=0,
                                                established="2026-01-01")),
    case("APP4", "warning-exactly-one-year-old", 2, setr("enterprises", E[1], insured_staff=0, tax_paid_fen=0,
                                                         established="2025-03-10")),
    # ---------------------------------------------------------------- APP5
    case("APP5", "prompt-11pct", 1, setr("applications", "A1", decl_revenue_fen=2_220_000_000)),
    case("APP5", "none-10pct", 0, setr("applications", "A1", decl_revenue_fen=2_200_000_000)),
    case("APP5", "prompt-30pct", 1, setr("applications", "A1", decl_revenue_fen=2_600_000_000)),
    case("APP5", "warning-31pct", 2, setr("applications", "A1", decl_revenue_fen=2_620_000_000)),
    case("APP5", "warning-50pct", 2, setr("applications", "A1", decl_revenue_fen=3_000_000_000)),
    case("APP5", "alarm-51pct", 3, setr("applications", "A1", decl_revenue_fen=3_020_000_000)),
    case("APP5", "alarm-unanchored-document", 3, setr("applications", "A1", unanchored_docs=1)),
    # ---------------------------------------------------------------- APP6
    case("APP6", "prompt-two-firms-one-phone", 1, setr("applications", "A2", phone="phone-1")),
    case("APP6", "none-same-firm-twice", 0, a6(phone="phone-1")),
    case("APP6", "warning-three-firms-one-phone", 2, setr("applications", "A2", phone="phone-1"),
         setr("applications", "A3", phone="phone-1")),
    case("APP6", "warning-shared-bank-account", 2, setr("applications", "A2", bank_account="account-1")),
    case("APP6", "alarm-shared-phone-and-controller", 3, setr("applications", "A2", phone="phone-1"),
         setr("enterprises", E[2], controller="controller-1")),
    case("APP6", "none-shared-controller-only", 0, setr("enterprises", E[2], controller="controller-1")),
    # ---------------------------------------------------------------- REV1
    case("REV1", "prompt-3wd-left", 1, lambda s: pending(s, back(57))),
    case("REV1", "none-4wd-left", 0, lambda s: pending(s, back(56))),
    case("REV1", "prompt-deadline-day", 1, lambda s: pending(s, back(60))),
    case("REV1", "warning-overdue", 2, lambda s: pending(s, back(61))),
    case("REV1", "warning-2x-deadline", 2, lambda s: pending(s, back(120))),
    case("REV1", "alarm-beyond-2x", 3, lambda s: pending(s, back(121))),
    case("REV1", "warning-decided-late", 2, setr("applications", "A1", reviewed=fwd("2026-03-11", 61))),
    case("REV1", "none-decided-on-deadline", 0, setr("applications", "A1", reviewed=fwd("2026-03-11", 60))),
    # ---------------------------------------------------------------- REV2
    case("REV2", "prompt-former-employee", 1, addr("relations", party="reviewer-1", enterprise=E[1],
                                                   kind="former_employee")),
    case("REV2", "warning-relative", 2, addr("relations", party="reviewer-1", enterprise=E[1], kind="relative")),
    case("REV2", "alarm-shareholder", 3, addr("relations", party="reviewer-1", enterprise=E[1], kind="shareholder")),
    case("REV2", "none-shareholder-recused", 0, addr("relations", party="reviewer-1", enterprise=E[1],
                                                     kind="shareholder"),
         lambda s: s.where("reviews", application="A1")[0].update(recused=1)),
    case("REV2", "none-link-to-another-firm", 0, addr("relations", party="reviewer-1", enterprise=E[2],
                                                      kind="shareholder")),
    # ---------------------------------------------------------------- REV3
    case("REV3", "prompt-log-incomplete", 1, lambda s: s.where("draws", application="A1")[0].update(log_complete=0)),
    case("REV3", "warning-firm-60pct", 2, *[(lambda a: lambda s: s.where("draws", application=a)[0].update(
        firm="verifier-1"))(a) for a in ("A2", "A3")], settings=AuditSettings(thresholds=("REV3.min_draws=5",))),
    case("REV3", "none-firm-40pct", 0, lambda s: s.where("draws", application="A2")[0].update(firm="verifier-1"),
         settings=AuditSettings(thresholds=("REV3.min_draws=5",))),
    case("REV3", "none-too-few-draws-to-judge", 0, *[(lambda a: lambda s: s.where("draws", application=a)[0].update(
        firm="verifier-1"))(a) for a in ("A2", "A3")]),
    case("REV3", "alarm-overridden", 3, lambda s: s.where("draws", application="A1")[0].update(overridden=1)),
    case("REV3", "alarm-firm-linked-to-applicant", 3, addr("relations", party="verifier-1", enterprise=E[1],
                                                           kind="shareholder")),
    # ---------------------------------------------------------------- REV4
    case("REV4", "prompt-4-minutes", 1, lambda s: s.where("reviews", application="A1")[0].update(minutes=4)),
    case("REV4", "none-5-minutes", 0, lambda s: s.where("reviews", application="A1")[0].update(minutes=5)),
    case("REV4", "warning-lenient-reviewer", 2, peers(10)),
    case("REV4", "none-reviewer-within-fence", 0, peers(7)),
    case("REV4", "alarm-override-without-reason", 3, lambda s: s.where("reviews", application="A1")[0].update(
        hardfail_overridden=1)),
    case("REV4", "none-override-with-reason", 0, lambda s: s.where("reviews", application="A1")[0].update(
        hardfail_overridden=1, override_reason="registry lag, checked by phone")),
    # ---------------------------------------------------------------- REV5
    case("REV5", "prompt-95pct-of-cap", 1, setr("applications", "A1", approved_fen=9_500_000, formula_fen=10_000_000)),
    case("REV5", "none-just-below-95pct", 0, setr("applications", "A1", approved_fen=9_499_999,
                                                  formula_fen=10_000_000)),
    case("REV5", "warning-split-across-affiliates", 2,
         setr("applications", "A1", approved_fen=6_000_000, formula_fen=10_000_000),
         setr("applications", "A2", approved_fen=6_000_000, decision="approved", project="Project 1"),
         setr("enterprises", E[2], controller="controller-1")),
    case("REV5", "none-affiliates-within-cap", 0,
         setr("applications", "A2", approved_fen=5_000_000, decision="approved", project="Project 1"),
         setr("enterprises", E[2], controller="controller-1")),
    case("REV5", "alarm-above-cap", 3, setr("applications", "A1", approved_fen=10_000_001, formula_fen=10_000_000)),
    case("REV5", "alarm-above-formula", 3, setr("applications", "A1", approved_fen=6_000_000)),
    # ---------------------------------------------------------------- REV6
    case("REV6", "prompt-edited-before-signoff", 1, addr("record_changes", application="A1", at="2026-03-19",
                                                         after_signoff=0)),
    case("REV6", "warning-edited-after-with-reason", 2, addr("record_changes", application="A1", at="2026-03-30",
                                                             after_signoff=1, reason="bank name typo")),
    case("REV6", "alarm-edited-after-without-reason", 3, addr("record_changes", application="A1", at="2026-03-30",
                                                              after_signoff=1)),
    case("REV6", "alarm-hash-mismatch", 3, setr("applications", "A1", hash_ok=0)),
    case("REV6", "alarm-deleted", 3, addr("record_changes", application="A1", at="2026-03-30", after_signoff=0,
                                          deleted=1)),
    case("REV6", "none-hash-unknown-no-edits", 0, setr("applications", "A1", hash_ok=None)),
    # ---------------------------------------------------------------- NOT1 (no prompt level)
    case("NOT1", "warning-payout-tomorrow-no-notice", 2, unpaid, lambda s: s.drop("notices"),
         setr("payout_lines", "B1:1", planned=fwd(TODAY, 1))),
    case("NOT1", "none-payout-in-2wd", 0, unpaid, lambda s: s.drop("notices"),
         setr("payout_lines", "B1:1", planned=fwd(TODAY, 2))),
    case("NOT1", "none-notice-1wd-before", 0, unpaid, setr("payout_lines", "B1:1", planned=fwd(TODAY, 1)),
         lambda s: s.where("notices", application="A1")[0].update(published=AS_OF, planned_end=fwd(TODAY, 5))),
    case("NOT1", "alarm-paid-no-notice", 3, lambda s: s.drop("notices")),
    case("NOT1", "alarm-notice-after-payment", 3, lambda s: s.where("notices")[0].update(published="2026-04-09")),
    case("NOT1", "none-notice-on-payment-day", 0, lambda s: s.where("notices")[0].update(published="2026-04-08",
                                                                                         planned_end="2026-04-07")),
    # ---------------------------------------------------------------- NOT2
    case("NOT2", "none-5wd-planned-closed-on-time", 0, lambda s: s.where("notices")[0].update(
        published="2026-03-25", planned_end="2026-04-01", closed="2026-04-01")),
    case("NOT2", "prompt-4wd-planned", 1, lambda s: s.where("notices")[0].update(planned_end="2026-03-31",
                                                                                 closed="2026-03-31")),
    case("NOT2", "warning-closed-early", 2, lambda s: s.where("notices")[0].update(closed="2026-03-31")),
    case("NOT2", "alarm-paid-on-last-day", 3, setr("payout_lines", "B1:1", bank_date="2026-04-01")),
    case("NOT2", "none-paid-day-after", 0, setr("payout_lines", "B1:1", bank_date="2026-04-02")),
    # ---------------------------------------------------------------- NOT3
    case("NOT3", "none-notice-matches-approval", 0, lambda s: s.where("notices")[0].update(
        listed_name="Acme Robotics Co., Ltd.", listed_amount_fen=5_000_000)),
    case("NOT3", "prompt-amount-missing", 1, lambda s: s.where("notices")[0].update(listed_amount_fen=None)),
    case("NOT3", "warning-amount-differs", 2, lambda s: s.where("notices")[0].update(listed_amount_fen=4_000_000)),
    case("NOT3", "warning-name-differs", 2, lambda s: s.where("notices")[0].update(listed_name="Other Co"),
         setr("payout_lines", "B1:1", payee_name="Other Co")),
    case("NOT3", "none-name-formatting", 0, lambda s: s.where("notices")[0].update(listed_name="ACME ROBOTICS CO LTD")),
    case("NOT3", "alarm-payee-not-in-notice", 3, setr("payout_lines", "B1:1", payee_name="Other Co")),
    case("NOT3", "alarm-paid-with-no-notice", 3, lambda s: s.drop("notices")),
    # ---------------------------------------------------------------- NOT4
    case("NOT4", "prompt-open-objection", 1, lambda s: s.where("objections")[0].update(
        received=days(AS_OF, -1), replied=AS_OF, closed=None)),
    case("NOT4", "prompt-5wd-unanswered", 1, lambda s: s.where("objections")[0].update(
        received=back(5), replied=None, closed=None)),
    case("NOT4", "warning-6wd-unanswered", 2, lambda s: s.where("objections")[0].update(
        received=back(6), replied=None, closed=None)),
    case("NOT4", "warning-answered-after-6wd", 2, lambda s: s.where("objections")[0].update(
        received="2026-08-20", replied="2026-08-28", closed="2026-08-28")),
    case("NOT4", "none-answered-after-5wd", 0, lambda s: s.where("objections")[0].update(
        received="2026-08-20", replied="2026-08-27", closed="2026-08-27")),
    case("NOT4", "alarm-paid-while-open", 3, lambda s: s.where("objections")[0].update(closed="2026-04-09")),
    case("NOT4", "none-closed-on-payment-day", 0, lambda s: s.where("objections")[0].update(closed="2026-04-08")),
    # ---------------------------------------------------------------- PAY1 (notice closed 2026-04-01)
    case("PAY1", "prompt-3wd-left", 1, unpaid, lambda s: s.where("notices")[0].update(closed=back(12))),
    case("PAY1", "none-4wd-left", 0, unpaid, lambda s: s.where("notices")[0].update(closed=back(11))),
    case("PAY1", "none-paid-on-15th-wd", 0, setr("payout_lines", "B1:1", bank_date=fwd("2026-04-01", 15))),
    case("PAY1", "warning-paid-on-16th-wd", 2, setr("payout_lines", "B1:1", bank_date=fwd("2026-04-01", 16))),
    case("PAY1", "warning-paid-on-30th-wd", 2, setr("payout_lines", "B1:1", bank_date=fwd("2026-04-01", 30))),
    case("PAY1", "alarm-paid-on-31st-wd", 3, setr("payout_lines", "B1:1", bank_date=fwd("2026-04-01", 31))),
    case("PAY1", "alarm-parked-in-department-account", 3, setr("payout_lines", "B1:1", account_type="department")),
    # ---------------------------------------------------------------- PAY2 (line B1:1)
    case("PAY2", "prompt-account-changed-29-days-before", 1, setr("payout_lines", "B1:1",
                                                                  account_changed=days("2026-04-08", -29)),
         subject="B1:1"),
    case("PAY2", "none-changed-30-days-before", 0,
         setr("payout_lines", "B1:1", account_changed=days("2026-04-08", -30)),
         subject="B1:1"),
    case("PAY2", "warning-holder-differs", 2, setr("payout_lines", "B1:1", payee_name="Other Co"), subject="B1:1"),
    case("PAY2", "none-holder-formatting", 0, setr("payout_lines", "B1:1", payee_name="ACME robotics co ltd"),
         subject="B1:1"),
    case("PAY2", "alarm-individual-account", 3, setr("payout_lines", "B1:1", account_type="individual"),
         subject="B1:1"),
    case("PAY2", "alarm-agent-account", 3, setr("payout_lines", "B1:1", account_type="agent"), subject="B1:1"),
    # ---------------------------------------------------------------- PAY3
    case("PAY3", "prompt-rounding-100-fen", 1, setr("payout_lines", "B1:1", bank_fen=5_000_100), subject="B1:1"),
    case("PAY3", "alarm-overpaid-101-fen", 3, setr("payout_lines", "B1:1", bank_fen=5_000_101), subject="B1:1"),
    case("PAY3", "warning-underpaid-101-fen", 2, setr("payout_lines", "B1:1", bank_fen=4_999_899), subject="B1:1"),
    case("PAY3", "prompt-underpaid-100-fen", 1, setr("payout_lines", "B1:1", bank_fen=4_999_900), subject="B1:1"),
    case("PAY3", "none-bank-return-equals-export", 0, setr("payout_lines", "B1:1", bank_fen=5_000_000),
         subject="B1:1"),
    case("PAY3", "warning-failed-unresolved-6wd", 2, setr("payout_lines", "B1:1", bank_status="failed",
                                                          bank_date=back(6), bank_fen=0), subject="B1:1"),
    case("PAY3", "none-failed-5wd", 0, setr("payout_lines", "B1:1", bank_status="failed", bank_date=back(5),
                                            bank_fen=0), subject="B1:1"),
    case("PAY3", "alarm-paid-twice", 3, addr("payout_lines", id="B2:1", application="A1", planned="2026-04-15",
                                             export_fen=5_000_000, bank_fen=5_000_000, bank_status="paid",
                                             bank_date="2026-04-15", payee_name="Acme Robotics Co., Ltd.",
                                             account_type="corporate"), subject="B1:1"),
    case("PAY3", "none-second-line-failed", 0, addr("payout_lines", id="B2:1", application="A1",
                                                    export_fen=5_000_000, bank_fen=0, bank_status="failed",
                                                    bank_date="2026-04-15", resolved="2026-04-16"), subject="B1:1"),
    # ---------------------------------------------------------------- PAY4 (approved 03-20, paid 04-08)
    case("PAY4", "prompt-abnormal", 1, addr("registry_changes", enterprise=E[1], date="2026-03-25", kind="abnormal")),
    case("PAY4", "warning-moved-out", 2, addr("registry_changes", enterprise=E[1], date="2026-03-25",
                                              kind="moved_out")),
    case("PAY4", "alarm-revoked", 3, addr("registry_changes", enterprise=E[1], date="2026-03-25", kind="revoked")),
    case("PAY4", "none-revoked-after-payout", 0, addr("registry_changes", enterprise=E[1], date="2026-04-09",
                                                      kind="revoked")),
    case("PAY4", "alarm-revoked-before-approval-still-in-force", 3,
         addr("registry_changes", enterprise=E[1], date="2026-03-01", kind="revoked")),
    case("PAY4", "none-abnormal-restored-before-payout", 0,
         addr("registry_changes", enterprise=E[1], date="2026-03-25", kind="abnormal"),
         addr("registry_changes", enterprise=E[1], date="2026-04-07", kind="active")),
    case("PAY4", "prompt-abnormal-restored-after-payout", 1,
         addr("registry_changes", enterprise=E[1], date="2026-03-25", kind="abnormal"),
         addr("registry_changes", enterprise=E[1], date="2026-04-09", kind="active")),
    case("PAY4", "none-moved-out-and-returned", 0,
         addr("registry_changes", enterprise=E[1], date="2026-03-25", kind="moved_out"),
         addr("registry_changes", enterprise=E[1], date="2026-03-30", kind="returned")),
    # ---------------------------------------------------------------- PAY5
    case("PAY5", "prompt-late-signoff", 1, signoff(2, signed="2026-03-26")),
    case("PAY5", "none-signed-on-due-date", 0, signoff(2, signed="2026-03-25")),
    case("PAY5", "warning-wrong-role", 2, signoff(3, role="clerk")),
    case("PAY5", "alarm-level-missing", 3, signoff(3, signed=None)),
    case("PAY5", "alarm-policy-expired", 3, setr("policies", "P1", valid_until="2026-04-07")),
    case("PAY5", "none-policy-valid-on-payout-day", 0, setr("policies", "P1", valid_until="2026-04-08")),
    case("PAY5", "none-decided-by-rule-needs-no-signoffs", 0, setr("applications", "A1", review_levels=0),
         lambda s: s.drop("signoffs")),
    case("PAY5", "alarm-manual-path-without-signoffs", 3, setr("applications", "A1", review_levels=3),
         lambda s: s.drop("signoffs")),
    case("REV1", "warning-policy-deadline-10wd", 2, lambda s: pending(s, back(11)),
         setr("policies", "P1", review_wd=10)),
    # ---------------------------------------------------------------- USE1
    case("USE1", "prompt-uncategorised", 1, addr("usage", application="A1", category=None, amount_fen=1,
                                                 reported="2026-07-01")),
    case("USE1", "warning-banned-10pct", 2, lambda s: s.where("usage", category="equipment")[0].update(
        amount_fen=4_500_000), lambda s: s.where("usage", category="training")[0].update(
        category="entertainment", amount_fen=500_000)),
    case("USE1", "alarm-banned-11pct", 3, lambda s: s.where("usage", category="equipment")[0].update(
        amount_fen=4_450_000), lambda s: s.where("usage", category="training")[0].update(
        category="entertainment", amount_fen=550_000)),
    case("USE1", "alarm-wages", 3, addr("usage", application="A1", category="wages", amount_fen=1,
                                        reported="2026-07-01")),
    case("USE1", "none-rent", 0, lambda s: s.where("usage", category="training")[0].update(category="rent")),
    # ---------------------------------------------------------------- USE2 (received 2026-04-08)
    case("USE2", "prompt-cash", 1, lambda s: s.where("transfers")[0].update(kind="cash")),
    case("USE2", "none-cash-before-receipt", 0, lambda s: s.where("transfers")[0].update(kind="cash",
                                                                                          date="2026-04-07")),
    case("USE2", "warning-new-counterparty-day-30", 2, lambda s: s.where("transfers")[0].update(
        counterparty_since="2026-04-08", date="2026-05-08")),
    case("USE2", "none-new-counterparty-day-31", 0, lambda s: s.where("transfers")[0].update(
        counterparty_since="2026-04-08", date="2026-05-09")),
    case("USE2", "alarm-official", 3, lambda s: s.where("transfers")[0].update(counterparty_link="official")),
    case("USE2", "alarm-agent", 3, lambda s: s.where("transfers")[0].update(counterparty_link="agent")),
    # ---------------------------------------------------------------- USE3
    case("USE3", "prompt-report-late", 1, lambda s: s.where("performance")[0].update(reported="2026-07-16")),
    case("USE3", "none-report-on-due-date", 0, lambda s: s.where("performance")[0].update(reported="2026-07-15")),
    case("USE3", "warning-79pct", 2, lambda s: s.where("performance")[0].update(achieved=79)),
    case("USE3", "none-80pct", 0, lambda s: s.where("performance")[0].update(achieved=80)),
    case("USE3", "alarm-moved-out-in-commitment", 3, addr("registry_changes", enterprise=E[1], date="2026-08-01",
                                                          kind="moved_out")),
    case("USE3", "none-moved-before-receipt", 0, addr("registry_changes", enterprise=E[1], date="2026-04-07",
                                                      kind="moved_out")),
    # ---------------------------------------------------------------- USE4
    case("USE4", "prompt-due-in-5wd", 1, lambda s: s.where("rectifications")[0].update(due=fwd(TODAY, 5), done=None)),
    case("USE4", "none-due-in-6wd", 0, lambda s: s.where("rectifications")[0].update(due=fwd(TODAY, 6), done=None)),
    case("USE4", "warning-overdue", 2, lambda s: s.where("rectifications")[0].update(due=days(AS_OF, -1), done=None)),
    case("USE4", "warning-90-days-overdue", 2, lambda s: s.where("rectifications")[0].update(due=days(AS_OF, -90),
                                                                                             done=None)),
    case("USE4", "alarm-91-days-overdue", 3, lambda s: s.where("rectifications")[0].update(due=days(AS_OF, -91),
                                                                                           done=None)),
    case("USE4", "none-done-late", 0, lambda s: s.where("rectifications")[0].update(due=days(AS_OF, -91),
                                                                                    done=AS_OF)),
]

DEFAULT_SUBJECT = {"policy": "P1", "application": "A1", "payout": "B1:1"}
SUBJECT_OF = {r.id: r.subject for r in RULES}


@pytest.mark.parametrize("point, expected, muts, subject, settings", CASES)
def test_point_level(point, expected, muts, subject, settings):
    s = clean_ledger()
    for m in muts:
        m(s)
    snap = s.build()
    result = Engine(settings=settings).scan(snap, points=[point])
    sid = subject or DEFAULT_SUBJECT[SUBJECT_OF[point]]
    mine = [f for f in result.findings if f.subject_id == sid]
    assert all(f.point_id == point for f in result.findings)
    if expected == 0:
        assert mine == [], [(f.level, f.facts) for f in mine]
    else:
        assert len(mine) == 1, result.findings
        f = mine[0]
        assert f.level == Level(expected), f.facts
        assert f.facts["condition"] == next(r for r in RULES if r.id == point).levels[expected - 1]
        assert f.rule_version == Engine(settings=settings).versions[point]


def test_every_point_has_a_tripping_and_a_clean_case_per_defined_level():
    trips: dict[str, set[int]] = {}
    clean: set[str] = set()
    for p in CASES:
        point, expected = p.values[0], p.values[1]
        if expected:
            trips.setdefault(point, set()).add(expected)
        else:
            clean.add(point)
    for r in RULES:
        defined = {i + 1 for i, text in enumerate(r.levels) if text}
        assert trips.get(r.id) == defined, r.id
        assert r.id in clean, r.id
    assert next(r for r in RULES if r.id == "NOT1").levels[0] == ""  # the catalogue defines no prompt for NOT1
