"""Browser tests: real headless Chromium (Debian's ``chromium`` package) driven by Playwright against a real
gateway (`alliance up`: embedded anvil node, SQLite), one gateway shared by all the web tests.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (or ``$ALLIANCE_CHROMIUM``); `make setup`
installs it with apt-get where it is missing and we are root. Without it these tests are skipped, saying why.
Screenshots go to ``.artifacts/screenshots/`` (gitignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import FAST_SCRYPT, PASSPHRASE, free_port
from tests.integration.conftest import Product

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".artifacts" / "screenshots"
CHROMIUM = os.environ.get("ALLIANCE_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "login-password-1"
# two enterprises with valid unified social credit codes (GB 32100 check characters)
ENTERPRISE_A = "91350102MA2XYW001"
ENTERPRISE_B = "91350103MA2XYW002"


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make setup installs it from requirements.lock)"
    path = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    if not path or not os.access(path, os.X_OK):
        return (f"no Chromium at {CHROMIUM}: install Debian's package (`apt-get install chromium`, which `make setup` "
                "does as root) or set $ALLIANCE_CHROMIUM")
    return None


SCITECH_MEMBERS = 'members = [{ name = "admin", roles = ["governor", "issuer", "policy", "reviewer"] }]'
SCITECH_WITH_REVIEWERS = ('members = [{ name = "admin", roles = ["governor", "issuer", "policy", "reviewer"] },\n'
                          '           { name = "rev1", roles = ["reviewer"] }, { name = "rev2", roles = ["reviewer"] },\n'
                          '           { name = "rev3", roles = ["reviewer"] }]')


def write_alliance(path: Path) -> None:
    """The default alliance with three more SCITECH reviewers (the three review levels need three people)."""
    from chain.alliance import DEFAULT_ALLIANCE_FILE

    text = DEFAULT_ALLIANCE_FILE.read_text(encoding="utf-8")
    at = text.index(SCITECH_MEMBERS, text.index('code = "SCITECH"'))
    path.write_text(text[:at] + SCITECH_WITH_REVIEWERS + text[at + len(SCITECH_MEMBERS):], encoding="utf-8")


def uscc(first17: str) -> str:
    from oracle.uscc import complete

    return complete(first17)


@dataclass
class Site:
    """The running product, its logins, and API helpers for setting the scene."""

    product: Product
    logins: dict[str, str] = field(default_factory=dict)  # username → "member:DEPT" or "enterprise:USCC"
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.product.url

    def uscc(self, username: str) -> str:
        kind, _, code = self.logins[username].partition(":")
        assert kind == "enterprise", username
        return code

    def token(self, username: str) -> str:
        if username not in self._tokens:
            r = requests.post(self.url + "/auth/login", json={"username": username, "password": PASSWORD}, timeout=30)
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["token"]
        return self._tokens[username]

    def api(self, method: str, path: str, username: str, **kwargs) -> requests.Response:
        return requests.request(method, self.url + path, headers={"Authorization": f"Bearer {self.token(username)}"},
                                timeout=120, **kwargs)

    def issue(self, username: str = "market", **draft) -> dict:
        r = self.api("POST", "/licences", username, json=draft)
        assert r.status_code == 201, r.text
        return r.json()


def member_username(department: str, name: str) -> str:
    """A department's admin logs in as the department code in lower case (ip-office for IP); another
    member as ``code-name`` (e.g. scitech-rev1)."""
    if name != "admin":
        return f"{department.lower()}-{name}"
    return department.lower() if len(department) >= 3 else f"{department.lower()}-office"


def _create_logins(product: Product) -> dict[str, str]:
    """A login per member (see ``member_username``) and two enterprises, written straight into the
    gateway's database before it starts."""
    from chain.alliance import load_alliance
    from chain.config import load_settings
    from chain.db import make_engine, session_factory
    from chain.keystore import keystore_address
    from gateway import db
    from gateway.services.users import create_user

    settings = load_settings(product.data_dir)
    db.upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    sessions = session_factory(engine)
    spec = load_alliance(settings.data_dir / "alliance.toml")
    logins = {}
    for member in spec.members:
        address = keystore_address(settings.keystore_dir / f"{member.alias}.json")
        username = member_username(member.department, member.name)
        create_user(sessions, username, PASSWORD, kind="member", member_address=address, scrypt_n=FAST_SCRYPT)
        logins[username] = f"member:{member.department}"
    for username, code in (("ent-a", uscc(ENTERPRISE_A)), ("ent-b", uscc(ENTERPRISE_B))):
        create_user(sessions, username, PASSWORD, kind="enterprise", uscc=code, scrypt_n=FAST_SCRYPT)
        logins[username] = f"enterprise:{code}"
    engine.dispose()
    return logins


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    reason = why_no_browser()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "ALLIANCE_PASSPHRASE": PASSPHRASE}
    root = tmp_path_factory.mktemp("web")
    write_alliance(root / "alliance.toml")
    product = Product(data_dir=root / "data", node_port=free_port(), gateway_port=free_port(), env=env)
    product.cli("init", "--node-port", str(product.node_port), "--gateway-port", str(product.gateway_port),
                "--scrypt-n", str(FAST_SCRYPT), "--alliance", str(root / "alliance.toml"))
    logins = _create_logins(product)
    product.up(timeout=180)
    yield Site(product=product, logins=logins)
    product.stop()
    product.kill_node()


@pytest.fixture(scope="session")
def browser(site: Site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=shutil.which(CHROMIUM) or CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.web_failed = report.failed


@pytest.fixture
def new_page(browser, site: Site, request: pytest.FixtureRequest):
    """``new_page()``: a page in a fresh browser context (its own cookies), Chinese locale, downloads on.
    When the test fails, every page it opened is saved (screenshot and HTML) beside the screenshots."""
    contexts = []

    def make(locale: str = "zh-CN"):
        context = browser.new_context(base_url=site.url, locale=locale, accept_downloads=True,
                                      viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield make
    if getattr(request.node, "web_failed", False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                stem = SCREENSHOTS / f"FAILED-{request.node.name}-{i}-{j}"
                try:
                    page.screenshot(path=f"{stem}.png", full_page=True)
                    (stem.with_suffix(".html")).write_text(page.content(), encoding="utf-8")
                except Exception:  # noqa: BLE001 - a page that cannot be saved must not hide the failure
                    pass
    for context in contexts:
        context.close()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, username: str, password: str = PASSWORD, next_path: str | None = None) -> None:
    page.goto("/web/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("#login-submit")
