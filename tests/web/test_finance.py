"""Finance in the browser: what is payable and why the rest is not, a payout batch exported and its bank file
downloaded, a bank return with a wrong amount refused with its mismatch, the right one imported with a progress
bar (one line paid on chain, one failed), and the failed line exported again."""

from __future__ import annotations

from tests.web.conftest import Site, login, shot
from tests.web.subsidy_support import (
    applicant,
    apply,
    bank_return,
    confirm_payee,
    end_notice,
    notice_and_end,
    publish,
)


def test_finance_payout_batch_flow(site: Site, new_page, tmp_path) -> None:
    policy = publish(site, "2026年度专精特新奖励（网页拨付）")
    apps = {}
    for name, account in (("晋安区拨付甲有限公司", "6222000011112222"), ("晋安区拨付乙有限公司", "6222000033334444")):
        code, username = applicant(site, name)
        confirm_payee(site, username, account, name)
        apps[code] = apply(site, policy["id"], username, 80_000_00)
        assert apps[code]["status"] == "approved"
    ids = [a["id"] for a in apps.values()]
    notice = notice_and_end(site, policy["id"], ids, end=False)

    page = new_page()
    login(page, "finance")
    page.click("nav.main >> text=资金拨付")
    # on notice, the notice still running: not payable, and the page says why
    assert page.locator(f"#payable tr[data-application='{ids[0]}']").count() == 0
    assert page.locator(f"#skipped tr[data-application='{ids[0]}']").get_attribute("data-reason") == "notice_running"
    assert "公示期未满" in page.inner_text("#skipped")
    end_notice(site, notice)
    page.reload()
    for app_id in ids:  # both payable now; a hold or a missing payee would show under #skipped with its reason
        assert page.locator(f"#payable tr[data-application='{app_id}']").count() == 1, page.inner_text("main")
    for box in page.locator("#payable input[name=application]").all():  # only this test's two lines
        if box.get_attribute("value") not in ids:
            box.uncheck()
    shot(page, "finance-1-payable-zh")
    with page.expect_navigation():
        page.click("#export-submit")
    batch_id = page.inner_text("h1 code")
    assert page.locator("#lines tbody tr").count() == 2
    assert page.locator("#batch-status").get_attribute("data-status") == "exported"

    # the bank file, as the bank receives it
    with page.expect_download() as download:
        page.click("#download-csv")
    path = tmp_path / "batch.csv"
    download.value.save_as(path)
    exported = path.read_bytes()
    assert batch_id.encode() in exported

    # a return whose amount differs from the batch is refused, with the mismatch shown
    wrong = bank_return(exported, amounts={1: 79_999_00})
    page.set_input_files("#return-file", files=[{"name": "return-wrong.csv", "mimeType": "text/csv", "buffer": wrong}])
    page.click("#return-import")
    assert page.locator("#return-report").get_attribute("data-blocking") == "true"
    assert page.locator("#mismatches tr.issue").count() >= 1
    assert page.inner_text("#paid-lines") == "0"
    shot(page, "finance-2-return-mismatch-zh")

    # the right return: line 2 failed at the bank; imported in the background with a progress bar
    good = bank_return(exported, failed={2: "账户已销户"})
    page.set_input_files("#return-file", files=[{"name": "return.csv", "mimeType": "text/csv", "buffer": good}])
    with page.expect_navigation():
        page.click("#return-import")
    assert "/web/payouts/jobs/" in page.url
    page.wait_for_url(f"**/web/payouts/batches/{batch_id}?done=imported", timeout=60_000)
    assert page.locator("#lines tr[data-line='1']").get_attribute("data-status") == "paid"
    failed = page.locator("#lines tr[data-line='2']")
    assert failed.get_attribute("data-status") == "failed" and "账户已销户" in failed.inner_text()
    assert page.inner_text("#paid-lines") == "1"
    shot(page, "finance-3-imported-one-failed-zh")

    # the failed line goes out again in a new batch
    with page.expect_navigation():
        page.click("#reexport-submit")
    assert page.inner_text("h1 code") != batch_id and page.locator("#lines tbody tr").count() == 1
    assert page.locator("#done").is_visible()
