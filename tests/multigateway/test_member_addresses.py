"""Members' addresses for a bootstrap run by an operator who holds none of their keys: the alliance
file's ``address`` per member or its ``[addresses]`` table (what `alliance members export` prints)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from eth_account import Account

from chain.alliance import DEFAULT_ALLIANCE_FILE, AllianceConfigError, parse_alliance
from chain.bootstrap import member_addresses
from chain.db import make_engine, session_factory
from chain.errors import DeploymentError
from chain.keystore import DEPLOYER_ALIAS, Keyring
from chain.ledger import Ledger
from tests.conftest import make_settings


def _spec(extra: str = "", **member_address: str):
    data = tomllib.loads(DEFAULT_ALLIANCE_FILE.read_text(encoding="utf-8") + extra)
    for dept in data["departments"]:
        for m in dept["members"]:
            alias = f"{dept['code']}-{m['name']}"
            if alias in member_address:
                m["address"] = member_address[alias]
    return parse_alliance(data)


def _addresses_table(spec_members, skip=()) -> tuple[str, dict[str, str]]:
    chosen = {m.alias: Account.create().address for m in spec_members if m.alias not in skip}
    return "\n[addresses]\n" + "".join(f'{a} = "{x}"\n' for a, x in chosen.items()), chosen


def test_addresses_from_the_table_and_per_member() -> None:
    plain = _spec()
    table, chosen = _addresses_table(plain.members, skip=("TAX-admin",))
    tax = Account.create().address
    spec = _spec(table, **{"TAX-admin": tax.lower()})
    got = {m.alias: m.address for m in spec.members}
    assert got == {**chosen, "TAX-admin": tax}  # checksummed
    # an operator holding only the deployer key resolves every member from the file
    assert member_addresses(spec, Keyring({DEPLOYER_ALIAS: Account.create()})) == got


def test_missing_conflicting_and_unknown_addresses_are_named() -> None:
    plain = _spec()
    table, chosen = _addresses_table(plain.members, skip=("APPROVAL-admin", "TALENT-admin"))
    with pytest.raises(AllianceConfigError, match=r"no address for member\(s\) APPROVAL-admin, TALENT-admin.*"
                                                  r"alliance members export"):
        member_addresses(_spec(table), Keyring({}))
    # a held key counts: it agrees with the file or is refused, naming the member
    spec = _spec(table, **{"APPROVAL-admin": Account.create().address})
    talent = Account.create()
    assert member_addresses(spec, Keyring({"TALENT-admin": talent}))["TALENT-admin"] == talent.address
    with pytest.raises(AllianceConfigError, match="MARKET-admin: the alliance file gives address"):
        member_addresses(spec, Keyring({"MARKET-admin": Account.create(), "TALENT-admin": talent}))
    with pytest.raises(AllianceConfigError, match=r"unknown member\(s\) \['MARKET-boss'\]"):
        _spec('\n[addresses]\nMARKET-boss = "0x' + "11" * 20 + '"\n')
    with pytest.raises(AllianceConfigError, match="address must be 0x"):
        _spec('\n[addresses]\nMARKET-admin = "0x1234"\n')
    same = Account.create().address
    with pytest.raises(AllianceConfigError, match="given to both"):
        _spec(f'\n[addresses]\nMARKET-admin = "{same}"\nTAX-admin = "{same}"\n')
    with pytest.raises(AllianceConfigError, match="in its department and"):
        _spec(f'\n[addresses]\nMARKET-admin = "{Account.create().address}"\n',
              **{"MARKET-admin": Account.create().address})


def test_operator_bootstraps_members_whose_keys_it_does_not_hold(tmp_path: Path, sqlite_url: str) -> None:
    """Deploy and bootstrap with the deployer key alone; a gateway without it can neither deploy nor
    bootstrap, but opens a bootstrapped deployment."""
    table, chosen = _addresses_table(_spec().members)
    spec = _spec(table)
    sessions = session_factory(make_engine(sqlite_url))
    department_only = Ledger.open(make_settings(tmp_path, sqlite_url), spec, Keyring({"MARKET-admin": Account.create()}),
                                  sessions)
    with pytest.raises(DeploymentError, match="holds no deployer key.*alliance deploy --join"):
        department_only.ensure_deployed()
    operator = Ledger.open(make_settings(tmp_path, sqlite_url), spec, Keyring({DEPLOYER_ALIAS: Account.create()}),
                           sessions, chain=department_only.chain)
    operator.ensure_deployed()
    department_only._attach(operator.manifest)
    with pytest.raises(DeploymentError, match="not bootstrapped yet and this gateway holds no deployer key"):
        department_only.bootstrap()
    report = operator.bootstrap()
    assert report.members == len(spec.members)
    f = operator.registry.functions
    assert all(f.getMember(address).call()[0] for address in chosen.values())
    assert department_only.bootstrap().already_sealed  # nothing to do: no deployer key needed
