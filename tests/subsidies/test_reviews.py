"""Manual review through the API: three levels by three different reviewers of the policy's
department, opinions stored off-chain with their digest on chain, deadlines in working days,
recusals; every refusal (same reviewer, recused, wrong level, other department, not a reviewer,
an enterprise, over the cap or the budget) with its code."""

from __future__ import annotations

import hashlib

import pytest

from chain.structs import call_struct
from gateway.subsidies.calendar import WorkCalendar
from tests.gateway.helpers import error_of
from tests.licences.helpers import revert_of

OPINION = "材料齐全，符合政策条件。"


@pytest.fixture
def manual(sg):
    """A policy and a function filing one application that goes to manual review (a declared
    legal representative that differs from the registry)."""
    policy = sg.publish()

    def make(**registry) -> dict:
        _, headers = sg.applicant(**registry)
        app = sg.applied(policy["id"], headers, declared={"legal_representative": "赵六"})
        assert app["path"] == "manual" and app["status"] == "submitted"
        return app

    make.policy = policy
    return make


def review(sg, app_id: str, who: str, level: int, passed: bool = True, amount: int = 150_000_00,
           opinion: str = OPINION):
    return sg.client.post(f"/subsidies/applications/{app_id}/reviews",
                          json={"level": level, "passed": passed, "amount_fen": amount, "opinion": opinion},
                          headers=sg.member(who))


def test_three_levels_by_three_reviewers_approve(sg, manual) -> None:
    app = manual()
    cal = WorkCalendar.from_settings(sg.ctx.settings.calendar)
    first = review(sg, app["id"], "SCITECH-rev1", 1)
    assert first.status_code == 201, first.text
    after1 = first.json()
    assert after1["status"] == "under_review" and after1["review_level"] == 1 and after1["review_due_level"] == 2
    r1 = after1["reviews"][0]
    assert r1["reviewer"] == sg.address("SCITECH-rev1") and r1["deadline_at"] == cal.deadline_after(
        app["submitted_at"], 5) and r1["overdue"] is False
    assert after1["review_deadline_at"] == cal.deadline_after(r1["reviewed_at"], 5)
    assert review(sg, app["id"], "SCITECH-rev2", 2).status_code == 201
    final = review(sg, app["id"], "SCITECH-rev3", 3, amount=120_000_00, opinion="同意拨付12万元")
    assert final.status_code == 201, final.text
    done = final.json()
    assert done["status"] == "approved" and done["approved_fen"] == 120_000_00 and done["path"] == "manual"
    assert done["decided_by"] == sg.address("SCITECH-rev3") and done["review_due_level"] is None
    assert [r["level"] for r in done["reviews"]] == [1, 2, 3]
    assert done["reviews"][2]["deadline_at"] == cal.deadline_after(done["reviews"][1]["reviewed_at"], 3)  # sign-off
    ledger = sg.ctx.ledger.contract("SubsidyLedger").functions
    aid = bytes.fromhex(app["id"][2:])
    assert [ledger.reviewerOf(aid, n).call() for n in (1, 2, 3)] == [sg.address(f"SCITECH-rev{n}") for n in (1, 2, 3)]
    on_chain = call_struct(ledger.getApplication(aid))
    assert on_chain["status"] == 3 and on_chain["approved"] == 120_000_00 and on_chain["reviewLevel"] == 3
    # the opinion is a stored document whose SHA-256 is the digest on chain
    r3 = done["reviews"][2]
    content = sg.client.get(f"/documents/{r3['opinion_sha256']}/content", headers=sg.member("SCITECH-rev3"))
    assert content.status_code == 200, content.text
    assert hashlib.sha256(content.content).hexdigest() == r3["opinion_sha256"]
    assert "同意拨付12万元" in content.content.decode()
    assert r3["opinion_digest"] == "0x" + r3["opinion_sha256"]
    check = sg.client.get(f"/subsidies/applications/{app['id']}", headers=sg.member("DISCIPLINE-admin")).json()
    assert check["record_consistency"] == {"consistent": True, "differences": []}
    assert sg.client.get(f"/documents/{r3['opinion_sha256']}", headers=sg.member("SCITECH-rev3")).status_code == 200


def test_a_failed_level_rejects(sg, manual) -> None:
    app = manual()
    response = review(sg, app["id"], "SCITECH-rev1", 1, passed=False, amount=0, opinion="法定代表人与登记不符")
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "rejected" and response.json()["decided_by"] == sg.address("SCITECH-rev1")
    revert_of(review(sg, app["id"], "SCITECH-rev2", 2), "InvalidStatus")


def test_same_reviewer_and_wrong_level_are_refused(sg, manual) -> None:
    app = manual()
    revert_of(review(sg, app["id"], "SCITECH-rev1", 2), "WrongReviewLevel")
    assert review(sg, app["id"], "SCITECH-rev1", 1).status_code == 201
    error = revert_of(review(sg, app["id"], "SCITECH-rev1", 2), "SameReviewer")
    assert error["args"]["reviewer"] == sg.address("SCITECH-rev1")
    got = sg.client.get(f"/subsidies/applications/{app['id']}", headers=sg.member("SCITECH-rev1")).json()
    assert [r["level"] for r in got["reviews"]] == [1]  # nothing half-written


def test_recusal_bars_the_reviewer(sg, manual) -> None:
    app = manual()
    response = sg.client.post(f"/subsidies/applications/{app['id']}/recusals", json={"reason": "申请人为本人亲属企业"},
                              headers=sg.member("SCITECH-rev2"))
    assert response.status_code == 201, response.text
    rec = response.json()
    assert rec["reviewer"] == sg.address("SCITECH-rev2") and rec["reason_digest"] == "0x" + rec["reason_sha256"]
    ledger = sg.ctx.ledger.contract("SubsidyLedger").functions
    assert ledger.isRecused(bytes.fromhex(app["id"][2:]), sg.address("SCITECH-rev2")).call()
    revert_of(review(sg, app["id"], "SCITECH-rev2", 1), "ReviewerRecused")
    revert_of(sg.client.post(f"/subsidies/applications/{app['id']}/recusals", json={"reason": "again"},
                             headers=sg.member("SCITECH-rev2")), "AlreadyRecused")
    queue = sg.client.get("/subsidies/reviews/queue", headers=sg.member("SCITECH-rev2")).json()
    mine = next(q for q in queue if q["id"] == app["id"])
    assert mine["may_review"] is False and mine["level_name"] == "first_review"
    other = next(q for q in sg.client.get("/subsidies/reviews/queue", headers=sg.member("SCITECH-rev3")).json()
                 if q["id"] == app["id"])
    assert other["may_review"] is True
    detail = sg.client.get(f"/subsidies/applications/{app['id']}", headers=sg.member("DISCIPLINE-admin")).json()
    assert [r["reviewer"] for r in detail["recusals"]] == [sg.address("SCITECH-rev2")]


def test_who_may_review(sg, manual) -> None:
    app = manual()
    revert_of(review(sg, app["id"], "COMMERCE-admin", 1), "NotPolicyDepartment")  # a reviewer of another department
    error_of(review(sg, app["id"], "DISCIPLINE-admin", 1), 403, "missing_role")  # not a reviewer
    uscc = sg.register()
    response = sg.client.post(f"/subsidies/applications/{app['id']}/reviews",
                              json={"level": 1, "passed": True, "amount_fen": 1, "opinion": "ok"},
                              headers=sg.enterprise(uscc))
    error_of(response, 403, "forbidden_kind")
    error_of(sg.client.get("/subsidies/reviews/queue", headers=sg.enterprise(uscc)), 403, "forbidden_kind")
    revert_of(sg.client.post(f"/subsidies/applications/{app['id']}/recusals", json={"reason": "x"},
                             headers=sg.member("COMMERCE-admin")), "NotPolicyDepartment")
    error_of(review(sg, app["id"], "SCITECH-rev1", 1, opinion=""), 422, "invalid_request")
    error_of(review(sg, app["id"], "SCITECH-rev1", 4), 422, "invalid_request")


def test_an_auto_approved_application_is_not_reviewed(sg) -> None:
    policy = sg.publish()
    _, headers = sg.applicant()
    app = sg.applied(policy["id"], headers)
    assert app["path"] == "auto"
    revert_of(review(sg, app["id"], "SCITECH-rev1", 1), "InvalidStatus")


def test_sign_off_above_cap_or_budget_is_refused(sg) -> None:
    policy = sg.publish(budget_fen=300_000_00, cap_fen=200_000_00)
    apps = []
    for _ in range(2):
        _, headers = sg.applicant()
        apps.append(sg.applied(policy["id"], headers, requested_fen=200_000_00,
                               declared={"legal_representative": "赵六"}))
    for app in apps:
        assert review(sg, app["id"], "SCITECH-rev1", 1).status_code == 201
        assert review(sg, app["id"], "SCITECH-rev2", 2).status_code == 201
    revert_of(review(sg, apps[0]["id"], "SCITECH-rev3", 3, amount=200_000_01), "AboveCap")
    assert review(sg, apps[0]["id"], "SCITECH-rev3", 3, amount=200_000_00).status_code == 201
    error = revert_of(review(sg, apps[1]["id"], "SCITECH-rev3", 3, amount=150_000_00), "BudgetExceeded")
    assert error["args"] == {"budget": 300_000_00, "approvedTotal": 200_000_00, "amount": 150_000_00}
    assert review(sg, apps[1]["id"], "SCITECH-rev3", 3, amount=100_000_00).status_code == 201
    # the budget cannot be amended below what is approved
    body = sg.policy_body(budget_fen=250_000_00, cap_fen=200_000_00, reason="压缩预算")
    revert_of(sg.client.post(f"/subsidies/policies/{policy['id']}/amend", json=body,
                             headers=sg.member("SCITECH-admin")), "BudgetBelowApproved")


def test_overdue_levels_are_reported_and_recorded(sg, manual) -> None:
    """Moves the chain's clock forward three weeks (every policy window here lasts a year)."""
    app = manual()
    sg.time_travel(21 * 86400)
    overdue = sg.client.get("/subsidies/reviews/overdue", headers=sg.member("DISCIPLINE-admin")).json()
    assert app["id"] in [o["id"] for o in overdue]
    queued = next(q for q in sg.client.get("/subsidies/reviews/queue", headers=sg.member("SCITECH-rev1")).json()
                  if q["id"] == app["id"])
    assert queued["overdue"] is True
    done = review(sg, app["id"], "SCITECH-rev1", 1).json()
    assert done["reviews"][0]["overdue"] is True
    assert done["review_deadline_at"] > sg.now()  # the next level has its own, fresh deadline
