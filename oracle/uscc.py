"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

An 18-character code::

    position  1     registration authority code (登记管理部门码), e.g. 9 = market regulation
    position  2     entity type code (机构类别码), e.g. 1 = company
    positions 3-8   administrative division code of the registering authority (GB/T 2260), digits
    positions 9-17  organisation code (GB 11714: 8 body characters and their own check character)
    position  18    check character over positions 1-17 (this module)

The alphabet is the 31 characters ``0-9`` and ``A-Y`` without ``I O S V Z``. Position i (0-based)
weighs 3**i mod 31; the check character is the one whose value is ``31 - (sum mod 31)``, where 31
means 0. The organisation-code check (GB 11714, weights 3 7 9 10 5 8 4 2 mod 11, 10 = X, 11 = 0)
is offered by :func:`org_code_valid` but not enforced: codes issued to individual businesses
(个体工商户) do not always satisfy it.
"""

from __future__ import annotations

from functools import lru_cache

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


class InvalidUscc(ValueError):
    """The text is not a well-formed USCC; the message says why."""


def check_character(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a code."""
    if len(first17) != 17:
        raise InvalidUscc(f"need 17 characters to compute a check character, got {len(first17)}")
    try:
        total = sum(VALUES[ch] * w for ch, w in zip(first17, WEIGHTS))
    except KeyError as exc:
        raise InvalidUscc(f"character {exc.args[0]!r} is not allowed in a USCC") from None
    return ALPHABET[(31 - total % 31) % 31]


def org_check_character(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation-code body."""
    if len(body8) != 8:
        raise InvalidUscc(f"an organisation-code body has 8 characters, got {len(body8)}")
    total = 0
    for ch, w in zip(body8, ORG_WEIGHTS):
        if ch.isdigit():
            total += int(ch) * w
        elif "A" <= ch <= "Z":
            total += (ord(ch) - ord("A") + 10) * w
        else:
            raise InvalidUscc(f"character {ch!r} is not allowed in an organisation code")
    rest = 11 - total % 11
    return {10: "X", 11: "0"}.get(rest, str(rest))


def normalise(text: str) -> str:
    """Strip surrounding whitespace and upper-case (exports sometimes carry lower case)."""
    return text.strip().upper()


@lru_cache(maxsize=1 << 16)
def _problem(code: str) -> str | None:
    if len(code) != 18:
        return f"a USCC has 18 characters, got {len(code)}"
    bad = [ch for ch in code if ch not in VALUES]
    if bad:
        return f"character {bad[0]!r} is not allowed in a USCC"
    if not code[2:8].isdigit():
        return "positions 3-8 (administrative division code) must be digits"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r}, expected {expected!r}"
    return None


def validate(text: str) -> str:
    """The normalised code, or :class:`InvalidUscc` naming the first problem found."""
    code = normalise(text)
    problem = _problem(code)
    if problem:
        raise InvalidUscc(problem)
    return code


def is_valid(text: str) -> bool:
    """True when :func:`validate` accepts the text."""
    try:
        validate(text)
    except InvalidUscc:
        return False
    return True


def org_code_valid(code: str) -> bool:
    """True when positions 9-17 carry a correct GB 11714 organisation-code check character."""
    try:
        return org_check_character(code[8:16]) == code[16]
    except InvalidUscc:
        return False


def complete(first17: str) -> str:
    """The 18-character code made by appending the check character to 17 characters."""
    return first17 + check_character(first17)
