"""A source department's oracle member in the browser: push a registry file, watch its facts attested (with a
progress bar), see the bad lines with their reasons; another department's data type is refused (一数一源)."""

from __future__ import annotations

from tests.web.conftest import Site, login, shot
from tests.web.subsidy_support import REGISTRY_HEADER, new_uscc

LINES = 105  # two transactions of at most 100


def test_oracle_file_import_with_progress(site: Site, new_page) -> None:
    codes = [new_uscc() for _ in range(LINES)]
    body = "".join(f'"{c}","仓山区数据{i}号有限公司","林{i}","2000000","福州市仓山区{i}号","软件开发","active",'
                   f'"350104","2019-03-01"\n' for i, c in enumerate(codes))
    bad = '"NOT-A-USCC","坏行有限公司","某","1","地址","范围","active","350104","2019-03-01"\n'
    raw = (REGISTRY_HEADER + body + bad).encode("gb18030")

    page = new_page()
    login(page, "market")
    page.click("nav.main >> text=数据报送")
    page.set_input_files("#oracle-file", files=[{"name": "registry-web-batch.csv", "mimeType": "text/csv",
                                                 "buffer": raw}])
    with page.expect_navigation():
        page.click("#oracle-submit")
    assert "/web/oracle/jobs/" in page.url
    page.wait_for_url("**/web/oracle?job=*", timeout=120_000)
    report = page.inner_text("#oracle-report")
    assert f"有效行 {LINES}" in report and f"新上链 {LINES}" in report and "交易 2 笔" in report
    assert page.locator(f"#bad-lines tr[data-line='{LINES + 2}']").count() == 1
    shot(page, "oracle-1-registry-file-attested-zh")
    facts = site.api("GET", f"/oracle/facts/{codes[-1]}", "market").json()
    assert "仓山区数据104号有限公司" in str(facts)

    # the tax summary is TAX's to attest, not MARKET's
    tax = "uscc,year,tax_paid_yuan,tax_credit_rating,revenue_yuan\n" + f"{codes[0]},2025,120000,A,5000000\n"
    page.set_input_files("#oracle-file", files=[{"name": "tax.csv", "mimeType": "text/csv", "buffer": tax.encode()}])
    page.click("#oracle-submit")
    assert "not_source_department" in page.inner_text("#oracle-error")

    # a department without the oracle role is refused the page
    inspector = new_page()
    login(inspector, "discipline")
    assert inspector.goto("/web/oracle").status == 403
