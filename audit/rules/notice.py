"""Stage 4, notice (公示): NOT1-NOT4, subject = the application."""

from __future__ import annotations

import numpy as np

from audit.rules.base import Ctx, Fact, Outcome, Rule, gany, gcount, gmin, levels, outcome
from audit.snapshot import NA


def notice_of(c: Ctx, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Per application in idx, its (latest recorded) notice's columns; -1 where it has none."""
    nt = c.s.notices
    rows, pos = c.kids("notices", idx)
    out = {}
    for col in ("published", "planned_end", "closed", "planned_payout", "listed_name", "listed_amount_fen"):
        v = np.full(len(idx), NA, dtype=np.int64)
        v[pos] = nt[col][rows]
        out[col] = v
    out["has"] = gcount(pos, len(idx)) > 0
    return out


def lines_of(c: Ctx, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return c.kids("payout_lines", idx)


def planned_payout(c: Ctx, idx: np.ndarray, notice: dict[str, np.ndarray]) -> np.ndarray:
    rows, pos = lines_of(c, idx)
    pl = c.s.payout_lines.planned[rows]
    ok = pl >= 0
    first = gmin(pl[ok], pos[ok], len(idx))
    return np.where(first >= 0, first, notice["planned_payout"])


def not1(c: Ctx, idx: np.ndarray) -> Outcome:
    n = len(idx)
    nt = notice_of(c, idx)
    planned = planned_payout(c, idx, nt)
    paid = c.first_paid(idx)
    pub = nt["published"]
    lead = c.p["lead_wd"]
    noticed_in_time = (pub >= 0) & (c.wd(pub, planned) >= lead)
    due_soon = (planned >= 0) & (c.wd(np.full(n, c.today), planned) <= lead)
    warning = (paid < 0) & due_soon & ~noticed_in_time
    alarm = (paid >= 0) & ((pub < 0) | (pub > paid))
    known = (planned >= 0) | (paid >= 0)
    return outcome(levels(n, None, warning, alarm), known, None,
                   notice_published=Fact(pub, "notices.published", "date"),
                   planned_payout=Fact(planned, "payout_lines.planned / notices.planned_payout", "date"),
                   first_paid=Fact(paid, "payout_lines.bank_date (FINANCE)", "date"))


def not2(c: Ctx, idx: np.ndarray) -> Outcome:
    n = len(idx)
    nt = notice_of(c, idx)
    pub, end, closed = nt["published"], nt["planned_end"], nt["closed"]
    period = np.where((pub >= 0) & (end >= 0), c.wd(pub, end), NA)
    paid = c.first_paid(idx)
    prompt = (period >= 0) & (period < c.p["min_wd"])
    warning = (closed >= 0) & (end >= 0) & (closed < end)
    alarm = (paid >= 0) & (end >= 0) & (paid <= end)
    known = nt["has"] & (pub >= 0) & (end >= 0)
    return outcome(levels(n, prompt, warning, alarm), known, nt["has"] & ~known,
                   published=Fact(pub, "notices.published", "date"),
                   planned_end=Fact(end, "notices.planned_end", "date"),
                   closed=Fact(closed, "notices.closed", "date"), period_wd=Fact(period, "working days"),
                   first_paid=Fact(paid, "payout_lines.bank_date (FINANCE)", "date"))


def not3(c: Ctx, idx: np.ndarray) -> Outcome:
    s = c.s
    a, e, pl = s.applications, s.enterprises, s.payout_lines
    n = len(idx)
    nt = notice_of(c, idx)
    name, amount = nt["listed_name"], nt["listed_amount_fen"]
    ent = a.enterprise[idx]
    reg = np.where(ent >= 0, e.name[np.where(ent >= 0, ent, 0)], NA) if len(e) else np.full(n, NA)
    approved = a.approved_fen[idx]
    prompt = nt["has"] & ((name < 0) | (amount < 0))
    warning = nt["has"] & (((amount >= 0) & (approved >= 0) & (amount != approved))
                           | ((name >= 0) & (reg >= 0) & ~s.same_text("name", name, reg)))
    rows, pos = lines_of(c, idx)
    payee = pl.payee_name[rows]
    listed = name[pos]
    stranger = (payee >= 0) & (~nt["has"][pos] | ((listed >= 0) & ~s.same_text("name", payee, listed)))
    alarm = gany(stranger, pos, n)
    known = nt["has"] | (gcount(pos, n) > 0)
    return outcome(levels(n, prompt, warning, alarm), known, None,
                   notice_name=Fact(name, "notices.listed_name", "code", "name"),
                   notice_amount_fen=Fact(amount, "notices.listed_amount_fen", "money"),
                   approved_fen=Fact(approved, "applications.approved_fen", "money"),
                   registry_name=Fact(reg, "enterprises.name (MARKET)", "code", "name"),
                   payee_not_in_notice=Fact(alarm.astype(np.int8), "payout_lines.payee_name", "flag"))


def not4(c: Ctx, idx: np.ndarray) -> Outcome:
    ob = c.s.objections
    n = len(idx)
    rows, pos = c.kids("objections", idx)
    rec, rep, clo = ob.received[rows], ob.replied[rows], ob.closed[rows]
    ok = rec >= 0
    open_now = ok & (clo < 0)
    waited = c.wd(rec, np.where(rep >= 0, rep, c.today))
    slow = ok & (waited > c.p["reply_wd"])
    paid = c.first_paid(idx)[pos]
    paid_open = ok & (paid >= 0) & (rec <= paid) & ((clo < 0) | (clo > paid))
    lv = levels(n, gany(open_now, pos, n), gany(slow, pos, n), gany(paid_open, pos, n))
    return outcome(lv, gany(ok, pos, n), gany(~ok, pos, n),
                   objections=Fact(gcount(pos, n), "objections"),
                   open_objections=Fact(gcount(pos[open_now], n), "objections.closed"),
                   unanswered_beyond_limit=Fact(gcount(pos[slow], n), "objections.replied"),
                   paid_while_open=Fact(gany(paid_open, pos, n).astype(np.int8), "payout_lines.bank_date", "flag"))


RULES = [
    Rule("NOT1", "notice", "application", "未公示", "paid without notice",
         "The notice record against the payout order and the bank's value date.",
         "Public notice is the check that lets competitors and citizens object; paying without it skips it.",
         ("", "no notice lead_wd WD before the planned payout (as that date comes)", "paid with no notice before"),
         "Applications with neither a planned nor an actual payout. There is no prompt level.",
         "payout planned tomorrow, no notice → warning; notice published 1 WD before → nothing; "
         "paid with no notice → alarm.",
         {"lead_wd": 1}, ("notice.published", "payout.recorded"), not1, sources="notices, payout_lines"),
    Rule("NOT2", "notice", "application", "公示不足", "notice period too short",
         "Working days of the planned notice period; early closing; payment before the planned end.",
         "A notice too short to read is no notice.",
         ("planned < min_wd WD", "closed before its planned end", "paid on or before the planned end"),
         "Applications without a notice (NOT1 covers them).",
         "4 WD → prompt (5 → nothing); closed a day early → warning; paid on the last day → alarm.",
         {"min_wd": 5}, ("notice.published", "payout.recorded"), not2, sources="notices, payout_lines"),
    Rule("NOT3", "notice", "application", "名单不一致", "lists differ",
         "Approved list vs notice list (name, amount) vs the payment file's payee.",
         "Whoever is paid must be whoever was publicly named, for the amount named.",
         ("a name or amount missing from the notice", "notice amount ≠ approved, or name ≠ registry name",
          "a payee not in the notice"),
         "Names compared formatting-insensitively.",
         "notice without amount → prompt; 50,000 on notice vs 60,000 approved → warning; "
         "payee 'B Co' where the notice lists 'A Co' → alarm.",
         {}, ("notice.published", "payout.recorded"), not3, sources="notices, applications, payout_lines"),
    Rule("NOT4", "notice", "application", "异议未处理", "objection not handled",
         "The objection log: open objections, reply time in working days, payment while one is open.",
         "Ignoring objections silences the people best placed to spot a false claim.",
         ("an objection open", "no reply within reply_wd WD", "paid with an objection still open"),
         "None.",
         "received, open → prompt; no reply after 6 WD → warning (5 → prompt only); paid while open → alarm.",
         {"reply_wd": 5}, ("objection.recorded", "payout.recorded"), not4, sources="objections, payout_lines"),
]
