"""Stage 1, publish (发布): PUB1-PUB4, subject = the policy."""

from __future__ import annotations

import numpy as np

from audit.rules.base import Ctx, Fact, Outcome, Rule, gany, gcount, levels, outcome, sorted_unique


def pub1(c: Ctx, idx: np.ndarray) -> Outcome:
    p = c.s.policies
    issue, guide, opened = p.issue[idx], p.guide[idx], p.open[idx]
    known = issue >= 0
    end = np.where(guide >= 0, guide, c.today)
    elapsed = c.wd(issue, end)
    pending = guide < 0
    prompt = pending & (elapsed >= c.p["prompt_wd"])
    warning = elapsed > c.p["warning_wd"]
    alarm = (opened >= 0) & (opened <= c.today) & (pending | (guide > opened))
    return outcome(levels(len(idx), prompt, warning, alarm), known, ~known,
                   issue=Fact(issue, "policies.issue", "date"), guide=Fact(guide, "policies.guide", "date"),
                   window_open=Fact(opened, "policies.open", "date"),
                   wd_issue_to_guide=Fact(elapsed, "policies.issue→guide (working days)"))


def pub2(c: Ctx, idx: np.ndarray) -> Outcome:
    p = c.s.policies
    missing, opened, closed, changed = p.missing_fields[idx], p.open[idx], p.close[idx], p.criteria_changed[idx]
    draft = p.status[idx] == c.code("policy_status", "draft")
    window_known = (opened >= 0) & (closed >= 0)
    window = np.where(window_known, closed - opened, -1)
    known = (missing >= 0) | window_known | (changed >= 0)
    prompt = draft & (missing > 0)
    warning = ~draft & ((missing > 0) | (window_known & (window < c.p["min_window_days"])))
    alarm = (changed >= 0) & (opened >= 0) & (changed > opened) & ~draft
    return outcome(levels(len(idx), prompt, warning, alarm), known, ~known,
                   missing_fields=Fact(missing, "policies.missing_fields", "fields"),
                   draft=Fact(draft.astype(np.int8), "policies.status", "flag"),
                   window_days=Fact(window, "policies.open→close (days)"),
                   criteria_changed=Fact(changed, "policies.criteria_changed", "date"),
                   window_open=Fact(opened, "policies.open", "date"))


def pub3(c: Ctx, idx: np.ndarray) -> Outcome:
    s, p = c.s, c.s.policies
    known = p.eligibility_run[idx] == 1
    rows, pos = c.kids("eligible", idx, key="policy")
    count = gcount(pos, len(idx))
    linked_row = c.rel_strength(p.drafter[idx][pos], s.eligible.enterprise[rows]) > 0
    linked = gany(linked_row, pos, len(idx))
    some = count >= 1
    prompt = some & (count <= c.p["prompt_max_firms"])
    warning = some & (count <= c.p["warning_max_firms"])
    alarm = warning & linked
    return outcome(levels(len(idx), prompt, warning, alarm), known, p.eligibility_run[idx] < 0,
                   qualifying_firms=Fact(count, "eligible (criteria run against the registry)"),
                   qualifier_linked_to_drafter=Fact(linked.astype(np.int8), "relations × policies.drafter", "flag"))


def _applied_keys(c: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (policy, firm) keys with an application, and those with a paid line."""
    s = c.s
    a = s.applications
    n_ent = max(len(s.enterprises), 1)
    live = a.decision != c.code("decision", "withdrawn")
    k = a.policy.astype(np.int64) * n_ent + a.enterprise
    paid = c.first_paid(np.arange(len(a))) >= 0
    return sorted_unique(k[live]), sorted_unique(k[paid])


def _member(sorted_keys: np.ndarray, q: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(len(q), dtype=bool)
    pos = np.clip(np.searchsorted(sorted_keys, q), 0, len(sorted_keys) - 1)
    return sorted_keys[pos] == q


def pub4(c: Ctx, idx: np.ndarray) -> Outcome:
    s, p = c.s, c.s.policies
    applied, paid = c.cached("pub4_keys", lambda: _applied_keys(c))
    rows, pos = c.kids("eligible", idx, key="policy")
    n = len(idx)
    n_ent = max(len(s.enterprises), 1)
    key = s.eligible.policy[rows].astype(np.int64) * n_ent + s.eligible.enterprise[rows]
    eligible = gcount(pos, n)
    notified = s.eligible.notified[rows]
    reached_row = _member(applied, key) | _member(paid, key)
    reached = gcount(pos[reached_row], n)
    unpaid = gcount(pos[~_member(paid, key)], n)
    not_notified = gcount(pos[notified == 0], n)
    known = (p.eligibility_run[idx] == 1) & (eligible > 0)
    published = p.status[idx] != c.code("policy_status", "draft")
    opened = (p.open[idx] >= 0) & (p.open[idx] <= c.today)
    closed = (p.close[idx] >= 0) & (c.today > p.close[idx])
    ratio = np.where(eligible > 0, reached / np.maximum(eligible, 1), 1.0)
    prompt = published & opened & (not_notified > 0)
    warning = closed & (ratio < c.p["reach_ratio"])
    alarm = (p.auto_grant[idx] == 1) & (p.grant_deadline[idx] >= 0) & (c.today > p.grant_deadline[idx]) & (unpaid > 0)
    return outcome(levels(n, prompt, warning, alarm), known, p.eligibility_run[idx] < 0,
                   eligible_firms=Fact(eligible, "eligible"), not_notified=Fact(not_notified, "eligible.notified"),
                   reached=Fact(reached, "applications / payout_lines"), reach_ratio=Fact(ratio, "derived", "ratio"),
                   unpaid=Fact(unpaid, "payout_lines.bank_status (FINANCE)"),
                   grant_deadline=Fact(p.grant_deadline[idx], "policies.grant_deadline", "date"))


RULES = [
    Rule("PUB1", "publish", "policy", "指南逾期", "guide published late",
         "Working days from the policy's issue date to its application guide (or to today while none is "
         "published); whether the application window opened before any guide.",
         "Firms cannot apply fairly without the guide; a late guide favours those told informally.",
         ("no guide ≥ prompt_wd WD after issue", "guide > warning_wd WD after issue (published or not)",
          "applications opened with no guide"),
         "Policies without an issue date (drafts) are not evaluated.",
         "issue Mon 2026-03-02, no guide, today +5 WD → prompt; +8 WD → warning; window opened → alarm; "
         "guide on +7 WD → nothing.",
         {"prompt_wd": 5, "warning_wd": 7}, ("policy.changed",), pub1, sources="policies"),
    Rule("PUB2", "publish", "policy", "要素缺失", "guide incomplete",
         "Checks the guide for the required elements (eligibility, conditions, window, contact, materials, "
         "amount rule), the window length, and criteria changes after the window opened.",
         "An incomplete guide or a short window shuts out firms; criteria changed mid-window can be tuned "
         "to a favoured applicant.",
         ("a required element missing in the draft", "published incomplete, or window < min_window_days days",
          "criteria changed after the window opened"),
         "A policy with no guide data at all is skipped (missing data).",
         "draft missing contact → prompt; published window 14 days → warning (15 → nothing); criteria "
         "changed a day after opening → alarm.",
         {"min_window_days": 15}, ("policy.changed",), pub2, sources="policies"),
    Rule("PUB3", "publish", "policy", "量身定制", "criteria tailored to one firm",
         "Runs the criteria against the enterprise registry (the `eligible` rows) and counts the firms "
         "that qualify; checks the qualifiers against the drafter's links.",
         "Criteria that only one or two firms can meet are a classic way to steer a subsidy.",
         ("1 … prompt_max_firms firms qualify", "1 … warning_max_firms firms qualify",
          "≤ warning_max_firms qualify and one is linked to the drafter"),
         "Policies whose criteria were not run against the registry are skipped; none qualifying is not a hit.",
         "5 qualifiers → prompt, 6 → nothing; 2 → warning; 2 with one a drafter's relative → alarm.",
         {"prompt_max_firms": 5, "warning_max_firms": 2}, ("policy.changed",), pub3,
         sources="eligible, relations (MARKET)"),
    Rule("PUB4", "publish", "policy", "应享未享", "eligible firms not reached",
         "Eligible set (criteria × registry) against the firms notified, applied and paid.",
         "Benefits that never reach eligible firms are lost to them and often go to insiders instead.",
         ("an eligible firm not notified once the window opened", "< reach_ratio of eligible firms reached at close",
          "a 免申即享 list still unpaid after its deadline"),
         "Withdrawn applications do not count as reached.",
         "1 of 5 eligible not notified → prompt; 3 of 4 reached at close (75%) → warning, 4 of 5 → nothing; "
         "no-application policy with an unpaid firm past the deadline → alarm.",
         {"reach_ratio": 0.8}, ("policy.changed", "application.submitted", "payout.recorded"), pub4,
         sources="eligible, applications, payout_lines"),
]
