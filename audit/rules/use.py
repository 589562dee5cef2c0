"""Stage 6, use (使用): USE1-USE4, subject = the application."""

from __future__ import annotations

import numpy as np

from audit.rules.base import Ctx, Fact, Outcome, Rule, gany, gcount, gmin, gsum, levels, outcome


def use1(c: Ctx, idx: np.ndarray) -> Outcome:
    u = c.s.usage
    n = len(idx)
    rows, pos = c.kids("usage", idx)
    cat, amt = u.category[rows], u.amount_fen[rows]
    amt = np.where(amt >= 0, amt, 0)
    banned = np.isin(cat, c.codes("use_category", c.p["banned"])) & (cat >= 0)
    severe = np.isin(cat, c.codes("use_category", c.p["severe"])) & (cat >= 0) & banned
    total = gsum(amt, pos, n)
    banned_sum = gsum(amt[banned], pos[banned], n)
    share = np.where(total > 0, banned_sum / np.maximum(total, 1), 0.0)
    prompt = gany(cat < 0, pos, n)
    warning = (banned_sum > 0) & (share <= c.p["max_share"])
    alarm = (share > c.p["max_share"]) | gany(severe & (amt > 0), pos, n)
    has = gcount(pos, n) > 0
    return outcome(levels(n, prompt, warning, alarm), has, None,
                   reported_total_fen=Fact(total, "usage.amount_fen", "money"),
                   banned_fen=Fact(banned_sum, "usage.category", "money"),
                   banned_share=Fact(share, "usage", "ratio"),
                   uncategorised_lines=Fact(gcount(pos[cat < 0], n), "usage.category"))


def use2(c: Ctx, idx: np.ndarray) -> Outcome:
    t = c.s.transfers
    n = len(idx)
    received = c.first_paid(idx)
    rows, pos = c.kids("transfers", idx)
    rec = received[pos]
    after = (rec >= 0) & (t.date[rows] >= rec)
    cash = after & (t.kind[rows] == c.code("transfer_kind", "cash"))
    since = t.counterparty_since[rows]
    new = after & (t.kind[rows] == c.code("transfer_kind", "transfer")) & (since >= rec) & \
        (t.date[rows] - rec <= c.p["new_days"])
    linked = after & np.isin(t.counterparty_link[rows], c.codes("link", ("official", "agent"))) & \
        (t.counterparty_link[rows] >= 0)
    has = gcount(pos, n) > 0
    lv = levels(n, gany(cash, pos, n), gany(new, pos, n), gany(linked, pos, n))
    return outcome(lv, has & (received >= 0), (received >= 0) & ~has,
                   received=Fact(received, "payout_lines.bank_date (FINANCE)", "date"),
                   cash_withdrawals=Fact(gcount(pos[cash], n), "transfers.kind (FINANCE bank flows)"),
                   new_counterparties=Fact(gcount(pos[new], n), "transfers.counterparty_since"),
                   linked_counterparties=Fact(gcount(pos[linked], n), "transfers.counterparty_link"))


def use3(c: Ctx, idx: np.ndarray) -> Outcome:
    s = c.s
    pf, rc, a = s.performance, s.registry_changes, s.applications
    n = len(idx)
    rows, pos = c.kids("performance", idx)
    due, rep = pf.due[rows], pf.reported[rows]
    late = (due >= 0) & (((rep < 0) & (c.today > due)) | ((rep >= 0) & (rep > due)))
    target, achieved = pf.target[rows], pf.achieved[rows]
    short = (target > 0) & (achieved >= 0) & (achieved < c.p["target_ratio"] * target)
    ends = np.full(n, -1, dtype=np.int64)
    np.maximum.at(ends, pos, pf.commitment_end[rows].astype(np.int64))
    start = c.first_paid(idx)
    ent = a.enterprise[idx]
    crow, cpos = c.kids("registry_changes", np.where(ent >= 0, ent, -2).astype(np.int64), key="enterprise")
    when = rc.date[crow]
    gone = np.isin(rc.kind[crow], c.codes("change", ("moved_out", "deregistered", "revoked"))) & \
        (start[cpos] >= 0) & (when >= start[cpos]) & (ends[cpos] >= 0) & (when <= ends[cpos])
    has = gcount(pos, n) > 0
    lv = levels(n, gany(late, pos, n), gany(short, pos, n), gany(gone, cpos, n) & has)
    return outcome(lv, has, None,
                   late_reports=Fact(gcount(pos[late], n), "performance.due / reported"),
                   targets_missed=Fact(gcount(pos[short], n), "performance.target / achieved"),
                   commitment_end=Fact(ends, "performance.commitment_end", "date"),
                   left_during_commitment=Fact(gany(gone, cpos, n).astype(np.int8), "registry_changes (MARKET)",
                                               "flag"))


def use4(c: Ctx, idx: np.ndarray) -> Outcome:
    r = c.s.rectifications
    n = len(idx)
    rows, pos = c.kids("rectifications", idx)
    due, done = r.due[rows], r.done[rows]
    open_ = (due >= 0) & (done < 0)
    left = c.wd(np.full(len(rows), c.today), due)
    near = open_ & (c.today <= due) & (left <= c.p["near_wd"])
    over = open_ & (c.today > due)
    long = over & (c.today - due > c.p["alarm_days"])
    amount = gsum(np.where(open_ & (r.amount_fen[rows] >= 0), r.amount_fen[rows], 0), pos, n)
    first_due = gmin(due[open_], pos[open_], n)
    has = gcount(pos, n) > 0
    judged = gany((due >= 0) | (done >= 0), pos, n)  # an open order with no due date cannot be judged
    return outcome(levels(n, gany(near, pos, n), gany(over, pos, n), gany(long, pos, n)), judged, has,
                   open_orders=Fact(gcount(pos[open_], n), "rectifications"),
                   earliest_due=Fact(first_due, "rectifications.due", "date"),
                   outstanding_fen=Fact(amount, "rectifications.amount_fen", "money"))


RULES = [
    Rule("USE1", "use", "application", "超范围", "used outside the allowed scope",
         "Spending categories of the usage report: uncategorised lines, the share spent in banned "
         "categories, and any spending in the severe ones (wages, debt, buildings).",
         "Subsidies given for a purpose and spent on another are misused funds.",
         ("an uncategorised line", "a banned category, ≤ max_share of the reported total",
          "banned categories > max_share, or any spending on a severe category"),
         "Categories the policy allows are not listed in `banned`.",
         "one uncategorised line → prompt; 10% entertainment → warning (share exactly 10%); 11% → alarm; "
         "any wages → alarm.",
         {"banned": ("entertainment", "gifts", "investment", "wages", "debt", "buildings"),
          "severe": ("wages", "debt", "buildings"), "max_share": 0.10}, ("usage.reported",), use1,
         sources="usage"),
    Rule("USE2", "use", "application", "回流", "money flows back",
         "Outgoing transfers from the receiving account after the money arrived: cash, new counterparties "
         "within new_days days, counterparties linked to an official or an agent.",
         "Money that returns to officials or agents after the payout is a kickback.",
         ("a cash withdrawal", "a transfer to a counterparty first paid within new_days days of receipt",
          "a transfer to a party linked to an official or an agent"),
         "Paid applications with no bank-flow data are skipped (counted as missing).",
         "cash after receipt → prompt; new counterparty on day 30 → warning (day 31 → nothing); "
         "official's relative → alarm.",
         {"new_days": 30}, ("transfer.recorded", "payout.recorded"), use2, sources="transfers (FINANCE bank flows)"),
    Rule("USE3", "use", "application", "绩效未兑现", "commitments not kept",
         "Performance reports against their due date and target; the firm leaving or closing inside the "
         "commitment period.",
         "Money paid for jobs, output or presence that never materialise must be recovered.",
         ("a report late", "< target_ratio of the target", "moved out or closed inside the commitment period"),
         "Applications with no commitment.",
         "report a day late → prompt; 79% of target → warning (80% → nothing); moved out in year 2 → alarm.",
         {"target_ratio": 0.8}, ("performance.reported", "registry.changed"), use3,
         sources="performance, registry_changes"),
    Rule("USE4", "use", "application", "整改逾期", "rectification or claw-back overdue",
         "Open rectification and claw-back orders against their due dates.",
         "Orders that are never enforced make every other control toothless.",
         ("≤ near_wd WD before due", "overdue", "more than alarm_days days overdue"),
         "Orders marked done; an application whose open orders have no due date is skipped (missing data).",
         "due in 5 WD → prompt (6 → nothing); a day overdue → warning; 91 days → alarm.",
         {"near_wd": 5, "alarm_days": 90}, ("rectification.recorded",), use4, sources="rectifications"),
]
