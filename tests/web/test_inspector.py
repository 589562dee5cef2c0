"""The discipline inspector in the browser: a full scan run from the dashboard with its progress bar, the
dashboard's charts and alert filters, cases with their timers, and the fund-trace explorer — a policy's flow
from budget to use (reconciled to the fen), a payout's chain of custody across the six stages, an enterprise's
subsidies — plus the evidence pack; the alarm on a payout made before its notice ended, with its case; a
member without the inspector role is refused."""

from __future__ import annotations

import io
import zipfile

from tests.web.conftest import Site, login, shot
from tests.web.subsidy_support import (
    applicant,
    apply,
    confirm_payee,
    notice_and_end,
    paid_through_api,
    publish,
    upload,
)


def test_inspector_scan_dashboard_and_fund_trace(site: Site, new_page) -> None:
    policy = publish(site, "2026年度数字经济奖励（网页追溯）")
    code, username = applicant(site, "长乐区资金追溯有限公司")
    confirm_payee(site, username, "6222000055556666", "长乐区资金追溯有限公司")
    app = apply(site, policy["id"], username, 200_000_00)
    notice_and_end(site, policy["id"], [app["id"]])
    paid_through_api(site, policy["id"], [app["id"]])
    r = site.api("POST", "/funds/use-reports", username, json={
        "application_id": app["id"], "category": "equipment", "amount_fen": 120_000_00, "description": "购置服务器",
        "receipts": [upload(site, username, "服务器采购发票".encode())]})
    assert r.status_code == 201, r.text

    page = new_page()
    login(page, "discipline")
    page.click("nav.main >> text=监督预警")

    # a full scan, point by point, with its progress
    with page.expect_navigation():
        page.click("#scan-submit")
    assert "/web/audit/jobs/" in page.url
    page.wait_for_url("**/web/audit?done=scanned", timeout=120_000)
    assert page.locator("#done").is_visible()
    assert page.locator("#chart-over-time svg g.bar").count() == 14
    assert page.locator("#chart-by-stage svg g.bar").count() == 6
    shot(page, "inspector-1-dashboard-zh")
    # the scan found this policy's problems (its one-working-day notice among them): filter, open, export
    alerts = page.locator("#alerts tbody tr[data-alert]")
    assert alerts.count() >= 1
    level = alerts.first.get_attribute("data-level")
    page.select_option("#alert-filters select[name=level]", level)
    with page.expect_navigation():
        page.click("#alert-filters button")
    rows = page.locator("#alerts tbody tr[data-alert]")
    assert rows.count() >= 1 and {r.get_attribute("data-level") for r in rows.all()} == {level}
    with page.expect_navigation():
        rows.first.locator("a").click()
    with page.expect_download() as download:
        page.click("#alert-evidence")
    assert zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes())).namelist()
    shot(page, "inspector-2-alert-zh")

    # this application's notice lasted one working day and it was paid before the planned end (NOT2): an alarm,
    # which opens its case by itself — so there is always a case to work on (escalating by hand: test_alerts.py)
    mine = [a for a in site.api("GET", "/audit/alerts", "discipline", params={"point_id": "NOT2", "limit": 1000}).json()
            if a["application_id"] == app["id"]]
    assert [a["level"] for a in mine] == ["alarm"], mine
    page.goto(f"/web/audit/alerts/{mine[0]['alert_id']}")
    assert page.locator("#alert-level").get_attribute("data-level") == "alarm"
    assert page.locator("#escalate-form").count() == 0  # an alarm is as high as it goes
    assert page.locator("#history tr[data-kind='hold_placed']").count() == 1

    # its case, with its timer: record a step (signed on chain) and export the case's evidence pack
    with page.expect_navigation():
        page.click("#alert-case")
    page.select_option("#step-form select[name=step]", "preliminary")
    page.fill("#step-form textarea[name=note]", "调取公示材料，初核。")
    with page.expect_navigation():
        page.click("#step-form button")
    assert page.locator("#done").is_visible() and "调取公示材料" in page.inner_text("#steps")
    with page.expect_download() as download:
        page.click("#case-evidence")
    assert zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes())).namelist()
    shot(page, "inspector-3-case-zh")
    page.goto("/web/audit/cases")
    case_rows = page.locator("#cases tbody tr[data-case]")
    assert case_rows.count() >= 1
    assert {r.get_attribute("data-colour") for r in case_rows.all()} <= {"green", "yellow", "red", "none"}

    # the fund trace of the policy: a flow chart from budget to use, every stage reconciled
    page.goto("/web/trace")
    page.fill("#trace-policy input[name=policy]", policy["id"])
    with page.expect_navigation():
        page.click("#trace-policy button")
    assert page.locator("#reconciled").get_attribute("data-reconciled") == "true"
    figures = {g.get_attribute("data-stage"): int(g.get_attribute("data-fen"))
               for g in page.locator("#flow-chart svg g.stage").all()}
    assert figures == {"budget": 1_000_000_00, "approved": 200_000_00, "noticed": 200_000_00, "paid": 200_000_00,
                       "used": 120_000_00, "clawed_back": 0}
    shot(page, "inspector-4-policy-flow-chart-zh")

    # one payout's chain of custody across the six stages
    with page.expect_navigation():
        page.click(f"#trace-applications a[href$='{app['id']}']")
    stages = {li.get_attribute("data-stage"): li.get_attribute("class") for li in page.locator("#timeline li").all()}
    assert stages == {s: "reached" for s in ("publish", "apply", "review", "notice", "payout", "use")}
    assert page.locator("#consistent").is_visible()
    shot(page, "inspector-5-payout-timeline-zh")

    # the enterprise across departments and years
    page.fill("#trace-enterprise input[name=enterprise]", code)
    with page.expect_navigation():
        page.click("#trace-enterprise button")
    assert page.locator(f"#enterprise-subsidies tr[data-application='{app['id']}']").count() == 1

    # the same pages refuse a member without the inspector role
    finance = new_page()
    login(finance, "finance")
    response = finance.goto("/web/audit")
    assert response.status == 403 and finance.inner_text("#error-code") == "missing_role"
    response = finance.goto(f"/web/trace?policy={policy['id']}")
    assert response.status == 403  # a policy's trace: inspectors and the policy's own department only
