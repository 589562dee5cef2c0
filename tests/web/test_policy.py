"""Policy departments in the browser: publish a policy, amend and close it; put approved applications on public
notice; an enterprise objects on the notice page and the department answers (upheld: the application is
rejected); after payment the department orders a claw-back and records the refund; the agency pool and a
double-random draw re-computed from the chain. A member without POLICY is refused every one of these pages."""

from __future__ import annotations

import re

import requests

from tests.web.conftest import Site, login, shot
from tests.web.subsidy_support import applicant, apply, confirm_payee, end_notice, new_uscc, paid_through_api

MATERIALS = ("business_licence | 营业执照 | BUSINESS_LICENCE\n"
             "high_tech | 高新技术企业证书 | HIGH_TECH_ENTERPRISE_CERTIFICATE\n"
             "audit_report | 审计报告")
CRITERIA = ('{"all": [{"fact": "status", "op": "==", "value": "active"},'
            ' {"fact": "registered_capital_fen", "op": ">=", "value": 100000000}]}')


def _status(page, application_id: str) -> str:
    return page.locator(f"#policy-apps tr[data-application='{application_id}']").get_attribute("data-status")


def test_policy_department_publishes_notices_answers_claws_back_and_draws(site: Site, new_page) -> None:
    page = new_page()
    login(page, "scitech")
    page.click("nav.main >> text=政策管理")
    assert page.url.endswith("/web/policies")

    # publish: the policy document is uploaded with the form; a bad amount is explained, nothing published
    page.fill("#p-title", "2026年度研发费用补助（网页发布）")
    page.set_input_files("#p-legal-basis", files=[{"name": "申报指南.pdf", "mimeType": "application/pdf",
                                                   "buffer": "研发费用补助申报指南 2026".encode()}])
    page.fill("#p-budget", "一百万")
    page.fill("#p-cap", "300,000")
    page.fill("#p-notice-days", "1")
    page.fill("#p-materials", MATERIALS)
    page.fill("#p-criteria", CRITERIA)
    with page.expect_navigation():
        page.click("#publish-submit")
    assert "is not an amount in yuan" in page.inner_text("#policy-error")
    assert page.input_value("#p-title") == "2026年度研发费用补助（网页发布）"  # what was typed is kept
    page.fill("#p-budget", "1,000,000")
    page.set_input_files("#p-legal-basis", files=[{"name": "申报指南.pdf", "mimeType": "application/pdf",
                                                   "buffer": "研发费用补助申报指南 2026".encode()}])
    shot(page, "policy-1-publish-form-zh")
    with page.expect_navigation():
        page.click("#publish-submit")
    policy_id = re.search(r"/web/policies/(0x[0-9a-f]{64})", page.url).group(1)
    assert page.locator("#done").is_visible()
    assert page.locator("#policy-status").get_attribute("data-status") == "open"
    assert page.inner_text("#policy-version") == "v1" and page.inner_text("#policy-budget") == "¥1,000,000.00"
    assert "营业执照 ← " in page.inner_text("#policy-fields")

    # amend: a new version with its reason, on chain
    page.fill("#a-budget", "1,200,000")
    page.fill("#a-reason", "追加预算")
    with page.expect_navigation():
        page.click("#amend-submit")
    assert page.inner_text("#policy-version") == "v2" and page.inner_text("#policy-budget") == "¥1,200,000.00"
    assert page.locator("#versions tr[data-action='amended']").count() == 1
    assert "追加预算" in page.inner_text("#versions")

    # two enterprises apply (through the API): both approved at once (every fact matched)
    _, user_a = applicant(site, "鼓楼区公示一号科技有限公司")
    _, user_b = applicant(site, "鼓楼区公示二号科技有限公司")
    app_a = apply(site, policy_id, user_a, 100_000_00)["id"]
    app_b = apply(site, policy_id, user_b, 80_000_00)["id"]
    page.reload()
    assert _status(page, app_a) == "approved" and _status(page, app_b) == "approved"

    # put both on public notice
    page.check(f"#policy-apps tr[data-application='{app_a}'] input.notice-pick")
    page.check(f"#policy-apps tr[data-application='{app_b}'] input.notice-pick")
    page.fill("#notice-days", "1")
    shot(page, "policy-2-applications-to-notice-zh")
    with page.expect_navigation():
        page.click("#notice-submit")
    notice_url = page.url.split("?")[0]
    assert "/web/notices/" in notice_url and page.locator("#done").is_visible()
    assert page.locator("#notice-state").get_attribute("data-running") == "true"
    assert page.locator("#notice-chain").get_attribute("data-matches") == "true"
    assert page.locator("#notice-entries tbody tr").count() == 2

    # an enterprise objects from the notice page (公示 in its menu)
    other = new_page()
    login(other, "ent-a")
    other.click("nav.main >> text=公示")
    with other.expect_navigation():
        other.click(f"#notice-list a[href='{notice_url[len(site.url):]}']")
    assert other.locator(".answer-form").count() == 0  # an enterprise does not answer
    other.select_option("#objection-app", app_b)
    other.fill("#objection-text", "该企业研发人员数量与社保缴纳记录不符。")
    with other.expect_navigation():
        other.click("#objection-submit")
    assert other.locator("#done").is_visible()
    assert other.locator("#objections tr[data-number='1']").get_attribute("data-status") == "open"
    shot(other, "policy-3-objection-filed-zh")

    # the department upholds it: the application is rejected
    page.reload()
    row = page.locator("#objections tr[data-number='1']")
    row.locator("textarea[name=answer]").fill("经核查，异议属实。")
    row.locator("input[name=upheld][value=true]").check()
    with page.expect_navigation():
        row.locator(".answer-submit").click()
    assert page.locator("#objections tr[data-number='1']").get_attribute("data-status") == "upheld"
    shot(page, "policy-4-objection-upheld-zh")

    # the notice ends; finance pays A; the department orders part of it back and records the refund
    end_notice(site, {"ends_at": site.api("GET", "/funds/notices/" + notice_url.rsplit("/", 1)[1], "scitech")
                      .json()["ends_at"]})
    confirm_payee(site, user_a, "6222000011112222", "鼓楼区公示一号科技有限公司")
    paid_through_api(site, policy_id, [app_a])
    page.goto(f"/web/policies/{policy_id}")
    assert _status(page, app_a) == "paid" and _status(page, app_b) == "rejected"
    form = page.locator(f"#claw-backs tr[data-application='{app_a}'] .claw-back-form")
    form.locator("input[name=amount_yuan]").fill("20,000")
    form.locator("input[name=reason]").fill("部分资金用于非研发支出")
    with page.expect_navigation():
        form.locator(".claw-back-submit").click()
    order = page.locator(f"#claw-backs tr[data-application='{app_a}'] .order")
    assert order.get_attribute("data-status") == "ordered"
    refund = order.locator(".refund-form")
    refund.locator("input[name=amount_yuan]").fill("20000")
    refund.locator("input[name=bank_reference]").fill("ICBC-REFUND-0001")
    with page.expect_navigation():
        refund.locator(".refund-submit").click()
    order = page.locator(f"#claw-backs tr[data-application='{app_a}'] .order")
    assert order.get_attribute("data-status") == "refunded" and "ICBC-REFUND-0001" in order.inner_text()
    shot(page, "policy-5-claw-back-refunded-zh")

    # agency pool and a double-random draw, re-computed from the chain
    page.goto("/web/policies")
    page.fill("#agency-name", "福建网页会计师事务所")
    page.fill("#agency-uscc", new_uscc())
    with page.expect_navigation():
        page.click("#agency-submit")
    assert "福建网页会计师事务所" in page.inner_text("#agency-list")
    page.goto(f"/web/policies/{policy_id}")
    page.fill("#draw-picks", "1")
    with page.expect_navigation():
        page.click("#draw-submit")
    if page.locator("#draw-status").get_attribute("data-status") == "requested":  # the gateway may run it at once
        with page.expect_navigation():
            page.click("#draw-execute")
    assert page.locator("#draw-status").get_attribute("data-status") == "executed"
    assert page.locator("#draw-check").get_attribute("data-ok") == "true"
    assert page.locator("#draw-picked li").count() == 1 and page.inner_text("#draw-agency").strip()
    shot(page, "policy-6-draw-executed-zh")

    # close: no more applications
    page.goto(f"/web/policies/{policy_id}?lang=en")
    page.fill("#close-reason", "Budget used up")
    with page.expect_navigation():
        page.click("#close-submit")
    assert page.locator("#policy-status").get_attribute("data-status") == "closed"
    assert "closed to new applications" in page.inner_text("#done")
    shot(page, "policy-7-closed-en")
    r = site.api("GET", f"/subsidies/policies/{policy_id}", "scitech")
    assert r.json()["status"] == "closed" and r.json()["version"] >= 2


def test_member_without_policy_role_is_refused(site: Site, new_page) -> None:
    page = new_page()
    login(page, "finance")
    assert "政策管理" not in page.inner_text("nav.main") and "公示" in page.inner_text("nav.main")
    for path in ("/web/policies", f"/web/policies/0x{'ab' * 32}", f"/web/draws/0x{'cd' * 32}"):
        response = page.goto(path)
        assert response.status == 403, path
        assert page.inner_text("#error-code") == "missing_role"
    shot(page, "policy-8-refused-without-policy-role-zh")
    # the forms refuse as well (the role is checked before anything is read), with a valid CSRF token
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "al_session")
    from gateway.web.session import csrf_for_session

    for path, data in (("/web/policies", {"title": "x"}),
                       (f"/web/notices/0x{'ef' * 32}/objections/1/answer", {"answer": "x", "upheld": "true"}),
                       (f"/web/policies/0x{'ab' * 32}/close", {"reason": "x"})):
        r = requests.post(site.url + path, data={**data, "csrf": csrf_for_session(session)},
                          cookies={"al_session": session}, allow_redirects=False, timeout=30)
        assert r.status_code == 403 and "missing_role" in r.text, path
    # an enterprise is refused too
    enterprise = new_page()
    login(enterprise, "ent-b")
    assert enterprise.goto("/web/policies").status == 403
    assert enterprise.inner_text("#error-code") == "forbidden_kind"
