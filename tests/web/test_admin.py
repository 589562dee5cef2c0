"""Alliance administration in the browser: departments, members, licence-type authorities; a governance
proposal made and approved on the pages, carried by the other departments' votes, and its effect shown."""

from __future__ import annotations

from tests.web.conftest import Site, login, shot


def _proposal_row(page, proposal_id: int):
    return page.locator(f"#proposals tr[data-proposal='{proposal_id}']")


def test_alliance_admin_flow(site: Site, new_page) -> None:
    page = new_page()
    login(page, "approval")
    page.goto("/web/alliance")
    assert page.locator("#departments tbody tr").count() == 14
    assert "市场监督管理局" in page.inner_text("#departments tr[data-code='MARKET']")
    shot(page, "admin-1-departments-zh")
    page.click("#tab-members")
    assert page.locator("#members tbody tr").count() >= 14
    page.click("#tab-licence-types")
    cell = "#authorities tr[data-type='FOOD_BUSINESS_PERMIT'] td[data-dept='CULTURE']"
    assert page.get_attribute(cell, "class") == ""

    # propose: let CULTURE issue food business permits (the form shows only the fields that action takes)
    page.click("#tab-proposals")
    page.select_option("#action", "SetLicenceTypeAuthority")
    assert page.locator("input[name=account]").is_hidden() and page.locator("#licence_type").is_visible()
    page.select_option("#licence_type", "FOOD_BUSINESS_PERMIT")
    page.select_option("#department", "CULTURE")
    page.select_option("#allowed", "true")
    with page.expect_navigation():
        page.click("#propose-submit")
    assert page.locator("#done").is_visible()
    proposal_id = int(page.url.rsplit("id=", 1)[1])
    row = _proposal_row(page, proposal_id)
    assert row.get_attribute("data-status") == "open"
    assert row.locator(".approvals").inner_text() == "1"
    assert "FOOD_BUSINESS_PERMIT" in row.inner_text() and "CULTURE" in row.inner_text()
    assert row.locator("button.approve").count() == 0  # APPROVAL already voted by proposing
    shot(page, "admin-2-proposal-open-zh")

    # a malformed proposal is refused with the reason, nothing sent
    page.select_option("#action", "AddMember")
    page.fill("input[name=account]", "0x1234")
    page.click("#propose-submit")
    assert page.locator("#proposal-error").is_visible()

    # DRC's governor approves in the browser, in English
    drc = new_page("en-US")
    login(drc, "drc", next_path="/web/alliance?tab=proposals&lang=en")
    row = _proposal_row(drc, proposal_id)
    assert row.locator("button.approve").inner_text() == "Approve"
    with drc.expect_navigation():
        row.locator("button.approve").click()
    assert "You approved proposal" in drc.inner_text("#done")
    assert _proposal_row(drc, proposal_id).locator(".approvals").inner_text() == "2"
    shot(drc, "admin-3-approved-en")

    # eight more departments vote through the API: ten of fourteen executes it
    for voter in ("finance", "discipline", "tax", "hrss", "scitech", "commerce", "industry", "ip-office"):
        r = site.api("POST", f"/alliance/proposals/{proposal_id}/approve", voter)
        assert r.status_code == 200, r.text
    page.goto("/web/alliance?tab=proposals")
    assert _proposal_row(page, proposal_id).get_attribute("data-status") == "executed"
    page.click("#tab-licence-types")
    assert page.get_attribute(cell, "class") == "yes"
    shot(page, "admin-4-authority-granted-zh")
