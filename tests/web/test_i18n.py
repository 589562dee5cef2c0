"""The message catalogues: Chinese and English have the same keys, every key a template names exists, and
every role, check, status and proposal action the pages show has a message in both languages."""

from __future__ import annotations

import re

from chain.roles import ROLE_BITS
from gateway.routers.web_alliance import ACTION_FIELDS
from gateway.services.alliance import STATUSES
from gateway.verification.licences import STATUS_NAMES
from gateway.web.i18n import LANGUAGES, catalogue
from gateway.web.render import NAV, TEMPLATES_DIR

LITERAL_KEY = re.compile(r"""\bt\(\s*'([a-z0-9_.\-]+)'""")


def test_catalogues_have_the_same_keys_and_no_empty_message() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en), sorted(set(zh) ^ set(en))
    for lang in LANGUAGES:
        assert all(isinstance(v, str) and v.strip() for v in catalogue(lang).values()), lang


def test_every_literal_key_in_the_templates_exists() -> None:
    used = {key for path in TEMPLATES_DIR.rglob("*.html") for key in LITERAL_KEY.findall(path.read_text("utf-8"))}
    assert len(used) > 50
    missing = sorted(k for k in used if k not in catalogue("zh") and not k.endswith("."))
    assert not missing, missing


def test_dynamic_keys_cover_every_value_shown() -> None:
    zh = catalogue("zh")
    expected = [f"role.{r}" for r in ROLE_BITS] + [f"al.action.{a}" for a in ACTION_FIELDS] \
        + [f"al.pstatus.{s}" for s in STATUSES] + [f"al.f.{f}" for fields in ACTION_FIELDS.values() for f in fields] \
        + [f"status.{s}" for s in ("VALID", "INVALID", "SKIPPED", "ERROR")] \
        + [f"verdict.{s}" for s in ("VALID", "INVALID", "ERROR")] \
        + [f"lstatus.{s}" for s in (*STATUS_NAMES, "pending")] \
        + [f"fragment.{f}" for f in ("OpenAttestationHash", "LicenceRecord", "LicenceIssued", "LicenceStatus",
                                     "LicenceValidity", "IssuerAuthority", "RecordConsistency")]
    expected += [k for _, key, _ in NAV for k in (key, f"{key}.hint")]  # the menu and the home page's tiles
    assert [k for k in expected if k not in zh] == []
