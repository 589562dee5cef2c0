"""USCC validation against published codes and an independent implementation of GB 32100-2015."""

from __future__ import annotations

import random

import pytest

from oracle import uscc

# Codes printed on real business licences / in public registries (check characters verified by hand).
PUBLISHED = [
    "91350100M000100Y43",  # the example commonly cited for the standard
    "914403001922038216",
    "9144030071526726XG",
    "91330100716105852F",
    "91110000802100433B",
    "911100007109288314",
    "91110108551385082Q",
    "91310000MA1FL1MMXL",
    "91440300708461136T",
]


def independent_check(first17: str) -> str:
    """GB 32100-2015 written from the standard's table, not from oracle.uscc."""
    table = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [pow(3, i, 31) for i in range(17)]
    remainder = sum(table.index(ch) * w for ch, w in zip(first17, weights)) % 31
    return table[(31 - remainder) % 31]


def test_weights_are_the_standards():
    assert list(uscc.WEIGHTS) == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    assert len(uscc.ALPHABET) == 31 and not set("IOSVZ") & set(uscc.ALPHABET)


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code):
    assert uscc.validate(code) == code
    assert uscc.is_valid(code.lower())
    assert uscc.org_code_valid(code)
    assert independent_check(code[:17]) == code[17]


@pytest.mark.parametrize("code", PUBLISHED)
def test_every_single_character_change_of_the_check_is_rejected(code):
    for ch in uscc.ALPHABET:
        if ch != code[17]:
            assert not uscc.is_valid(code[:17] + ch)


def test_agrees_with_independent_implementation_on_random_codes():
    rng = random.Random(5)
    for _ in range(2000):
        body = rng.choice("159Y") + rng.choice("123") + "".join(rng.choice("0123456789") for _ in range(6)) + \
            "".join(rng.choice(uscc.ALPHABET) for _ in range(9))
        assert uscc.check_character(body) == independent_check(body)
        assert uscc.is_valid(uscc.complete(body))


@pytest.mark.parametrize("text, reason", [
    ("91350100M000100Y4", "18 characters"),
    ("91350100M000100Y433", "18 characters"),
    ("91350100M000I00Y43", "not allowed"),
    ("91350100M000100Y4O", "not allowed"),
    ("913501A0M000100Y43", "division code"),
    ("91350100M000100Y44", "check character is '4', expected '3'"),
    ("", "18 characters"),
])
def test_invalid_codes_say_why(text, reason):
    with pytest.raises(uscc.InvalidUscc, match=reason):
        uscc.validate(text)


def test_normalises_case_and_spaces():
    assert uscc.validate("  91350100m000100y43 ") == "91350100M000100Y43"


def test_org_code_check_is_offered_not_enforced():
    body = "12345678"
    assert uscc.org_check_character(body) == "8"  # 3+14+27+40+25+48+28+16 = 201; 201 % 11 = 3; 11 - 3 = 8
    assert not uscc.org_code_valid("91350100123456780" + "X")
    assert uscc.is_valid(uscc.complete("91350100123456781"))  # wrong org check, still a valid USCC
