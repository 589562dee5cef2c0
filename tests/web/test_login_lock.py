"""The login page shares the gateway's login throttling: after repeated wrong passwords for one username the
page says the login is locked and for how long (429), and even the right password is refused meanwhile;
other usernames still log in."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, Site, login, shot
from tests.web.subsidy_support import add_enterprise_login, new_uscc


def test_repeated_wrong_passwords_lock_the_login(site: Site, new_page) -> None:
    username = add_enterprise_login(site, new_uscc())
    page = new_page()
    statuses = []
    for _ in range(5):  # the default limit: five failures within fifteen minutes
        page.goto("/web/login")
        page.fill("#username", username)
        page.fill("#password", "not-the-password")
        with page.expect_navigation() as nav:
            page.click("#login-submit")
        statuses.append(nav.value.status)
    assert statuses == [401, 401, 401, 401, 429]
    assert "登录失败次数过多" in page.content() and "15分钟" in page.content()
    shot(page, "login-locked-zh")
    # the right password is refused while locked
    page.goto("/web/login?lang=en")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation() as nav:
        page.click("#login-submit")
    assert nav.value.status == 429 and "Too many failed logins" in page.content()
    assert "al_session" not in {c["name"] for c in page.context.cookies()}
    # the API agrees
    import requests

    r = requests.post(site.url + "/auth/login", json={"username": username, "password": PASSWORD}, timeout=30)
    assert r.status_code == 429 and r.json()["error"]["code"] == "login_locked"
    # someone else logs in as usual
    other = new_page()
    login(other, "ent-a")
    assert other.url.endswith("/web")
