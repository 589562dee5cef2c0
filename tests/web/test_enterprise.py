"""An enterprise in the browser: log in, see its licences with their status on chain, share a presentation with
chosen fields hidden, have it verified on the public page, and log out (the token is revoked)."""

from __future__ import annotations

import json

import requests

from tests.web.conftest import Site, shot


def test_enterprise_credentials_flow(site: Site, new_page, tmp_path) -> None:
    holder = site.uscc("ent-a")
    business = site.issue(licence_type="BUSINESS_LICENCE", number="ENT-WEB-BL-01", holder_uscc=holder,
                          holder_name="台江区数据服务有限公司", valid_from="2026-02-01", valid_until="2036-01-31",
                          fields={"legalRepresentative": "陈敏", "registeredCapital": "1000万元"})
    food = site.issue(licence_type="FOOD_BUSINESS_PERMIT", number="ENT-WEB-FP-01", holder_uscc=holder,
                      holder_name="台江区数据服务有限公司", valid_from="2026-03-01", valid_until="2031-02-28")
    site.issue(licence_type="BUSINESS_LICENCE", number="ENT-WEB-OTHER", holder_uscc=site.uscc("ent-b"),
               holder_name="别家企业有限公司", valid_from="2026-02-01")
    page = new_page()

    # a page behind the login sends the visitor to the login form and back again afterwards
    page.goto("/web/credentials")
    assert page.url.endswith("/web/login?next=/web/credentials")
    page.fill("#username", "ent-a")
    page.fill("#password", "wrong-password-9")
    page.click("#login-submit")
    assert "用户名或密码错误" in page.inner_text("#login-error")
    page.fill("#password", "login-password-1")
    with page.expect_navigation():
        page.click("#login-submit")
    assert page.url.endswith("/web/credentials")
    cookie = next(c for c in page.context.cookies() if c["name"] == "al_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # my licences (only mine), with the status the chain gives them
    rows = page.locator("#my-licences tbody tr")
    assert sorted(rows.nth(i).get_attribute("data-number") for i in range(rows.count())) == \
        ["ENT-WEB-BL-01", "ENT-WEB-FP-01"]
    assert page.locator("tr[data-number='ENT-WEB-BL-01'] [data-status]").get_attribute("data-status") == "valid"
    shot(page, "enterprise-1-my-credentials-zh")

    # the issuer suspends the food permit: the page shows it at once
    food_id = food["licence"]["id"]
    assert site.api("POST", f"/licences/{food_id}/suspend", "market", json={"reason_code": 3}).status_code == 200
    page.reload()
    assert page.locator("tr[data-number='ENT-WEB-FP-01'] [data-status]").get_attribute("data-status") == "suspended"

    # share the business licence with the legal representative and the capital hidden
    bl_id = business["licence"]["id"]
    page.check(f"fieldset[data-licence='{bl_id}'] input.pick")
    page.check(f"input[name='hide:{bl_id}'][value='legalRepresentative']")
    page.check(f"input[name='hide:{bl_id}'][value='registeredCapital']")
    shot(page, "enterprise-2-share-choices-zh")
    with page.expect_download() as download:
        page.click("#share-submit")
    path = tmp_path / "presentation.json"
    download.value.save_as(path)
    presentation = json.loads(path.read_text(encoding="utf-8"))
    assert presentation["format"] == "alliance-ledger/presentation@1" and presentation["holder"] == holder
    assert len(presentation["documents"]) == 1
    assert "陈敏" not in path.read_text(encoding="utf-8")

    # whoever receives it verifies it on the public page: VALID, the hidden fields absent
    verifier = new_page()
    verifier.goto("/verify")
    verifier.set_input_files("#file", str(path))
    verifier.click("#verify-file button")
    assert verifier.locator("#verdict").get_attribute("data-status") == "VALID"
    shown = {verifier.locator("#fields tr").nth(i).get_attribute("data-field")
             for i in range(verifier.locator("#fields tr").count())}
    assert "holderName" in shown and "legalRepresentative" not in shown and "registeredCapital" not in shown
    assert verifier.locator(".hidden-note").is_visible() and verifier.locator("#bundle-link").count() == 0
    shot(verifier, "enterprise-3-presentation-verified-zh")

    # sharing nothing is refused with a reason, not an empty file
    page.goto("/web/credentials")
    page.click("#share-submit")
    assert page.locator("#share-error").is_visible()

    # another enterprise's licence file is not mine to download
    other = site.api("GET", "/licences", "market", params={"licence_type": "BUSINESS_LICENCE",
                                                           "number": "ENT-WEB-OTHER"}).json()[0]
    response = page.goto(f"/web/credentials/{other['id']}/document")
    assert response.status == 403 and page.inner_text("#error-code") == "not_holder"

    # log out: back at the login page, and the token the cookie carried is revoked for the API too
    page.goto("/web/credentials")
    token = cookie["value"]
    with page.expect_navigation():
        page.click("#logout")
    assert "/web/login" in page.url
    assert not [c for c in page.context.cookies() if c["name"] == "al_session"]
    me = requests.get(site.url + "/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 401 and me.json()["error"]["code"] == "token_revoked"
    page.goto("/web/credentials")
    assert "/web/login" in page.url
