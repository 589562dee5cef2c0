"""Licence-backed materials re-checked on chain, in the browser. A licence revoked after the application was
filed leaves its material lapsed: the enterprise's page says so with the reason and offers a re-supply form;
the reviewer's page says the sign-off is blocked and why, and the level-3 sign-off cannot pass. Once the
enterprise re-supplies the material by upload, both pages show it satisfied by the upload."""

from __future__ import annotations

from tests.web.conftest import Site, login, shot
from tests.web.subsidy_support import applicant, apply, publish


def _state(page, code: str) -> str | None:
    return page.locator(f"#materials tr[data-material='{code}']").get_attribute("data-state")


def test_revoked_licence_lapses_the_material_blocks_sign_off_until_resupplied(site: Site, new_page) -> None:
    policy = publish(site, "2026年度高新技术企业奖励（证照复核）")
    _, username = applicant(site, "晋安区证照复核科技有限公司")
    app = apply(site, policy["id"], username, 80_000_00, declared={"legal_representative": "李四"})
    assert app["path"] == "manual"  # a difference: it waits for the reviewers
    detail = site.api("GET", f"/subsidies/applications/{app['id']}", "scitech").json()
    high_tech = next(m for m in detail["material_items"] if m["code"] == "high_tech")
    assert high_tech["satisfied_by"] == "licence"

    # levels 1 and 2 pass while the licence still stands
    for who, level in (("scitech-rev1", 1), ("scitech-rev2", 2)):
        r = site.api("POST", f"/subsidies/applications/{app['id']}/reviews", who,
                     json={"level": level, "passed": True, "amount_fen": 80_000_00, "opinion": f"第{level}级同意"})
        assert r.status_code == 201, r.text

    # SCITECH revokes the high-tech certificate after the application was filed
    r = site.api("POST", f"/licences/{high_tech['licence_id']}/revoke", "scitech", json={"reason_code": 3})
    assert r.status_code == 200, r.text

    ent = new_page()
    login(ent, username, next_path=f"/web/subsidies/applications/{app['id']}")
    assert _state(ent, "high_tech") == "lapsed" and _state(ent, "business_licence") == "licence"
    row = ent.inner_text("#materials tr[data-material='high_tech']")
    assert "已失效" in row and "已撤销" in row and "None" not in row
    assert "高新技术企业证书" in ent.inner_text("#materials-lapsed")
    shot(ent, "enterprise-6-material-lapsed-zh")

    rev3 = new_page()
    login(rev3, "scitech-rev3", next_path=f"/web/reviews/{app['id']}")
    blocked = rev3.inner_text("#signoff-blocked")
    assert "签发受阻" in blocked and "高新技术企业证书" in blocked and "已撤销" in blocked
    assert _state(rev3, "high_tech") == "lapsed"
    assert rev3.is_disabled("#passed-true") and rev3.is_checked("#passed-false")  # only a rejection can be signed
    shot(rev3, "reviewer-5-sign-off-blocked-zh")
    rev3.click("#lang-en")
    assert "Sign-off blocked" in rev3.inner_text("#signoff-blocked")
    assert "revoked" in rev3.inner_text("#materials tr[data-material='high_tech']")

    # the enterprise re-supplies the certificate as an uploaded scan: satisfied by the upload
    ent.set_input_files("#resupply-high_tech input[name=document]", files=[
        {"name": "高新技术企业证书.pdf", "mimeType": "application/pdf", "buffer": "高新证书扫描件".encode()}])
    with ent.expect_navigation():
        ent.click("#resupply-high_tech button")
    assert ent.locator("#done").is_visible() and ent.locator("#materials-lapsed").count() == 0
    assert _state(ent, "high_tech") == "resupplied"
    assert "已上传补交" in ent.inner_text("#materials tr[data-material='high_tech']")

    rev3.reload()
    assert rev3.locator("#signoff-blocked").count() == 0 and _state(rev3, "high_tech") == "resupplied"
    assert not rev3.is_disabled("#passed-true")


def test_a_licence_found_on_chain_shows_who_holds_its_number_and_an_expiry_its_date() -> None:
    """A licence another department's gateway issued has no number here: the page names the issuing
    department instead of printing None; an expired licence's material says when it expired."""
    from gateway.web.i18n import Translator
    from gateway.web.render import ENV

    class Names:
        def department(self, code):
            return {"SCITECH": "科学技术局"}.get(code or "", code or "—")

        def licence_type(self, code):
            return code or "—"

    macros = ENV.get_template("_material.html").make_module({"t": Translator("zh"), "names": Names()})
    chain_only = {"code": "high_tech", "satisfied_by": "licence", "licence_id": "0x" + "ab" * 32,
                  "licence_type": "HIGH_TECH_ENTERPRISE_CERTIFICATE", "licence_number": None,
                  "licence_issuer": "SCITECH", "document_sha256": None}
    html = str(macros.licence_number(chain_only))
    assert "None" not in html and "由发证部门（科学技术局）保管" in html
    expired = {**chain_only, "licence_issuer": None, "satisfied": False, "unsatisfied_reason": "expired",
               "licence_check": {"status": "expired", "valid": False, "issuer_department": "SCITECH",
                                 "valid_until": 1767225600}}  # 2026-01-01 00:00 UTC
    cell = str(macros.material_cell(expired))
    assert "已失效" in cell and "证照已于 2026-01-01 过期" in cell and "科学技术局" in cell and "None" not in cell
    assert str(macros.material_state(expired)) == "lapsed"
