"""Keyed hashes (HMAC-SHA256 under the alliance secret) of identifiers that must not appear in clear.

Every construction is ``HMAC-SHA256(key, tag + b":" + normalised value)`` with a tag naming what
is hashed, so that equal people, phones or accounts hash equally across files and firms (which
is what agent-clustering checks need) while different kinds never collide:

==========  ================================================  ==========================================
tag         value                                             used for
==========  ================================================  ==========================================
``uscc``    the 18-character USCC, upper case                 the attestation subject
``id``      a party's identifier (resident ID number, or a    shareholders, officers, controllers
            corporate party's USCC), upper case, no spaces
``name``    a party's name, NFKC, inner whitespace removed    parties with no identifier in the export
``phone``   digits only, without a leading 86 / 0086 prefix   registry contact phone
``account`` bank account number, digits and letters only      payee accounts in bank files
==========  ================================================  ==========================================

``subject_hash`` is byte for byte ``gateway.services.licences.holder_hash``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9A-Z]")
_SPACE = re.compile(r"\s+")


def keyed_hash(hmac_key: bytes, tag: str, value: str) -> bytes:
    """HMAC-SHA256(key, tag:value) — 32 bytes."""
    if not hmac_key:
        raise ValueError("an HMAC key is required")
    return hmac.new(hmac_key, tag.encode("ascii") + b":" + value.encode("utf-8"), hashlib.sha256).digest()


def subject_hash(hmac_key: bytes, uscc: str) -> bytes:
    """The enterprise as the chain sees it: HMAC-SHA256(key, b"uscc:" + USCC)."""
    return keyed_hash(hmac_key, "uscc", uscc)


def normalise_name(name: str) -> str:
    """NFKC (full-width to half-width) with all whitespace removed."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", name))


def normalise_phone(phone: str) -> str:
    """Digits only; a leading +86 / 0086 country prefix on an 11-digit mobile number is dropped."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", phone) if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix):]
    return digits


def normalise_account(account: str) -> str:
    """Upper-case digits and letters only (spaces and dashes in printed account numbers dropped)."""
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", account).upper())


def party_hash(hmac_key: bytes, name: str, id_number: str | None = None) -> bytes:
    """A shareholder, officer or controller: by identifier (ID number or USCC) when given, else by name.

    A corporate party's hash is ``keyed_hash(key, "id", uscc)``, deliberately not its subject hash:
    an 18-digit USCC cannot always be told from an ID number, so both share one namespace.
    """
    ident = _SPACE.sub("", unicodedata.normalize("NFKC", id_number or "")).upper()
    if ident:
        return keyed_hash(hmac_key, "id", ident)
    name = normalise_name(name)
    if not name:
        raise ValueError("a party needs a name or an identifier")
    return keyed_hash(hmac_key, "name", name)


def phone_hash(hmac_key: bytes, phone: str) -> bytes:
    """A phone number, normalised by :func:`normalise_phone`."""
    digits = normalise_phone(phone)
    if len(digits) < 7:
        raise ValueError(f"not a phone number: {phone!r}")
    return keyed_hash(hmac_key, "phone", digits)


def account_hash(hmac_key: bytes, account: str) -> bytes:
    """A bank account number, normalised by :func:`normalise_account`."""
    number = normalise_account(account)
    if len(number) < 6:
        raise ValueError(f"not a bank account number: {account!r}")
    return keyed_hash(hmac_key, "account", number)
