"""Public verification in the browser: the QR landing page, by number, by file (a tampered document, a proof
bundle), the proof bundle download, the English switch, and a revoked licence."""

from __future__ import annotations

import json

from tests.web.conftest import Site, shot

LICENCE_CHECKS = {"OpenAttestationHash", "LicenceRecord", "LicenceIssued", "LicenceStatus", "LicenceValidity",
                  "IssuerAuthority", "RecordConsistency"}


def _checks(page, table: str = "#checks") -> dict[str, str]:
    rows = page.locator(f"{table} tr.fragment")
    return {rows.nth(i).get_attribute("data-name"): rows.nth(i).get_attribute("data-status")
            for i in range(rows.count())}


def _issue(site: Site, number: str, holder: str) -> dict:
    return site.issue(licence_type="BUSINESS_LICENCE", number=number, holder_uscc=site.uscc("ent-b"),
                      holder_name=holder, valid_from="2026-01-01", valid_until="2030-12-31",
                      fields={"legalRepresentative": "林晓", "registeredCapital": "500万元"})


def test_public_verification_flow(site: Site, new_page, tmp_path) -> None:
    out = _issue(site, "PUB-WEB-0001", "鼓楼区公开核验有限公司")
    lid = out["licence"]["id"]
    page = new_page()

    # the QR code's landing page: verdict, every check, the disclosed fields, the QR code itself
    page.goto(f"/v/{lid}")
    assert page.locator("#verdict").get_attribute("data-status") == "VALID"
    assert "有效" in page.inner_text("#verdict")
    assert _checks(page) == {name: "VALID" for name in LICENCE_CHECKS}
    fields = page.inner_text("#fields")
    assert "鼓楼区公开核验有限公司" in fields and "林晓" in fields and "PUB-WEB-0001" in fields
    assert page.locator("img[src$='/qr.svg']").evaluate("img => img.complete && img.naturalWidth > 0")
    shot(page, "public-1-qr-landing-zh")

    # the proof bundle downloads as a file anyone can check offline
    with page.expect_download() as download:
        page.click("#bundle-link")
    bundle_path = tmp_path / "bundle.json"
    download.value.save_as(bundle_path)
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    assert bundle["format"] == "alliance-ledger/licence-proof@1"
    assert bundle["document"] == out["document"] and bundle["anchor"]["tx_hash"] == out["licence"]["tx_hash"]

    # English, remembered across pages
    page.click("#lang-en")
    assert page.inner_text("h1") == "Licence verification"
    assert page.inner_text("#verdict").strip() == "VALID"
    page.goto("/verify")
    assert page.inner_text("#verify-number h2") == "Verify by licence number"
    shot(page, "public-2-verify-form-en")

    # by number
    page.select_option("#licence_type", "BUSINESS_LICENCE")
    page.fill("#number", "PUB-WEB-0001")
    page.click("#verify-number button")
    assert page.locator("#verdict").get_attribute("data-status") == "VALID"
    page.fill("#number", "NO-SUCH-NUMBER")
    page.click("#verify-number button")
    assert page.locator("#verdict").count() == 0 and "no licence" in page.inner_text("#verify-error")

    # by file: the downloaded bundle verifies; a document with one field changed does not
    page.set_input_files("#file", str(bundle_path))
    page.click("#verify-file button")
    assert page.locator("#verdict").get_attribute("data-status") == "VALID"
    tampered = json.loads(json.dumps(out["document"]))
    salt, _, value = tampered["data"]["holderName"].partition(":string:")
    tampered["data"]["holderName"] = f"{salt}:string:冒名顶替有限公司"
    page.set_input_files("#file", files=[{"name": "tampered.json", "mimeType": "application/json",
                                          "buffer": json.dumps(tampered, ensure_ascii=False).encode()}])
    page.click("#verify-file button")
    assert page.locator("#verdict").get_attribute("data-status") == "INVALID"
    assert _checks(page)["OpenAttestationHash"] == "INVALID"
    shot(page, "public-3-tampered-file-en")

    # not JSON at all: said so, no verdict
    page.set_input_files("#file", files=[{"name": "x.json", "mimeType": "application/json", "buffer": b"%PDF-1.7"}])
    page.click("#verify-file button")
    assert page.locator("#verdict").count() == 0 and "not JSON" in page.inner_text("#verify-error")

    # revoked by its issuer: the same QR code now says INVALID, and why (back in Chinese)
    assert site.api("POST", f"/licences/{lid}/revoke", "market", json={"reason_code": 7}).status_code == 200
    page.goto(f"/v/{lid}?lang=zh")
    assert page.locator("#verdict").get_attribute("data-status") == "INVALID"
    assert "无效" in page.inner_text("#verdict")
    assert _checks(page)["LicenceStatus"] == "INVALID"
    assert "revoked" in page.inner_text("#checks")
    shot(page, "public-4-revoked-zh")

    # an unknown licence id: 404 page, no verdict
    response = page.goto("/v/0x" + "ab" * 32)
    assert response.status == 404 and page.locator("#not-found").is_visible()
