"""Stage 3, review (审核): REV1-REV6, subject = the application."""

from __future__ import annotations

import numpy as np

from audit.rules.base import (Ctx, Fact, Outcome, Rule, distinct_per_group, gany, gcount, gmax, group_ids,
                              levels, outcome)
from audit.snapshot import NA


def rev1(c: Ctx, idx: np.ndarray) -> Outcome:
    a, p = c.s.applications, c.s.policies
    pol = a.policy[idx]
    pol_wd = np.where(pol >= 0, p.review_wd[np.where(pol >= 0, pol, 0)], NA) if len(p) else np.full(len(idx), NA)
    limit = np.where(pol_wd >= 0, pol_wd, c.p["deadline_wd"])
    start = np.where(a.forwarded[idx] >= 0, a.forwarded[idx], a.submitted[idx])
    done = a.reviewed[idx]
    end = np.where(done >= 0, done, c.today)
    elapsed = c.wd(start, end)
    known = (start >= 0) & (a.decision[idx] != c.code("decision", "withdrawn"))
    pending = done < 0
    left = limit - elapsed
    prompt = pending & (left >= 0) & (left <= c.p["prompt_left_wd"])
    warning = elapsed > limit
    alarm = elapsed > c.p["alarm_factor"] * limit
    return outcome(levels(len(idx), prompt, warning, alarm), known, start < 0,
                   review_started=Fact(start, "applications.forwarded / submitted", "date"),
                   reviewed=Fact(done, "applications.reviewed", "date"),
                   wd_elapsed=Fact(elapsed, "working days"), deadline_wd=Fact(limit, "policies.review_wd"))


def rev2(c: Ctx, idx: np.ndarray) -> Outcome:
    s = c.s
    r = s.reviews
    rows, pos = c.kids("reviews", idx)
    n = len(idx)
    active = r.recused[rows] != 1
    strength = c.rel_strength(r.reviewer[rows], s.applications.enterprise[idx][pos])
    strength = np.where(active, strength, 0)
    worst = gmax(strength, pos, n, 0)
    has = gcount(pos, n) > 0
    unknown = gany(r.reviewer[rows] < 0, pos, n)
    lv = levels(n, worst == 1, worst == 2, worst >= 3)
    return outcome(lv, has, unknown & ~has,
                   strongest_link=Fact(worst, "relations × reviews.reviewer (0 none, 1 former employee, "
                                              "2 indirect or relative, 3 direct)"),
                   reviewers=Fact(gcount(pos, n), "reviews"))


def _rev3_share(c: Ctx) -> np.ndarray:
    """Per draw row: the share of its department's draws that went to the same firm (-1: too few draws)."""
    s = c.s
    d = s.draws
    app = np.where(d.application >= 0, d.application, 0)
    pol = s.applications.policy[app] if len(s.applications) else np.zeros(0, dtype=np.int64)
    dept = np.where(pol >= 0, s.policies.department[np.where(pol >= 0, pol, 0)], NA) if len(s.policies) else pol
    ok = (d.firm >= 0) & (d.application >= 0)
    share = np.full(len(d), -1.0)
    if ok.any():
        gd = group_ids(dept[ok])
        gf = group_ids(dept[ok], d.firm[ok])
        tot = np.bincount(gd)[gd]
        per = np.bincount(gf)[gf]
        share[ok] = np.where(tot >= c.p["min_draws"], per / tot, -1.0)
    return share


def rev3(c: Ctx, idx: np.ndarray) -> Outcome:
    s = c.s
    d = s.draws
    share_all = c.cached("rev3_share", lambda: _rev3_share(c), "min_draws")
    rows, pos = c.kids("draws", idx)
    n = len(idx)
    share = share_all[rows]
    linked = c.rel_strength(d.firm[rows], s.applications.enterprise[idx][pos]) > 0
    prompt = gany(d.log_complete[rows] == 0, pos, n)
    top = np.full(n, -1.0)
    np.maximum.at(top, pos, share)
    warning = top > c.p["max_share"]
    alarm = gany((d.overridden[rows] == 1) | linked, pos, n)
    has = gcount(pos, n) > 0
    return outcome(levels(n, prompt, warning, alarm), has, None,
                   log_incomplete=Fact(prompt.astype(np.int8), "draws.log_complete", "flag"),
                   firm_share=Fact(top, "draws (department's assignments)", "ratio"),
                   overridden_or_linked=Fact(alarm.astype(np.int8), "draws.overridden, relations", "flag"))


def _rev4_outliers(c: Ctx) -> np.ndarray:
    """Per reviewer code: 1 when their pass rate is beyond Q3 + k·IQR of peers with enough reviews."""
    s = c.s
    r = s.reviews
    nvoc = len(s.vocab.get("party", [])) + 1
    out = np.zeros(nvoc, dtype=bool)
    ok = (r.reviewer >= 0) & (r.passed >= 0) & (r.recused != 1)
    if not ok.any():
        return out
    cnt = np.bincount(r.reviewer[ok], minlength=nvoc)
    passed = np.bincount(r.reviewer[ok], weights=r.passed[ok], minlength=nvoc)
    peers = np.flatnonzero(cnt >= c.p["min_reviews"])
    if len(peers) < c.p["min_peers"]:
        return out
    rate = passed[peers] / cnt[peers]
    q1, q3 = np.quantile(rate, [0.25, 0.75])
    fence = q3 + c.p["iqr_k"] * (q3 - q1)
    out[peers[rate > fence]] = True
    return out


def rev4(c: Ctx, idx: np.ndarray) -> Outcome:
    r = c.s.reviews
    outlier = c.cached("rev4", lambda: _rev4_outliers(c), "min_reviews", "min_peers", "iqr_k")
    rows, pos = c.kids("reviews", idx)
    n = len(idx)
    active = r.recused[rows] != 1
    fast = active & (r.minutes[rows] >= 0) & (r.minutes[rows] < c.p["min_minutes"])
    rv = r.reviewer[rows]
    lenient = active & (rv >= 0) & outlier[np.where(rv >= 0, rv, 0)] & (r.passed[rows] == 1)
    unexplained = active & (r.hardfail_overridden[rows] == 1) & (r.override_reason[rows] < 0)
    has = gany(active & ((r.minutes[rows] >= 0) | (r.passed[rows] >= 0) | (r.hardfail_overridden[rows] >= 0)),
               pos, n)
    lv = levels(n, gany(fast, pos, n), gany(lenient, pos, n), gany(unexplained, pos, n))
    quickest = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(quickest, pos, np.where(r.minutes[rows] >= 0, r.minutes[rows], np.iinfo(np.int64).max))
    quickest[quickest == np.iinfo(np.int64).max] = NA
    return outcome(lv, has, gcount(pos, n) > 0,
                   quickest_review_minutes=Fact(quickest, "reviews.minutes"),
                   reviewer_pass_rate_outlier=Fact(gany(lenient, pos, n).astype(np.int8), "reviews.passed (peers)",
                                                   "flag"),
                   hard_fail_overridden_without_reason=Fact(gany(unexplained, pos, n).astype(np.int8),
                                                            "reviews.hardfail_overridden, override_reason", "flag"))


def _rev5_split(c: Ctx) -> np.ndarray:
    """Per application: 1 when firms with its controller got the same project under the same policy
    and together more than the cap."""
    s = c.s
    a, e, p = s.applications, s.enterprises, s.policies
    n = len(a)
    out = np.zeros(n, dtype=bool)
    ent = a.enterprise
    ctrl = np.where(ent >= 0, e.controller[np.where(ent >= 0, ent, 0)], NA) if len(e) else np.full(n, NA)
    m = (a.approved_fen >= 0) & (ctrl >= 0) & (a.project >= 0) & (a.policy >= 0)
    if not m.any():
        return out
    g = group_ids(a.policy[m], a.project[m], ctrl[m])
    firms = distinct_per_group(g, ent[m])
    total = np.bincount(g, weights=a.approved_fen[m])[g]
    cap = p.cap_fen[a.policy[m]]
    out[m] = (firms >= 2) & (cap >= 0) & (total > cap)
    return out


def rev5(c: Ctx, idx: np.ndarray) -> Outcome:
    a, p = c.s.applications, c.s.policies
    split = c.cached("rev5", lambda: _rev5_split(c))
    amt = a.approved_fen[idx]
    pol = a.policy[idx]
    cap = np.where(pol >= 0, p.cap_fen[np.where(pol >= 0, pol, 0)], NA) if len(p) else np.full(len(idx), NA)
    formula = a.formula_fen[idx]
    approved = amt >= 0
    known = approved & ((cap >= 0) | (formula >= 0))
    prompt = (cap > 0) & (amt >= c.p["prompt_ratio"] * cap)
    alarm = ((cap >= 0) & (amt > cap)) | ((formula >= 0) & (amt > formula))
    return outcome(levels(len(idx), prompt, split[idx], alarm), known, approved & ~known,
                   approved_fen=Fact(amt, "applications.approved_fen", "money"),
                   cap_fen=Fact(cap, "policies.cap_fen", "money"),
                   formula_fen=Fact(formula, "applications.formula_fen", "money"),
                   split_across_affiliates=Fact(split[idx].astype(np.int8), "applications × enterprises.controller",
                                                "flag"))


def rev6(c: Ctx, idx: np.ndarray) -> Outcome:
    a, rc = c.s.applications, c.s.record_changes
    rows, pos = c.kids("record_changes", idx)
    n = len(idx)
    after = rc.after_signoff[rows] == 1
    deleted = rc.deleted[rows] == 1
    reason = rc.reason[rows] >= 0
    prompt = gany((rc.after_signoff[rows] == 0) & ~deleted, pos, n)
    warning = gany(after & reason & ~deleted, pos, n)
    hash_ok = a.hash_ok[idx]
    alarm = (hash_ok == 0) | gany(deleted | (after & ~reason), pos, n)
    has = (hash_ok >= 0) | (gcount(pos, n) > 0)
    return outcome(levels(n, prompt, warning, alarm), has, ~has,
                   changes=Fact(gcount(pos, n), "record_changes"),
                   hash_matches_chain=Fact(hash_ok, "applications.hash_ok (chain)", "flag"),
                   deleted_or_unexplained_after_signoff=Fact(gany(deleted | (after & ~reason), pos, n).astype(np.int8),
                                                             "record_changes", "flag"))


RULES = [
    Rule("REV1", "review", "application", "超时", "review overdue (three colours)",
         "Working days from forwarding (or submission) to the decision, or to today while pending, against "
         "the policy's review deadline (default deadline_wd).",
         "Slow reviews invite 'facilitation payments'; very slow ones hide applications someone wants to sink.",
         ("pending with ≤ prompt_left_wd WD left (yellow)", "past the deadline (red)",
          "more than alarm_factor × the deadline"),
         "Withdrawn applications.",
         "deadline 60 WD: 57 WD pending → prompt (56 → nothing); 61 → warning; 121 → alarm.",
         {"deadline_wd": 60, "prompt_left_wd": 3, "alarm_factor": 2}, ("application.submitted",
                                                                        "application.reviewed"), rev1,
         sources="applications, policies.review_wd"),
    Rule("REV2", "review", "application", "利益关联", "reviewer conflict of interest",
         "Reviewers and experts of the application × the applicant's shareholders, officers, controller, "
         "relatives and past employees (relations).",
         "A reviewer who judges a firm they are tied to cannot be impartial.",
         ("a past-employment link", "an indirect link (relative, indirect holding)", "a direct link with no recusal"),
         "Reviews whose reviewer recused themselves.",
         "reviewer formerly employed by the applicant → prompt; relative of an officer → warning; "
         "shareholder not recused → alarm; shareholder recused → nothing.",
         {}, ("application.reviewed",), rev2, sources="reviews (reviewers' declared identities), relations (MARKET incl. relatives)"),
    Rule("REV3", "review", "application", "双随机", "verification firm not chosen by double-random draw",
         "The draw log of the application's verification firm; the firm's share of its department's "
         "draws; hand overrides; links between the firm and the applicant.",
         "A hand-picked or captured verifier signs off what the applicant wants.",
         ("draw log incomplete", "one firm > max_share of the department's draws (≥ min_draws draws)",
          "draw overridden, or the firm is linked to the applicant"),
         "Departments with fewer than min_draws draws are not judged on share.",
         "log without seed → prompt; firm with 5 of 10 draws → warning (4 of 10 → nothing); overridden → alarm.",
         {"max_share": 0.4, "min_draws": 10}, ("application.reviewed", "draw.recorded"), rev3,
         sources="draws (chain), relations"),
    Rule("REV4", "review", "application", "审核异常", "unusual review pattern",
         "Time spent per review; each reviewer's pass rate against peers with ≥ min_reviews reviews "
         "(Tukey fence Q3 + iqr_k·IQR); hard-fail automatic checks overridden.",
         "Rubber-stamping and unexplained overrides are how bad applications get through.",
         ("a review shorter than min_minutes", "passed by a reviewer whose pass rate is beyond the peer fence",
          "a hard-fail check overridden with no reason"),
         "Recused reviews; fewer than min_peers comparable reviewers → no pass-rate judgement.",
         "4-minute review → prompt (5 → nothing); reviewer passing 100% when peers pass 50-60% → warning; "
         "override with no reason → alarm.",
         {"min_minutes": 5, "iqr_k": 1.5, "min_reviews": 10, "min_peers": 4}, ("application.reviewed",), rev4,
         sources="reviews"),
    Rule("REV5", "review", "application", "超标准", "above standard or split to dodge the cap",
         "Approved amount against the policy cap and the formula; the same project under the same policy "
         "approved to several firms with one controller, together above the cap.",
         "Amounts above the standard, or a project split across affiliates, take money the rules forbid.",
         ("≥ prompt_ratio of the cap", "split across affiliates to exceed the cap together",
          "above the cap or above the formula"),
         "Applications not approved.",
         "cap 100,000: 95,000 → prompt (94,999 → nothing); two affiliates 60,000 each → warning; "
         "100,001 → alarm.",
         {"prompt_ratio": 0.95}, ("application.reviewed",), rev5, sources="applications, policies.cap_fen"),
    Rule("REV6", "review", "application", "篡改", "record altered after sign-off",
         "Edits and deletions of the application record; the record against its on-chain hash.",
         "An approval edited after the fact, or a record that no longer matches the chain, hides tampering.",
         ("edited before sign-off", "edited after sign-off with a reason",
          "hash mismatch, a deletion, or an edit after sign-off with no reason"),
         "None.",
         "edit before sign-off → prompt; after with reason → warning; hash mismatch → alarm.",
         {}, ("record.changed", "signoff.recorded"), rev6, sources="record_changes, chain"),
]
