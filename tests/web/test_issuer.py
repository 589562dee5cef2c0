"""An issuing department in the browser: issue one licence, bulk-issue a CSV file while the progress bar
follows the confirmations, then suspend, reinstate, renew and revoke."""

from __future__ import annotations

from tests.web.conftest import Site, login, shot

BULK = 60  # two transactions of at most 50


def test_issuer_flow(site: Site, new_page, tmp_path) -> None:
    page = new_page()
    login(page, "market")
    page.goto("/web/licences")
    # only the types the chain authorises MARKET for are offered
    offered = page.locator("#licence_type option").evaluate_all("os => os.map(o => o.value)")
    assert set(offered) == {"BUSINESS_LICENCE", "FOOD_BUSINESS_PERMIT"}

    # issue one
    page.select_option("#licence_type", "BUSINESS_LICENCE")
    page.fill("#number", "ISS-WEB-0001")
    page.fill("#holder_uscc", site.uscc("ent-b"))
    page.fill("#holder_name", "晋安区网页签发有限公司")
    page.fill("#valid_from", "2026-01-15")
    page.fill("#valid_until", "2031-01-14")
    page.fill("#fields", "legalRepresentative=黄磊\nregisteredCapital=300万元")
    shot(page, "issuer-1-issue-form-zh")
    with page.expect_navigation():
        page.click("#issue-submit")
    assert page.locator("#done").is_visible()
    assert page.locator("#chain-status").get_attribute("data-status") == "valid"
    assert "黄磊" in page.inner_text("#licence-fields")
    first_url = page.url

    # the same number again: refused, the form kept with the reason
    page.goto("/web/licences")
    page.fill("#number", "ISS-WEB-0001")
    page.fill("#holder_uscc", site.uscc("ent-b"))
    page.fill("#holder_name", "晋安区网页签发有限公司")
    page.fill("#valid_from", "2026-01-15")
    page.click("#issue-submit")
    assert "already issued" in page.inner_text("#issue-error")
    assert page.input_value("#holder_name") == "晋安区网页签发有限公司"

    # bulk issue: a file with a bad line is refused whole, naming the line
    header = "licence_type,number,holder_uscc,holder_name,valid_from,valid_until,shopSign\n"
    bad = header + f"BUSINESS_LICENCE,BULK-BAD-1,{site.uscc('ent-b')},甲公司,2026-01-01,,甲\n" \
                   f"BUSINESS_LICENCE,BULK-BAD-2,NOT-A-USCC,乙公司,2026-01-01,,乙\n"
    page.set_input_files("#bulk-file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    page.click("#bulk-submit")
    assert "line 3" in page.inner_text("#bulk-error")
    assert site.api("GET", "/licences", "market", params={"licence_type": "BUSINESS_LICENCE",
                                                          "number": "BULK-BAD-1"}).status_code == 404

    # a good file of 120 (GB18030, as exported by many office tools): the bar follows the confirmations
    lines = [f"FOOD_BUSINESS_PERMIT,BULK-WEB-{i:04d},{site.uscc('ent-b')},晋安区批量食品店{i}号,2026-02-01,2029-01-31,"
             f"店招{i}" for i in range(BULK)]
    csv_bytes = (header + "\n".join(lines) + "\n").encode("gb18030")
    page.set_input_files("#bulk-file", files=[{"name": "permits.csv", "mimeType": "text/csv", "buffer": csv_bytes}])
    with page.expect_navigation():
        page.click("#bulk-submit")
    assert "/web/licences/jobs/" in page.url
    page.wait_for_selector("#job[data-state=done]", timeout=120_000)
    assert page.locator("#job-bar").evaluate("b => [b.value, b.max]") == [BULK, BULK]
    assert page.inner_text(".progress-text") == f"完成：签发 {BULK} 张，2 笔交易"
    shot(page, "issuer-2-bulk-progress-done-zh")
    found = site.api("GET", "/licences", "market", params={"licence_type": "FOOD_BUSINESS_PERMIT",
                                                           "number": f"BULK-WEB-{BULK - 1:04d}"})
    assert found.status_code == 200 and found.json()[0]["holder_name"] == f"晋安区批量食品店{BULK - 1}号"

    # the list finds them
    page.goto("/web/licences?q=BULK-WEB-001")
    assert page.locator("#licence-list tbody tr").count() == 10

    # lifecycle on the first licence: suspend, reinstate, renew, then revoke the successor
    page.goto(first_url)
    page.fill("#suspend-form input[name=reason_code]", "12")
    with page.expect_navigation():
        page.click("#suspend-form button")
    assert page.locator("#chain-status").get_attribute("data-status") == "suspended"
    with page.expect_navigation():
        page.click("#reinstate-form button")
    assert page.locator("#chain-status").get_attribute("data-status") == "valid"
    page.fill("#renew-form input[name=number]", "ISS-WEB-0001-R1")
    page.fill("#renew-form input[name=valid_from]", "2026-06-01")
    with page.expect_navigation():
        page.click("#renew-form button")
    assert "ISS-WEB-0001-R1" in page.inner_text("h1")
    assert "黄磊" in page.inner_text("#licence-fields")  # the type-specific fields carry over
    page.goto(first_url)
    assert page.locator("#chain-status").get_attribute("data-status") == "superseded"
    page.goto("/web/licences?q=ISS-WEB-0001-R1")
    with page.expect_navigation():
        page.click("text=ISS-WEB-0001-R1")
    page.once("dialog", lambda dialog: dialog.accept())  # "revocation cannot be undone"
    page.fill("#revoke-form input[name=reason_code]", "4")
    with page.expect_navigation():
        page.click("#revoke-form button")
    assert page.locator("#chain-status").get_attribute("data-status") == "revoked"
    shot(page, "issuer-3-revoked-zh")
