"""The alliance configuration file: departments, members, licence-type authorities, data sources
(一数一源: each data type's one authoritative department and its signature quorum), M of N."""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from eth_utils import to_checksum_address

from chain.roles import to_mask

log = logging.getLogger(__name__)

DEFAULT_ALLIANCE_FILE = Path(__file__).resolve().parent / "defaults" / "alliance.toml"
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
_MEMBER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class AllianceConfigError(ValueError):
    """The alliance file is missing, unreadable or inconsistent; the message names the problem."""


@dataclass(frozen=True)
class MemberSpec:
    department: str
    name: str
    roles: tuple[str, ...]
    # the member's account where this gateway does not hold its key (a department running its own
    # gateway sends it with `alliance members export`); the bootstrap needs every member's address
    address: str | None = None

    @property
    def alias(self) -> str:
        """The keystore alias: ``<department>-<name>``, e.g. ``MARKET-admin``."""
        return f"{self.department}-{self.name}"


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    name_en: str
    roles: tuple[str, ...]
    members: tuple[MemberSpec, ...]


@dataclass(frozen=True)
class LicenceTypeSpec:
    code: str
    name: str
    name_en: str
    issuers: tuple[str, ...]


@dataclass(frozen=True)
class DataSourceSpec:
    """A data type's one authoritative source: attestations need ``quorum`` signatures of distinct
    oracle members of department ``source``."""

    code: str
    source: str
    quorum: int
    name: str
    name_en: str


@dataclass(frozen=True)
class AllianceSpec:
    threshold: int
    proposal_lifetime_days: int
    departments: tuple[DepartmentSpec, ...]
    licence_types: tuple[LicenceTypeSpec, ...] = field(default_factory=tuple)
    data_sources: tuple[DataSourceSpec, ...] = field(default_factory=tuple)

    def department(self, code: str) -> DepartmentSpec:
        for d in self.departments:
            if d.code == code:
                return d
        raise KeyError(code)

    @property
    def members(self) -> tuple[MemberSpec, ...]:
        return tuple(m for d in self.departments for m in d.members)


def load_alliance(path: Path) -> AllianceSpec:
    """Read and validate an alliance TOML file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AllianceConfigError(f"alliance file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AllianceConfigError(f"alliance file {path} is not valid TOML: {exc}") from None
    return parse_alliance(data, source=str(path))


def _roles(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        raise AllianceConfigError(f"{where}: roles must be a non-empty list of role names")
    try:
        to_mask(value)
    except ValueError as exc:
        raise AllianceConfigError(f"{where}: {exc}") from None
    return tuple(r.lower() for r in value)


def parse_alliance(data: dict, source: str = "alliance file") -> AllianceSpec:
    departments: list[DepartmentSpec] = []
    seen: set[str] = set()
    raw_departments = data.get("departments") or []
    if not isinstance(raw_departments, list):
        raise AllianceConfigError(f"{source}: departments must be an array of tables ([[departments]])")
    for i, raw in enumerate(raw_departments):
        if not isinstance(raw, dict):
            raise AllianceConfigError(f"{source}: department #{i + 1} must be a table")
        code = str(raw.get("code", ""))
        where = f"{source}: department #{i + 1} ({code or 'no code'})"
        if not _CODE.match(code):
            raise AllianceConfigError(f"{where}: code must be 1-32 of A-Z, 0-9, _ starting with a letter")
        if code in seen:
            raise AllianceConfigError(f"{where}: duplicate department code")
        seen.add(code)
        if not raw.get("name") or not raw.get("name_en"):
            raise AllianceConfigError(f"{where}: name and name_en are required")
        roles = _roles(raw.get("roles"), where)
        members: list[MemberSpec] = []
        for m in raw.get("members") or []:
            if not isinstance(m, dict):
                raise AllianceConfigError(f"{where}: member {m!r} must be a table with name and roles")
            name = str(m.get("name", ""))
            mwhere = f"{where}: member {name or '(no name)'}"
            if not _MEMBER.match(name):
                raise AllianceConfigError(f"{mwhere}: name must be 1-32 of a-z, 0-9, _ or -")
            mroles = _roles(m.get("roles"), mwhere)
            extra = set(mroles) - set(roles)
            if extra:
                raise AllianceConfigError(f"{mwhere}: roles {sorted(extra)} are not held by the department")
            if any(x.name == name for x in members):
                raise AllianceConfigError(f"{mwhere}: duplicate member name")
            members.append(MemberSpec(department=code, name=name, roles=mroles,
                                      address=_address(m.get("address"), mwhere)))
        departments.append(
            DepartmentSpec(code=code, name=str(raw["name"]), name_en=str(raw["name_en"]), roles=roles,
                           members=tuple(members))
        )
    if not departments:
        raise AllianceConfigError(f"{source}: at least one department is required")
    departments = _with_addresses(departments, data.get("addresses"), source)
    threshold = data.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= len(departments):
        raise AllianceConfigError(
            f"{source}: threshold must be an integer from 1 to {len(departments)} (the number of departments)"
        )
    if not any("governor" in m.roles for d in departments for m in d.members):
        raise AllianceConfigError(f"{source}: at least one member needs the governor role")
    lifetime = data.get("proposal_lifetime_days", 14)
    if not isinstance(lifetime, int) or lifetime < 1:
        raise AllianceConfigError(f"{source}: proposal_lifetime_days must be a positive integer")
    licence_types: list[LicenceTypeSpec] = []
    for code, raw in (data.get("licence_types") or {}).items():
        where = f"{source}: licence type {code}"
        if not _CODE.match(code):
            raise AllianceConfigError(f"{where}: code must be 1-32 of A-Z, 0-9, _ starting with a letter")
        if not isinstance(raw, dict):
            raise AllianceConfigError(f"{where} must be a table with name, name_en and issuers")
        issuers = tuple(raw.get("issuers") or ())
        unknown = [c for c in issuers if c not in seen]
        if unknown:
            raise AllianceConfigError(f"{where}: unknown issuing department(s) {unknown}")
        licence_types.append(
            LicenceTypeSpec(code=code, name=str(raw.get("name", code)), name_en=str(raw.get("name_en", code)),
                            issuers=issuers)
        )
    return AllianceSpec(threshold=threshold, proposal_lifetime_days=lifetime, departments=tuple(departments),
                        licence_types=tuple(licence_types),
                        data_sources=_data_sources(data.get("data_sources"), departments, source))


def _address(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise AllianceConfigError(f"{where}: address must be 0x followed by 40 hexadecimal characters, got {value!r}")
    return to_checksum_address(value)


def _with_addresses(departments: list[DepartmentSpec], raw: object, source: str) -> list[DepartmentSpec]:
    """Apply the ``[addresses]`` table (``MARKET-admin = "0x..."``, the lines `alliance members export`
    prints) to the members; an address given both ways must agree, and no account may be two members."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise AllianceConfigError(f"{source}: addresses must be a table of member alias = \"0x...\"")
    known = {m.alias for d in departments for m in d.members}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise AllianceConfigError(f"{source}: [addresses] names unknown member(s) {unknown}; aliases are "
                                  "<DEPARTMENT>-<member name>, e.g. MARKET-admin")
    out: list[DepartmentSpec] = []
    owner: dict[str, str] = {}
    for d in departments:
        members = []
        for m in d.members:
            listed = _address(raw.get(m.alias), f"{source}: [addresses] {m.alias}")
            if listed and m.address and listed != m.address:
                raise AllianceConfigError(f"{source}: member {m.alias} has address {m.address} in its department "
                                          f"and {listed} in [addresses]")
            m = replace(m, address=m.address or listed)
            if m.address:
                if m.address in owner:
                    raise AllianceConfigError(f"{source}: address {m.address} is given to both {owner[m.address]} "
                                              f"and {m.alias}")
                owner[m.address] = m.alias
            members.append(m)
        out.append(replace(d, members=tuple(members)))
    return out


_MAX_QUORUM = 255  # the contracts' uint8


def _data_sources(raw_sources: object, departments: list[DepartmentSpec], source: str) -> tuple[DataSourceSpec, ...]:
    """``[data_sources.<TYPE>]`` tables: ``source`` department, ``quorum``, ``name``, ``name_en``."""
    if raw_sources is None:
        return ()
    if not isinstance(raw_sources, dict):
        raise AllianceConfigError(f"{source}: data_sources must be tables ([data_sources.<TYPE>])")
    by_code = {d.code: d for d in departments}
    out: list[DataSourceSpec] = []
    for code, raw in raw_sources.items():
        where = f"{source}: data source {code}"
        if not _CODE.match(code):
            raise AllianceConfigError(f"{where}: code must be 1-32 of A-Z, 0-9, _ starting with a letter")
        if not isinstance(raw, dict):
            raise AllianceConfigError(f"{where} must be a table with source, quorum, name and name_en")
        dept = by_code.get(str(raw.get("source", "")))
        if dept is None:
            raise AllianceConfigError(f"{where}: source must be one of the departments, not {raw.get('source')!r}")
        if "oracle" not in dept.roles:
            raise AllianceConfigError(f"{where}: source department {dept.code} does not hold the oracle role")
        quorum = raw.get("quorum", 1)
        if isinstance(quorum, bool) or not isinstance(quorum, int) or not 1 <= quorum <= _MAX_QUORUM:
            raise AllianceConfigError(f"{where}: quorum must be an integer from 1 to {_MAX_QUORUM}")
        oracles = sum(1 for m in dept.members if "oracle" in m.roles)
        if quorum > oracles:
            # allowed (members may be added by governance later), but nothing is accepted until then
            log.warning("%s: quorum %d exceeds the %d oracle member(s) of %s; no attestation can be accepted "
                        "until it has more", where, quorum, oracles, dept.code)
        if not raw.get("name") or not raw.get("name_en"):
            raise AllianceConfigError(f"{where}: name and name_en are required")
        out.append(DataSourceSpec(code=code, source=dept.code, quorum=quorum, name=str(raw["name"]),
                                  name_en=str(raw["name_en"])))
    return tuple(out)
