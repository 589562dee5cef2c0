"""A department's own alerts in the browser: the supervision points flag its short public notice; a member of
the department opens its work list, explains one alert and rectifies another (each signed on chain with the
member's own key), and they leave the list; the commission escalates a third by hand to an alarm, which
holds the payout and opens a case. Another department's member is refused the alert and the forms."""

from __future__ import annotations

import requests

from tests.web.conftest import Site, login, shot
from tests.web.subsidy_support import applicant, apply, notice_and_end, publish


def test_department_explains_and_rectifies_its_alerts(site: Site, new_page) -> None:
    policy = publish(site, "2026年度专精特新奖励（预警处置）", notice_workdays=1)
    apps = []
    for name in ("仓山区预警处置一号有限公司", "仓山区预警处置二号有限公司", "仓山区预警处置三号有限公司"):
        _, username = applicant(site, name)
        apps.append(apply(site, policy["id"], username, 50_000_00)["id"])
    notice_and_end(site, policy["id"], apps, end=False)
    # the commission runs the notice-period point: a one-working-day notice is too short (NOT2)
    r = site.api("POST", "/audit/scans", "discipline", json={"points": ["NOT2"]})
    assert r.status_code == 200, r.text

    page = new_page()
    login(page, "scitech")
    page.click("nav.main >> text=本部门预警")
    for app_id in apps:
        assert page.locator(f"#dept-alerts tr[data-subject='{app_id}'][data-point='NOT2']").count() == 1
    shot(page, "alerts-1-department-work-list-zh")

    # explain the first
    with page.expect_navigation():
        page.click(f"#dept-alerts tr[data-subject='{apps[0]}'][data-point='NOT2'] a")
    alert_one = page.url.rsplit("/", 1)[1]
    assert page.locator("#escalate-form").count() == 0 and page.locator("#alert-evidence").count() == 0
    page.fill("#explained-form textarea[name=note]", "该批次为补充公示，首次公示已满五个工作日。")
    with page.expect_navigation():
        page.click("#explained-submit")
    assert page.locator("#done").is_visible()
    assert page.locator("#alert-status").get_attribute("data-status") == "explained"
    assert page.locator("#dispositions tr[data-kind='explained']").count() == 1
    assert page.locator("#explained-form").count() == 0  # nothing more to record
    shot(page, "alerts-2-explained-zh")

    # rectify the second: a bad amount is explained and nothing is recorded; then the report
    page.goto("/web/alerts")
    with page.expect_navigation():
        page.click(f"#dept-alerts tr[data-subject='{apps[1]}'][data-point='NOT2'] a")
    page.fill("#rectified-form textarea[name=note]", "已重新公示五个工作日。")
    page.fill("#rectified-form input[name=recovered_yuan]", "abc")
    with page.expect_navigation():
        page.click("#rectified-submit")
    assert "is not an amount in yuan" in page.inner_text("#alert-error")
    assert page.locator("#alert-status").get_attribute("data-status") == "open"
    page.fill("#rectified-form textarea[name=note]", "已重新公示五个工作日。")
    page.fill("#rectified-form input[name=recovered_yuan]", "0")
    with page.expect_navigation():
        page.click("#rectified-submit")
    assert page.locator("#alert-status").get_attribute("data-status") == "rectified"
    shot(page, "alerts-3-rectified-zh")

    # both have left the work list; the API shows the signed dispositions
    page.goto("/web/alerts")
    for app_id in apps[:2]:
        assert page.locator(f"#dept-alerts tr[data-subject='{app_id}'][data-point='NOT2']").count() == 0
    detail = site.api("GET", f"/audit/alerts/{alert_one}", "scitech").json()
    assert [d["kind"] for d in detail["dispositions"]] == ["explained"] and detail["dispositions"][0]["tx_hash"]

    # the commission escalates the third by hand: an alarm, the payout held, a case opened
    inspector = new_page()
    login(inspector, "discipline")
    third = next(a for a in site.api("GET", "/audit/alerts", "discipline", params={"point_id": "NOT2", "limit": 1000})
                 .json() if a["application_id"] == apps[2])
    inspector.goto(f"/web/audit/alerts/{third['alert_id']}")
    assert inspector.locator("#alert-level").get_attribute("data-level") == "prompt"
    assert inspector.locator("#rectified-form").count() == 0  # the department's forms are not the commission's
    inspector.fill("#escalate-form textarea[name=note]", "公示期明显不足，升级报警。")
    with inspector.expect_navigation():
        inspector.click("#escalate-submit")
    assert inspector.locator("#alert-level").get_attribute("data-level") == "alarm"
    assert inspector.locator("#dispositions tr[data-kind='escalated']").count() == 1
    assert inspector.locator("#history tr[data-kind='hold_placed']").count() == 1
    assert inspector.locator("#escalate-form").count() == 0
    shot(inspector, "alerts-4-escalated-by-inspector-zh")
    with inspector.expect_navigation():
        inspector.click("#alert-case")
    assert "/web/audit/cases/" in inspector.url
    # the department may not escalate (the API's own role check)
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "al_session")
    from gateway.web.session import csrf_for_session

    r = requests.post(f"{site.url}/web/audit/alerts/{alert_one}/escalated", timeout=30, allow_redirects=False,
                      data={"note": "x", "csrf": csrf_for_session(session)}, cookies={"al_session": session})
    assert r.status_code == 403 and "missing_role" in r.text

    # another department's member: refused the page and the form (the API's own check)
    other = new_page()
    login(other, "finance")
    response = other.goto(f"/web/alerts/{alert_one}")
    assert response.status == 403 and other.inner_text("#error-code") == "not_your_department"
    session = next(c["value"] for c in other.context.cookies() if c["name"] == "al_session")
    from gateway.web.session import csrf_for_session

    r = requests.post(f"{site.url}/web/alerts/{alert_one}/rectified", timeout=30, allow_redirects=False,
                      data={"note": "x", "csrf": csrf_for_session(session)}, cookies={"al_session": session})
    assert r.status_code == 403 and "not_your_department" in r.text
    # an enterprise is no member
    enterprise = new_page()
    login(enterprise, "ent-b")
    assert enterprise.goto("/web/alerts").status == 403
