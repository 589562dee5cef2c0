"""An application whose submitting transaction is journaled but not confirmed when the request ends
(the node went away) keeps its materials and verification: it is written as pending first, a retry
is refused rather than filed twice, and ``settle_pending`` finishes it once the transaction is on
chain. A refused transaction leaves no row."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from gateway.subsidies import applications
from tests.gateway.helpers import error_of
from tests.licences.helpers import revert_of


def _stop_waiting_for(sg, monkeypatch, prefix: str) -> None:
    """Make the gateway stop waiting for receipts of transactions whose purpose starts with ``prefix``
    (the transaction is still signed, journaled and sent: what a client sees when the node stalls)."""
    txm = sg.ctx.ledger.txm
    real = txm.transact

    def transact(account: Any, fn: Any, purpose: str, *, wait: bool = True):
        return real(account, fn, purpose, wait=wait and not purpose.startswith(prefix))

    monkeypatch.setattr(txm, "transact", transact)


def test_pending_submission_is_settled(sg, monkeypatch) -> None:
    policy = sg.publish()
    uscc, headers = sg.applicant()
    uploads = {"audit_report": sg.upload(headers)}
    _stop_waiting_for(sg, monkeypatch, "submit application")
    response = sg.apply(policy["id"], headers, uploads=uploads)
    error = error_of(response, 202, "transaction_pending")
    assert error["tx_hash"].startswith("0x")
    mine = sg.client.get("/me/subsidies", headers=headers).json()
    assert [a["status"] for a in mine] == ["pending"]
    error_of(sg.apply(policy["id"], headers, uploads=uploads), 409, "application_pending")
    saved = sg.client.get(f"/subsidies/materials/saved?policy_id={policy['id']}", headers=sg.member("APPROVAL-admin"))
    assert saved.json()["applications"] == 0  # not on chain yet: not counted
    monkeypatch.undo()

    sg.ctx.ledger.reconcile()  # what a restart does: the journal entry gets its receipt
    assert applications.settle_pending(sg.ctx) == 1
    app = sg.client.get(f"/subsidies/applications/{mine[0]['id']}", headers=headers).json()
    assert app["status"] == "submitted" and app["chain_status"] == "submitted" and app["tx_hash"] == error["tx_hash"]
    assert app["review_due_level"] == 1 and app["review_deadline_at"] > app["submitted_at"] > 0
    assert [m["code"] for m in app["material_items"]] == ["business_licence", "high_tech", "audit_report"]
    assert len(app["verification_fields"]) == 5
    revert_of(sg.apply(policy["id"], headers, uploads=uploads), "DuplicateApplication")


def test_pending_automatic_approval_is_settled(sg, monkeypatch) -> None:
    policy = sg.publish()
    _, headers = sg.applicant()
    _stop_waiting_for(sg, monkeypatch, "auto-approve application")
    error_of(sg.apply(policy["id"], headers, uploads={"audit_report": sg.upload(headers)}), 202,
             "transaction_pending")
    monkeypatch.undo()
    (row,) = sg.client.get("/me/subsidies", headers=headers).json()
    assert row["status"] == "submitted" and row["path"] == "auto_pending"
    sg.ctx.ledger.reconcile()
    assert applications.settle_pending(sg.ctx) == 1
    app = sg.client.get(f"/subsidies/applications/{row['id']}", headers=headers).json()
    assert app["status"] == "approved" and app["path"] == "auto" and app["approved_fen"] == 200_000_00
    assert app["rule_version"] == policy["rule_version"] and app["review_due_level"] is None


def test_a_refused_submission_leaves_no_row(sg) -> None:
    now = sg.now()
    policy = sg.publish(opens_at=now + 86400 * 30, closes_at=now + 86400 * 40)
    _, headers = sg.applicant()
    revert_of(sg.apply(policy["id"], headers, uploads={"audit_report": sg.upload(headers)}), "OutsideWindow")
    assert sg.client.get("/me/subsidies", headers=headers).json() == []


def _steps(sg) -> list:
    from gateway.subsidies.models import SubsidyPendingStep

    with sg.ctx.sessions() as s:
        return list(s.scalars(select(SubsidyPendingStep)))


def test_pending_publication_and_review_are_recorded_when_settled(sg, monkeypatch) -> None:
    _stop_waiting_for(sg, monkeypatch, "publish policy")
    response = sg.client.post("/subsidies/policies", json=sg.policy_body(), headers=sg.member("SCITECH-admin"))
    error_of(response, 202, "transaction_pending")
    monkeypatch.undo()
    (step,) = _steps(sg)
    policy_id = json.loads(step.payload)["policy_id"]
    error_of(sg.client.get(f"/subsidies/policies/{policy_id}", headers=sg.member("SCITECH-admin")), 404,
             "policy_not_found")  # not recorded until its transaction is known to be on chain
    assert applications.settle_pending(sg.ctx, min_age_seconds=0) == 0  # the receipt is not recorded yet
    sg.ctx.ledger.reconcile()
    assert applications.settle_pending(sg.ctx, min_age_seconds=0) == 1
    policy = sg.client.get(f"/subsidies/policies/{policy_id}", headers=sg.member("SCITECH-admin")).json()
    assert policy["version"] == 1 and policy["tx_hash"] == response.json()["error"]["tx_hash"]
    assert [m["code"] for m in policy["materials"]] == ["business_licence", "high_tech", "audit_report"]

    _, headers = sg.applicant()
    app = sg.applied(policy_id, headers, declared={"legal_representative": "孙八"})
    _stop_waiting_for(sg, monkeypatch, "review level 1")
    response = sg.client.post(f"/subsidies/applications/{app['id']}/reviews",
                              json={"level": 1, "passed": True, "amount_fen": 1, "opinion": "同意"},
                              headers=sg.member("SCITECH-rev1"))
    error_of(response, 202, "transaction_pending")
    monkeypatch.undo()
    assert len(_steps(sg)) == 1
    sg.ctx.ledger.reconcile()
    assert applications.settle_pending(sg.ctx, min_age_seconds=0) == 1
    assert _steps(sg) == []
    got = sg.client.get(f"/subsidies/applications/{app['id']}", headers=headers).json()
    assert got["status"] == "under_review" and [r["level"] for r in got["reviews"]] == [1]
    assert got["record_consistency"]["consistent"] is True


def test_a_refused_step_leaves_nothing_behind(sg) -> None:
    policy = sg.publish()
    revert_of(sg.client.post(f"/subsidies/policies/{policy['id']}/close", json={"reason": "x"},
                             headers=sg.member("COMMERCE-admin")), "NotPolicyDepartment")
    assert _steps(sg) == []
    versions = sg.client.get(f"/subsidies/policies/{policy['id']}/versions", headers=sg.member("FINANCE-admin")).json()
    assert [v["action"] for v in versions] == ["published"]

