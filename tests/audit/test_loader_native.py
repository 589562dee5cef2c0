"""APP1 and REV3 fire from what the product itself records, not from rows imported as external input:

* APP1: a licence-backed material whose licence its issuer revokes while the application awaits review is
  an item missing since the revocation (the chain's block time); the wait is measured from it, and ends
  when the enterprise re-supplies the material (``resupplied_at``). A licence revoked after the approval is
  not a missing material.
* REV3: a drawn verification agency that the applicant's registry attestation lists as a corporate
  shareholder (by its USCC) is linked to the applicant once the scan keys the agency as registry parties
  are keyed (the alliance secret); without that link, or without the key, there is no alarm.

One gateway of its own (eth-tester, SQLite) for the module, because the APP1 test moves the chain's clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect

from audit.engine import Engine
from audit.findings import Level
from audit.loader import load_configured, scan_gateway
from chain.db import make_engine
from gateway import db as gateway_db
from gateway.subsidies.calendar import WorkCalendar
from tests.subsidies.conftest import DAY, SubsidyGateway, build_subsidy_gateway, new_uscc
from tests.subsidies.test_audit_data_front import applicant, apply, today

AGENCY = "福建正信会计师事务所有限公司"


@pytest.fixture(scope="module")
def sg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubsidyGateway]:
    directory = tmp_path_factory.mktemp("loader-native")
    url = f"sqlite:///{directory / 'gateway.db'}"
    gateway_db.upgrade(url)
    yield from build_subsidy_gateway(url, directory)


def findings(sg: SubsidyGateway, point: str) -> dict[str, Any]:
    """The scan's findings of ``point`` by subject, as of the chain's today."""
    _, result = scan_gateway(sg.ctx, as_of=today(sg), points=[point])
    return {f.subject_id: f for f in result.findings if f.point_id == point}


def travel_to(sg: SubsidyGateway, day: date) -> None:
    """Move the chain's clock forward to ``day`` in the district's time (same time of day)."""
    sg.time_travel((day - today(sg)).days * DAY)
    assert today(sg) == day


def business_licence(app: dict[str, Any]) -> str:
    return {m["code"]: m for m in app["material_items"]}["business_licence"]["licence_id"]


def revoke(sg: SubsidyGateway, licence_id: str) -> None:
    r = sg.client.post(f"/licences/{licence_id}/revoke", json={"reason_code": 7}, headers=sg.member("MARKET-admin"))
    assert r.status_code == 200, r.text


def test_a_licence_revoked_while_the_application_awaits_review_is_a_missing_material_until_resupplied(sg) -> None:
    calendar = WorkCalendar.from_settings(sg.ctx.settings.calendar)
    policy = sg.publish()
    filed = {}
    for name in ("waiting", "resupplied"):
        _, headers = sg.applicant()
        # a declared name that differs from the registry: people review it (no 秒批), it awaits review
        filed[name] = (sg.applied(policy["id"], headers, declared={"name": "福州另一家科技有限公司"}), headers)
        assert filed[name][0]["status"] == "submitted"
    _, headers = sg.applicant()
    approved = sg.applied(policy["id"], headers)
    assert approved["status"] == "approved"  # 秒批: decided at filing
    assert not findings(sg, "APP1")  # every material satisfied

    travel_to(sg, calendar.add_workdays(today(sg), 10))  # long after submission: the wait counts from the lapse
    lapse = today(sg)
    for app in (filed["waiting"][0], filed["resupplied"][0], approved):
        revoke(sg, business_licence(app))
    found = findings(sg, "APP1")
    waiting, resupplied = filed["waiting"][0]["id"], filed["resupplied"][0]["id"]
    assert {k: f.level for k, f in found.items()} == {waiting: Level.PROMPT, resupplied: Level.PROMPT}
    facts = found[waiting].facts
    assert facts["missing_items"]["value"] == 1 and facts["lapsed"]["value"] == lapse.isoformat()
    assert facts["wd_waiting"]["value"] == 0
    assert approved["id"] not in found  # revoked after the approval: a payout matter (PAY4), not APP1's

    travel_to(sg, calendar.add_workdays(lapse, 2))
    app, own = filed["resupplied"]
    r = sg.client.post(f"/me/subsidies/{resupplied}/materials/business_licence",
                       json={"document_sha256": sg.upload(own, b"business licence scan")}, headers=own)
    assert r.status_code == 200, r.text
    item = {m["code"]: m for m in r.json()["material_items"]}["business_licence"]
    assert item["resupplied_at"] == sg.ctx.ledger.chain.now()  # chain time, shown with the material
    found = findings(sg, "APP1")
    assert resupplied not in found and found[waiting].level == Level.PROMPT  # the prompt cleared on re-supply

    travel_to(sg, calendar.add_workdays(lapse, 5))
    assert findings(sg, "APP1")[waiting].level == Level.PROMPT  # 5 WD after the lapse: still within supply_wd
    travel_to(sg, calendar.add_workdays(lapse, 6))
    found = findings(sg, "APP1")
    assert found[waiting].level == Level.WARNING and found[waiting].facts["wd_waiting"]["value"] == 6
    assert found[waiting].rule_version.startswith("APP1@2+")
    assert resupplied not in found and approved["id"] not in found  # supplied 2 WD after the lapse: no warning


def test_a_drawn_agency_that_is_the_applicants_corporate_shareholder_is_a_rev3_alarm_with_the_key(sg) -> None:
    agency_uscc = new_uscc()
    r = sg.client.post("/subsidies/agencies", json={"name": AGENCY, "uscc": agency_uscc},
                       headers=sg.member("SCITECH-admin"))
    assert r.status_code == 201, r.text
    agency = r.json()
    policy = sg.publish()
    _, headers = applicant(sg, shareholders=f"{AGENCY}|{agency_uscc}")  # the registry lists it as a shareholder
    linked = apply(sg, policy["id"], headers)
    _, headers = applicant(sg, shareholders=f"{AGENCY}|{new_uscc()}")  # another firm of the same name
    unlinked = apply(sg, policy["id"], headers)
    draw = sg.draw(policy["id"], 2, subjects=[linked["id"], unlinked["id"]])
    assert draw["agency_id"] == agency["id"] and sorted(draw["picked"]) == sorted([linked["id"], unlinked["id"]])

    found = findings(sg, "REV3")
    assert found[linked["id"]].level == Level.ALARM
    assert found[linked["id"]].facts["overridden_or_linked"]["value"] == 1
    assert unlinked["id"] not in found  # the same draw, no link: no alarm

    calendar = WorkCalendar.from_settings(sg.ctx.settings.calendar)
    with sg.ctx.sessions() as session:  # without the alliance secret the agency stays a clear USCC: no link seen
        snap = load_configured(session, calendar, sg.ctx.settings, today(sg))
    result = Engine(calendar, sg.ctx.settings.audit).scan(snap, ["REV3"])
    assert linked["id"] not in {f.subject_id for f in result.findings if f.level == Level.ALARM}


def test_the_migration_adds_the_resupply_time_and_takes_it_away_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    gateway_db.upgrade(url)
    engine = make_engine(url)
    try:
        columns = {c["name"]: c for c in inspect(engine).get_columns("subsidy_materials")}
        assert columns["resupplied_at"]["nullable"] is True
        command.downgrade(gateway_db.alembic_config(url), "0008")
        engine.dispose()
        assert "resupplied_at" not in {c["name"] for c in inspect(engine).get_columns("subsidy_materials")}
    finally:
        engine.dispose()
