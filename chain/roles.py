"""Role names and their bits, mirroring contracts/src/AllianceRoles.sol."""

from __future__ import annotations

from collections.abc import Iterable

ROLE_BITS: dict[str, int] = {
    "governor": 1 << 0,
    "issuer": 1 << 1,
    "policy": 1 << 2,
    "reviewer": 1 << 3,
    "finance": 1 << 4,
    "inspector": 1 << 5,
    "oracle": 1 << 6,
    "operator": 1 << 7,
}
ALL_ROLES = sum(ROLE_BITS.values())


class UnknownRoleError(ValueError):
    """A role name that the contracts do not define."""


def to_mask(roles: Iterable[str]) -> int:
    """Role names → bit mask; raises UnknownRoleError naming the first unknown role."""
    mask = 0
    for role in roles:
        if not isinstance(role, str):
            raise UnknownRoleError(f"role {role!r} must be a role name, one of: {', '.join(ROLE_BITS)}")
        bit = ROLE_BITS.get(role.strip().lower())
        if bit is None:
            raise UnknownRoleError(f"unknown role {role!r} (known: {', '.join(ROLE_BITS)})")
        mask |= bit
    return mask


def to_names(mask: int) -> tuple[str, ...]:
    """Bit mask → role names in their canonical order."""
    return tuple(name for name, bit in ROLE_BITS.items() if mask & bit)


def code_to_bytes32(code: str) -> bytes:
    """A short ASCII code (department or licence type) as the contracts' bytes32."""
    raw = code.encode("ascii")
    if not raw or len(raw) > 32:
        raise ValueError(f"code {code!r} must be 1 to 32 ASCII characters")
    return raw.ljust(32, b"\0")


def bytes32_to_code(value: bytes) -> str:
    """The contracts' bytes32 back to its short code."""
    return bytes(value).rstrip(b"\0").decode("ascii")
