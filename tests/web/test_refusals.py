"""Pages refuse whoever the API would refuse: no session → the login page; a member without the role, an
enterprise on a members' page, a member on an enterprise page → a 403 page; a form without its CSRF token."""

from __future__ import annotations

import requests

from tests.web.conftest import Site, login, shot


def test_member_without_the_role_is_refused(site: Site, new_page) -> None:
    page = new_page()
    response = page.goto("/web/licences")
    assert "/web/login?next=/web/licences" in page.url and response.status == 200

    login(page, "tax")  # TAX: governor and oracle, no issuer
    assert "证照签发" not in page.inner_text("nav.main")  # not offered ...
    response = page.goto("/web/licences")  # ... and refused when asked for
    assert response.status == 403
    assert page.inner_text("#error-code") == "missing_role"
    assert "没有此页面所需的角色" in page.inner_text("#refusal")
    shot(page, "refusal-1-member-without-issuer-role-zh")
    assert page.goto("/web/credentials").status == 403 and page.inner_text("#error-code") == "forbidden_kind"
    # the API agrees with the page
    api = site.api("POST", "/licences", "tax", json={})
    assert api.status_code in (403, 422)

    enterprise = new_page()
    login(enterprise, "ent-b")
    for path in ("/web/alliance", "/web/licences"):
        response = enterprise.goto(path)
        assert response.status == 403 and enterprise.inner_text("#error-code") == "forbidden_kind"
    shot(enterprise, "refusal-2-enterprise-on-member-page-zh")


def test_forms_need_their_csrf_token(site: Site, new_page) -> None:
    page = new_page()
    login(page, "market")
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "al_session")
    draft = {"licence_type": "BUSINESS_LICENCE", "number": "CSRF-0001", "holder_uscc": site.uscc("ent-b"),
             "holder_name": "跨站请求有限公司", "valid_from": "2026-01-01"}
    for extra in ({}, {"csrf": "0" * 64}):
        r = requests.post(site.url + "/web/licences", data={**draft, **extra}, cookies={"al_session": session},
                          allow_redirects=False, timeout=30)
        assert r.status_code == 403 and "csrf_failed" in r.text
    assert site.api("GET", "/licences", "market", params={"licence_type": "BUSINESS_LICENCE",
                                                          "number": "CSRF-0001"}).status_code == 404
    # the login form too: without the pre-login cookie's value nobody is logged in
    r = requests.post(site.url + "/web/login", data={"username": "market", "password": "login-password-1"},
                      allow_redirects=False, timeout=30)
    assert r.status_code == 403 and "al_session" not in r.cookies
    # a login's "next" never leads to another site
    fresh = new_page()
    login(fresh, "market", next_path="//evil.example/steal")
    assert fresh.url == site.url + "/web"
