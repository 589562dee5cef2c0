"""Subsidies in the browser. An enterprise confirms its payee account, applies with the materials its licences
satisfy shown as such, follows its application through the six stages and reports the use of the money.
Reviewers work through their list (red / yellow / green deadlines, prompts), read the automatic verification
field by field with each fact's provenance, and sign the three review levels."""

from __future__ import annotations

import re

from tests.web.conftest import Site, login, shot
from tests.web.subsidy_support import (
    DAY,
    applicant,
    apply,
    notice_and_end,
    paid_through_api,
    publish,
    time_travel,
)


def _timeline(page) -> dict[str, bool]:
    items = page.locator("#timeline li")
    return {items.nth(i).get_attribute("data-stage"): items.nth(i).get_attribute("class") == "reached"
            for i in range(items.count())}


def test_enterprise_applies_follows_and_reports_use(site: Site, new_page) -> None:
    policy = publish(site, "2026年度高新技术企业认定奖励（网页申报）")
    _, username = applicant(site, "鼓楼区网页申报科技有限公司")
    page = new_page()
    login(page, username)
    page.click("nav.main >> text=惠企补贴")

    # the payee account: only its last digits are ever shown again
    page.fill("#payee-form input[name=payee_name]", "鼓楼区网页申报科技有限公司")
    page.fill("#payee-form input[name=bank_name]", "中国工商银行福州分行")
    page.fill("#payee-form input[name=account_no]", "6222 0000 1111 7788")
    with page.expect_navigation():
        page.click("#payee-submit")
    assert page.locator("#done").is_visible() and "****7788" in page.inner_text("#payee-current")

    # apply: the business licence and the high-tech certificate stand in for their materials
    with page.expect_navigation():
        page.click(f"#open-policies tr[data-policy='{policy['id']}'] a.apply")
    satisfied = {page.locator("#materials tbody tr").nth(i).get_attribute("data-material"):
                 page.locator("#materials tbody tr").nth(i).get_attribute("data-satisfied")
                 for i in range(page.locator("#materials tbody tr").count())}
    assert satisfied == {"business_licence": "licence", "high_tech": "licence", "audit_report": "needs_upload"}
    assert "由电子证照免交" in page.inner_text("#materials tr[data-material='business_licence']")
    assert page.input_value("#declared input[name='declared:legal_representative']") == "张三"  # pre-filled
    assert "市场监督管理局" in page.inner_text("#declared tr[data-field='legal_representative']")
    page.set_input_files("#upload-audit_report", files=[{"name": "审计报告.pdf", "mimeType": "application/pdf",
                                                         "buffer": "2025年度审计报告".encode()}])
    page.fill("#requested_yuan", "150,000")
    shot(page, "enterprise-4-apply-materials-by-licence-zh")
    with page.expect_navigation():
        page.click("#apply-submit")
    application_id = re.search(r"/applications/(0x[0-9a-f]{64})", page.url).group(1)
    assert page.locator("#app-status").get_attribute("data-status") == "approved"  # 秒批: everything matched
    assert page.inner_text("#approved") == "¥150,000.00"
    stages = _timeline(page)
    assert stages["publish"] and stages["apply"] and stages["review"] and not stages["payout"]

    # public notice, then finance pays (through the API): the page follows
    notice_and_end(site, policy["id"], [application_id])
    paid_through_api(site, policy["id"], [application_id])
    page.reload()
    assert page.locator("#app-status").get_attribute("data-status") == "paid"
    assert _timeline(page)["notice"] and _timeline(page)["payout"] and not _timeline(page)["use"]

    # report the use of the money with a receipt: recorded on chain, the sixth stage reached
    page.select_option("#use-form select[name=category]", "research")
    page.fill("#use-form input[name=amount_yuan]", "50000")
    page.fill("#use-form input[name=description]", "研发人员劳务费")
    page.set_input_files("#use-form input[name=receipts]", files=[
        {"name": "发票.pdf", "mimeType": "application/pdf", "buffer": "增值税发票 No.0001".encode()}])
    with page.expect_navigation():
        page.click("#use-submit")
    assert page.locator("#done").is_visible()
    assert "研发人员劳务费" in page.inner_text("#use-reports") and "¥50,000.00" in page.inner_text("#use-reports")
    assert all(_timeline(page).values())
    shot(page, "enterprise-5-application-six-stages-zh")

    page.goto("/web/subsidies")
    row = page.locator(f"#my-applications tr[data-application='{application_id}']")
    assert row.get_attribute("data-status") == "paid" and "2/3" in row.inner_text()


def test_reviewers_work_list_and_three_signed_levels(site: Site, new_page) -> None:
    policy = publish(site, "2026年度研发投入补助（网页审核）")
    _, username = applicant(site, "仓山区人工审核科技有限公司", legal_representative="张三")
    app = apply(site, policy["id"], username, 120_000_00, declared={"legal_representative": "李四"})
    assert app["path"] == "manual"

    rev1 = new_page()
    login(rev1, "scitech-rev1")
    rev1.click("nav.main >> text=审核工作台")
    row = rev1.locator(f"#work-list tr[data-application='{app['id']}']")
    assert row.get_attribute("data-colour") == "green"
    assert "申报与权威数据不一致" in row.inner_text()
    shot(rev1, "reviewer-1-work-list-zh")

    # the application: each field declared vs attested, the difference marked, each fact's provenance
    with rev1.expect_navigation():
        row.locator("a").click()
    diff = rev1.locator("#verification tr[data-field='legal_representative']")
    assert diff.get_attribute("data-outcome") == "mismatch"
    assert "李四" in diff.inner_text() and "张三" in diff.inner_text()
    provenance = diff.locator(".provenance").inner_text()
    assert "市场监督管理局" in provenance and "registry-web-" in provenance and "第 2 行" in provenance
    assert rev1.locator("#verification tr[data-field='name']").get_attribute("data-outcome") == "match"
    assert rev1.locator("#materials tr[data-material='high_tech']").get_attribute("data-satisfied") == "licence"
    shot(rev1, "reviewer-2-differences-and-provenance-zh")

    rev1.fill("#opinion", "法定代表人变更已核实工商变更登记，同意。")
    with rev1.expect_navigation():
        rev1.click("#review-submit")
    assert rev1.locator("#done").is_visible() and rev1.locator("#reviews tr[data-level='1']").count() == 1

    # the same reviewer may not take the next level: the contract's refusal is shown
    rev1.fill("#opinion", "复审同意")
    rev1.click("#review-submit")
    assert rev1.locator("#review-error").is_visible()

    for who, level, amount in (("scitech-rev2", 2, "120000"), ("scitech-rev3", 3, "100000")):
        page = new_page()
        login(page, who, next_path=f"/web/reviews/{app['id']}")
        page.fill("#amount_yuan", amount)
        page.fill("#opinion", f"第{level}级审核同意")
        with page.expect_navigation():
            page.click("#review-submit")
        assert page.locator(f"#reviews tr[data-level='{level}']").count() == 1
    assert page.locator("#app-status").get_attribute("data-status") == "approved"
    assert "¥100,000.00" in page.inner_text("main")
    shot(page, "reviewer-3-signed-off-zh")
    page.click("#lang-en")  # the same page in English
    assert "Automatic verification, field by field" in page.inner_text("main")
    assert page.inner_text("#verification tr[data-field='legal_representative'] td:nth-child(4)") == "mismatch"
    shot(page, "reviewer-3-signed-off-en")

    # a department's reviewer sees only its own department's list, and cannot review another's application
    market = new_page()
    login(market, "market", next_path=f"/web/reviews/{app['id']}")
    assert market.locator("#review-form").count() == 0

    # deadlines: an application left waiting turns red, with the prompt to say so
    _, late = applicant(site, "马尾区超期审核有限公司")
    waiting = apply(site, policy["id"], late, 50_000_00, declared={"legal_representative": "王五"})
    time_travel(site, 10 * DAY)
    rev1.goto("/web/reviews")
    late_row = rev1.locator(f"#work-list tr[data-application='{waiting['id']}']")
    assert late_row.get_attribute("data-colour") == "red" and "已超期" in late_row.inner_text()
    shot(rev1, "reviewer-4-overdue-red-zh")
