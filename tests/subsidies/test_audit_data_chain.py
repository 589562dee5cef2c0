"""Reasons and evidence on the chain: amending or closing a policy through the API puts the SHA-256 of the
stated reason on-chain (`PolicyChangeReason`), and an automatic approval (秒批) the hash of the evidence it
decided on (`AutoApprovalEvidence`), the same hash the application's record shows."""

from __future__ import annotations

import hashlib

from tests.subsidies.conftest import SubsidyGateway


def _events(sg: SubsidyGateway, name: str, **match) -> list[dict]:
    ledger = sg.ctx.ledger.contract("SubsidyLedger")
    logs = getattr(ledger.events, name)().get_logs(from_block=0)
    return [dict(e["args"]) for e in logs if all(e["args"][k] == v for k, v in match.items())]


def test_amend_and_close_put_the_reason_hash_on_chain(sg: SubsidyGateway) -> None:
    policy = sg.publish()
    body = sg.policy_body(budget_fen=2_000_000_00, reason="预算追加（第12号决定）")
    response = sg.client.post(f"/subsidies/policies/{policy['id']}/amend", json=body, headers=sg.member("SCITECH-admin"))
    assert response.status_code == 200, response.text
    pid = bytes.fromhex(policy["id"][2:])
    closing = sg.client.post(f"/subsidies/policies/{policy['id']}/close", json={"reason": "资金已用完"},
                             headers=sg.member("SCITECH-admin"))
    assert closing.status_code == 200, closing.text
    reasons = _events(sg, "PolicyChangeReason", policyId=pid)
    assert [(e["version"], e["closed"], e["reasonHash"]) for e in reasons] == [
        (2, False, hashlib.sha256("预算追加（第12号决定）".encode()).digest()),
        (2, True, hashlib.sha256("资金已用完".encode()).digest())]


def test_an_automatic_approval_carries_its_evidence_hash(sg: SubsidyGateway) -> None:
    policy = sg.publish()
    _, headers = sg.applicant()
    app = sg.applied(policy["id"], headers)
    assert app["path"] == "auto"
    evidence = app["criteria"]["auto"]["evidence_hash"]
    (event,) = _events(sg, "AutoApprovalEvidence", applicationId=bytes.fromhex(app["id"][2:]))
    assert "0x" + event["evidenceHash"].hex() == evidence and event["ruleVersion"].hex() == app["rule_version"][2:]
