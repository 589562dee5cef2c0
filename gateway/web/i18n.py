"""Message catalogues: Chinese (default) and English, one JSON file each under ``i18n/``.

The language comes from ``?lang=`` (remembered in a cookie), then the ``lang`` cookie, then Chinese.
A key missing from the English catalogue falls back to Chinese, and a key missing from both is shown
as itself (tests/web/test_i18n.py checks that both catalogues have the same keys).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request

I18N_DIR = Path(__file__).resolve().parent / "i18n"
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "lang"


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    return json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def requested_language(request: Request) -> str | None:
    """The language asked for in this request's query string, if it is one we have."""
    lang = request.query_params.get("lang")
    return lang if lang in LANGUAGES else None


def language(request: Request) -> str:
    lang = requested_language(request) or request.cookies.get(LANG_COOKIE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


class Translator:
    """``t("key", name=value)``: the message in this language, with ``{name}`` filled in."""

    def __init__(self, lang: str):
        self.lang = lang
        self._messages = catalogue(lang)
        self._fallback = catalogue(DEFAULT_LANGUAGE)

    def __call__(self, key: str, **values: Any) -> str:
        text = self._messages.get(key) or self._fallback.get(key) or key
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._messages or key in self._fallback
