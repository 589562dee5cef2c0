"""Stage 5, payout (拨付): PAY1-PAY5. PAY2 and PAY3 judge payout lines, the others applications."""

from __future__ import annotations

import numpy as np

from audit.rules.base import Ctx, Fact, Outcome, Rule, gany, gcount, gmin, gsum, levels, outcome
from audit.rules.notice import notice_of
from audit.snapshot import NA


def pay1(c: Ctx, idx: np.ndarray) -> Outcome:
    s = c.s
    pl = s.payout_lines
    n = len(idx)
    nt = notice_of(c, idx)
    start = np.where(nt["closed"] >= 0, nt["closed"], nt["planned_end"])
    paid = c.first_paid(idx)
    end = np.where(paid >= 0, paid, c.today)
    elapsed = c.wd(start, end)
    approved = s.applications.approved_fen[idx] >= 0
    known = approved & (start >= 0) & (start <= c.today)
    limit = c.p["limit_wd"]
    rows, pos = c.kids("payout_lines", idx)
    parked = gany((pl.account_type[rows] == c.code("account_type", "department"))
                  & (pl.bank_status[rows] == c.code("bank_status", "paid")), pos, n)
    prompt = (paid < 0) & (elapsed <= limit) & (limit - elapsed <= c.p["prompt_left_wd"])
    warning = elapsed > limit
    alarm = (elapsed > c.p["alarm_wd"]) | parked
    return outcome(levels(n, prompt, warning, alarm), known, approved & nt["has"] & (start < 0),
                   notice_end=Fact(start, "notices.closed / planned_end", "date"),
                   first_paid=Fact(paid, "payout_lines.bank_date (FINANCE)", "date"),
                   wd_elapsed=Fact(elapsed, "working days"),
                   parked_in_department_account=Fact(parked.astype(np.int8), "payout_lines.account_type", "flag"))


def _line_app(c: Ctx, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    app = c.s.payout_lines.application[idx]
    return app, np.where(app >= 0, app, 0)


def pay2(c: Ctx, idx: np.ndarray) -> Outcome:
    s = c.s
    pl, a, e = s.payout_lines, s.applications, s.enterprises
    n = len(idx)
    app, app0 = _line_app(c, idx)
    ent = np.where(app >= 0, a.enterprise[app0], NA) if len(a) else np.full(n, NA)
    firm = np.where(ent >= 0, e.name[np.where(ent >= 0, ent, 0)], NA) if len(e) else np.full(n, NA)
    payee, acct_type, changed = pl.payee_name[idx], pl.account_type[idx], pl.account_changed[idx]
    when = np.where(pl.bank_date[idx] >= 0, pl.bank_date[idx], np.where(pl.planned[idx] >= 0, pl.planned[idx], c.today))
    prompt = (changed >= 0) & (when - changed < c.p["recent_days"]) & (when >= changed)
    warning = (payee >= 0) & (firm >= 0) & ~s.same_text("name", payee, firm)
    alarm = np.isin(acct_type, c.codes("account_type", ("individual", "agent", "department"))) & (acct_type >= 0)
    known = (payee >= 0) | (acct_type >= 0) | (changed >= 0)
    return outcome(levels(n, prompt, warning, alarm), known, ~known,
                   payee_name=Fact(payee, "payout_lines.payee_name", "code", "name"),
                   firm_name=Fact(firm, "enterprises.name (MARKET)", "code", "name"),
                   account_type=Fact(acct_type, "payout_lines.account_type", "code", "account_type"),
                   account_changed=Fact(changed, "payout_lines.account_changed", "date"))


def _paid_total(c: Ctx) -> np.ndarray:
    s = c.s
    pl = s.payout_lines
    paid = (pl.bank_status == c.code("bank_status", "paid")) & (pl.application >= 0)
    amt = np.where(pl.bank_fen >= 0, pl.bank_fen, pl.export_fen)
    return gsum(amt[paid], pl.application[paid], len(s.applications))


def pay3(c: Ctx, idx: np.ndarray) -> Outcome:
    s = c.s
    pl, a = s.payout_lines, s.applications
    n = len(idx)
    app, app0 = _line_app(c, idx)
    total = c.cached("paid_total", lambda: _paid_total(c))
    exp, bank, status = pl.export_fen[idx], pl.bank_fen[idx], pl.bank_status[idx]
    paid = status == c.code("bank_status", "paid")
    failed = status == c.code("bank_status", "failed")
    both = (exp >= 0) & (bank >= 0) & paid
    diff = np.where(both, bank - exp, 0)
    r = c.p["rounding_fen"]
    prompt = both & (diff != 0) & (np.abs(diff) <= r)
    unresolved = failed & (pl.resolved[idx] < 0) & (pl.bank_date[idx] >= 0) & \
        (c.wd(pl.bank_date[idx], c.today) > c.p["failed_wd"])
    warning = unresolved | (both & (diff < -r))
    approved = np.where(app >= 0, a.approved_fen[app0], NA) if len(a) else np.full(n, NA)
    app_total = np.where(app >= 0, total[app0], 0) if len(a) else np.zeros(n, dtype=np.int64)
    over = paid & (approved >= 0) & (app_total > approved + r)
    alarm = (both & (diff > r)) | over
    known = (status >= 0)
    return outcome(levels(n, prompt, warning, alarm), known, (exp >= 0) & ~known,
                   export_fen=Fact(exp, "payout_lines.export_fen", "money"),
                   bank_fen=Fact(bank, "payout_lines.bank_fen (FINANCE)", "money"),
                   bank_status=Fact(status, "payout_lines.bank_status (FINANCE)", "code", "bank_status"),
                   application_paid_total_fen=Fact(app_total, "payout_lines (paid)", "money"),
                   approved_fen=Fact(approved, "applications.approved_fen", "money"))


STATUS_KINDS = ("active", "abnormal", "deregistered", "revoked", "dishonest")  # the registry status dimension
DISTRICT_KINDS = ("moved_out", "returned")  # the registered-district dimension


def registry_state(c: Ctx, ent: np.ndarray, until: np.ndarray, kinds: tuple[str, ...]) -> tuple[np.ndarray,
                                                                                              np.ndarray]:
    """Per firm (and date): the kind code and date of the latest registry change of one dimension on or before
    ``until`` (-1, -1 when none)."""
    rc = c.s.registry_changes
    n = len(ent)
    rows, pos = c.kids("registry_changes", np.where(ent >= 0, ent, -2).astype(np.int64), key="enterprise")
    kind, when = rc.kind[rows], rc.date[rows]
    ok = (when >= 0) & (when <= until[pos]) & np.isin(kind, c.codes("change", kinds)) & (kind >= 0)
    rows, pos, kind, when = rows[ok], pos[ok], kind[ok], when[ok]
    state = np.full(n, -1, dtype=np.int64)
    since = np.full(n, -1, dtype=np.int64)
    if len(rows):
        order = np.lexsort((rows, when, pos))  # by subject, then date, then row: the last of a subject wins
        state[pos[order]] = kind[order]
        since[pos[order]] = when[order]
    return state, since


def pay4(c: Ctx, idx: np.ndarray) -> Outcome:
    a = c.s.applications
    n = len(idx)
    ent = a.enterprise[idx]
    approved = a.approved[idx]
    paid = c.first_paid(idx)
    until = np.where(paid >= 0, paid, c.today)
    status, status_since = registry_state(c, ent, until, STATUS_KINDS)
    district, district_since = registry_state(c, ent, until, DISTRICT_KINDS)
    prompt = status == c.code("change", "abnormal")
    warning = district == c.code("change", "moved_out")
    alarm = np.isin(status, c.codes("change", ("deregistered", "revoked", "dishonest"))) & (status >= 0)
    lv = levels(n, prompt, warning, alarm)
    since = np.where(lv == 2, district_since, status_since)
    known = (approved >= 0) & (ent >= 0)
    return outcome(lv, known, (approved >= 0) & (ent < 0),
                   approved=Fact(approved, "applications.approved", "date"),
                   first_paid=Fact(paid, "payout_lines.bank_date (FINANCE)", "date"),
                   registry_status=Fact(status, "registry_changes.kind (MARKET)", "code", "change"),
                   registered_district=Fact(district, "registry_changes.kind (MARKET)", "code", "change"),
                   state_since=Fact(since, "registry_changes.date (MARKET)", "date"),
                   changed_since_approval=Fact(((since >= 0) & (approved >= 0) & (since > approved)).astype(np.int8),
                                               "registry_changes.date × applications.approved", "flag"))


def pay5(c: Ctx, idx: np.ndarray) -> Outcome:
    s = c.s
    so, a, p, pl = s.signoffs, s.applications, s.policies, s.payout_lines
    n = len(idx)
    lrows, lpos = c.kids("payout_lines", idx)
    has_lines = gcount(lpos, n) > 0
    when = np.where(pl.bank_date[lrows] >= 0, pl.bank_date[lrows], pl.planned[lrows])
    ok = when >= 0
    first_payout = gmin(when[ok], lpos[ok], n)
    rows, pos = c.kids("signoffs", idx)
    signed = so.signed[rows] >= 0
    late = signed & (so.due[rows] >= 0) & (so.signed[rows] > so.due[rows])
    wrong = signed & (so.role[rows] >= 0) & (so.expected_role[rows] >= 0) & (so.role[rows] != so.expected_role[rows])
    levels_signed = np.zeros((n, 4), dtype=bool)
    lvl = so.level[rows]
    good = signed & (lvl >= 1) & (lvl <= 3)
    levels_signed[pos[good], lvl[good]] = True
    n_levels = levels_signed[:, 1:].sum(axis=1)
    pol = a.policy[idx]
    valid = np.where(pol >= 0, p.valid_until[np.where(pol >= 0, pol, 0)], NA) if len(p) else np.full(n, NA)
    expired = (valid >= 0) & (first_payout >= 0) & (first_payout > valid)
    required = a.review_levels[idx]
    required = np.where(required >= 0, required, c.p["levels"])
    alarm = has_lines & ((n_levels < required) | expired)
    lv = levels(n, gany(late, pos, n), gany(wrong, pos, n), alarm)
    return outcome(lv, has_lines, None,
                   levels_signed=Fact(n_levels, "signoffs"),
                   levels_required=Fact(required, "applications.review_levels"),
                   late_signoffs=Fact(gcount(pos[late], n), "signoffs.due"),
                   wrong_role_signoffs=Fact(gcount(pos[wrong], n), "signoffs.role"),
                   policy_valid_until=Fact(valid, "policies.valid_until", "date"),
                   first_payout=Fact(first_payout, "payout_lines.planned / bank_date", "date"))


RULES = [
    Rule("PAY1", "payout", "application", "滞拨", "payout delayed",
         "Working days from the end of the notice to the bank's value date (or today while unpaid); lines "
         "paid into the department's own account.",
         "Money held back is money that can be diverted, or used to extract favours.",
         ("unpaid with ≤ prompt_left_wd WD left of limit_wd", "> limit_wd WD", "> alarm_wd WD, or money parked "
                                                                              "in the department's account"),
         "Applications not approved or whose notice has not ended.",
         "notice ended 12 WD ago, unpaid → prompt (11 → nothing); 16 → warning; 31 → alarm.",
         {"limit_wd": 15, "prompt_left_wd": 3, "alarm_wd": 30}, ("notice.published", "payout.recorded"), pay1,
         sources="notices, payout_lines (FINANCE)"),
    Rule("PAY2", "payout", "payout", "账户异常", "suspicious payee account",
         "The payee account's holder name, type and last change against the firm.",
         "A payee account changed just before the payout, or not the firm's own, is how money is diverted.",
         ("account changed < recent_days days before payment", "holder name ≠ the firm's registered name",
          "paid to an individual, an agent or the department's own account"),
         "Names compared formatting-insensitively.",
         "changed 29 days before → prompt (30 → nothing); holder 'B Co' → warning; individual account → alarm.",
         {"recent_days": 30}, ("payout.recorded", "account.changed"), pay2, sources="payout_lines, enterprises"),
    Rule("PAY3", "payout", "payout", "回盘不符", "export and bank return differ",
         "Finance export file vs bank return line by line; failed lines' resolution; the application's "
         "paid total vs its approved amount. (The product's bank-return import already refuses "
         "differences above [payouts] rounding_tolerance_fen; set PAY3.rounding_fen to the same value to align.)",
         "Differences between what was ordered and what was paid are either errors or theft.",
         ("differs by ≤ rounding_fen fen", "a failed line unresolved > failed_wd WD, or underpaid beyond rounding",
          "overpaid, or paid twice (paid total above the approved amount by > rounding_fen)"),
         "Lines with no bank return yet are skipped.",
         "bank 100 fen over export → prompt; 101 → alarm; failed 6 WD ago unresolved → warning; "
         "second paid line → alarm.",
         {"rounding_fen": 100, "failed_wd": 5}, ("payout.recorded",), pay3, sources="payout_lines (FINANCE)"),
    Rule("PAY4", "payout", "application", "主体变化", "firm changed before payout",
         "The applicant's registry state in force at payout (or today while unpaid): the latest status change "
         "(abnormal, deregistered, revoked, dishonest, or restored to active) and the latest change of its "
         "registered district (moved out of the district, or returned), whenever it happened — a change since "
         "approval, or a state the approval missed (`changed_since_approval` says which).",
         "A firm that is listed abnormal, leaves the district or ceases to exist is no longer eligible.",
         ("listed abnormal (经营异常)", "moved out of the district", "deregistered, revoked or dishonest"),
         "Applications not approved; states restored before payout; changes after payout (USE3 covers the "
         "commitment period).",
         "abnormal after approval → prompt; moved out → warning; revoked → alarm; revoked after payout → nothing; "
         "abnormal then restored before payout → nothing.",
         {}, ("registry.changed", "payout.recorded", "application.reviewed"), pay4, sources="registry_changes"),
    Rule("PAY5", "payout", "application", "审批链缺失", "approval chain incomplete",
         "The sign-offs before payout: all `levels` levels (three: clerk, head, director) signed, each "
         "level's signer role and date against its due date; the policy's validity at payout.",
         "A payout without the full approval chain is an unauthorised payment.",
         ("a sign-off late", "a sign-off by the wrong role", "a level missing at payout, or the policy expired"),
         "Applications with no payout ordered; applications decided by rule (秒批) or enrolled (免申即享) "
         "need no sign-off levels (review_levels 0).",
         "level 2 signed a day late → prompt; level 3 signed by a clerk → warning; level 3 missing → alarm.",
         {"levels": 3}, ("signoff.recorded", "payout.recorded"), pay5, sources="signoffs, policies.valid_until"),
]
