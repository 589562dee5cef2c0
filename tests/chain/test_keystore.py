"""chain.keystore: encrypted member keystores and the unlocked keyring."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from chain.keystore import Keyring, KeystoreError, create_keystore, keystore_address

PASSPHRASE = "correct horse battery"
N = 2**10


def test_create_unlock_round_trip(tmp_path: Path) -> None:
    ks = tmp_path / "keystore"
    a = create_keystore(ks, "MARKET-admin", PASSPHRASE, N)
    b = create_keystore(ks, "deployer", PASSPHRASE, N)
    assert a != b

    ring = Keyring.unlock(ks, PASSPHRASE)
    assert len(ring) == 2
    assert ring.aliases() == ["MARKET-admin", "deployer"]
    assert ring.account("MARKET-admin").address == a
    assert ring.account("deployer").address == b
    assert ring.by_address(a) is ring.account("MARKET-admin")
    assert ring.alias_of(b) == "deployer"
    assert ring.alias_of("0x" + "00" * 20) is None
    assert "deployer" in ring and "nobody" not in ring
    assert ring.addresses() == sorted([a, b])

    # the unlocked key really is the key for that address: it signs as that address
    signed = ring.account("MARKET-admin").sign_transaction(
        {"to": b, "value": 1, "gas": 21000, "gasPrice": 0, "nonce": 0, "chainId": 4242})
    assert Account.recover_transaction(signed.raw_transaction) == a


def test_keystore_file_is_private_and_encrypted(tmp_path: Path) -> None:
    ks = tmp_path / "keystore"
    address = create_keystore(ks, "FINANCE-admin", PASSPHRASE, N)
    path = ks / "FINANCE-admin.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    key_hex = Keyring.unlock(ks, PASSPHRASE).account("FINANCE-admin").key.hex().removeprefix("0x")
    assert len(key_hex) == 64
    assert key_hex.lower() not in text.lower()
    doc = json.loads(text)
    assert doc["crypto"]["kdf"] == "scrypt"
    assert doc["crypto"]["kdfparams"]["n"] == N
    assert doc["alias"] == "FINANCE-admin"
    # no temporary files left behind by the atomic write
    assert sorted(p.name for p in ks.iterdir()) == ["FINANCE-admin.json"]
    assert keystore_address(path) == address


def test_keystore_address_without_unlocking(tmp_path: Path) -> None:
    ks = tmp_path / "keystore"
    address = create_keystore(ks, "TAX-admin", PASSPHRASE, N)
    assert keystore_address(ks / "TAX-admin.json") == address  # checksummed, no passphrase needed
    assert address.startswith("0x") and address != address.lower()


def test_wrong_passphrase(tmp_path: Path) -> None:
    ks = tmp_path / "keystore"
    create_keystore(ks, "TAX-admin", PASSPHRASE, N)
    with pytest.raises(KeystoreError, match="wrong passphrase") as info:
        Keyring.unlock(ks, "not the passphrase")
    assert "TAX-admin.json" in str(info.value)


def test_duplicate_alias_refused_and_original_kept(tmp_path: Path) -> None:
    ks = tmp_path / "keystore"
    address = create_keystore(ks, "TAX-admin", PASSPHRASE, N)
    before = (ks / "TAX-admin.json").read_bytes()
    with pytest.raises(KeystoreError, match="already exists"):
        create_keystore(ks, "TAX-admin", "another passphrase", N)
    assert (ks / "TAX-admin.json").read_bytes() == before
    assert Keyring.unlock(ks, PASSPHRASE).account("TAX-admin").address == address


def test_short_passphrase_refused(tmp_path: Path) -> None:
    ks = tmp_path / "keystore"
    with pytest.raises(KeystoreError, match="at least 8 characters"):
        create_keystore(ks, "TAX-admin", "short", N)
    assert not (ks / "TAX-admin.json").exists()


@pytest.mark.parametrize("alias", ["", "../evil", "a/b", "-dash-first", "x" * 65, "has space"])
def test_bad_alias_refused(tmp_path: Path, alias: str) -> None:
    with pytest.raises(KeystoreError, match="alias"):
        create_keystore(tmp_path / "keystore", alias, PASSPHRASE, N)
    assert not (tmp_path / "evil.json").exists()


def test_unknown_alias_lookup(tmp_path: Path) -> None:
    ks = tmp_path / "keystore"
    create_keystore(ks, "TAX-admin", PASSPHRASE, N)
    ring = Keyring.unlock(ks, PASSPHRASE)
    with pytest.raises(KeystoreError, match="'MARKET-admin'"):
        ring.account("MARKET-admin")
    with pytest.raises(KeystoreError, match="0x0000000000000000000000000000000000000001"):
        ring.by_address("0x0000000000000000000000000000000000000001")
    with pytest.raises(KeystoreError, match="MARKET-admin"):
        Keyring.unlock(ks, PASSPHRASE, aliases=["TAX-admin", "MARKET-admin"])


def test_unlock_only_the_wanted_aliases(tmp_path: Path) -> None:
    ks = tmp_path / "keystore"
    create_keystore(ks, "TAX-admin", PASSPHRASE, N)
    create_keystore(ks, "MARKET-admin", "a different passphrase", N)
    ring = Keyring.unlock(ks, PASSPHRASE, aliases=["TAX-admin"])  # the other file is not even tried
    assert ring.aliases() == ["TAX-admin"]


def test_missing_keystore_directory_names_alliance_init(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="alliance init"):
        Keyring.unlock(tmp_path / "nope", PASSPHRASE)


def test_unreadable_keystore_is_a_keystore_error(tmp_path: Path) -> None:
    ks = tmp_path / "keystore"
    create_keystore(ks, "TAX-admin", PASSPHRASE, N)
    (ks / "broken.json").write_text("{not json")
    with pytest.raises(KeystoreError, match="broken.json"):
        Keyring.unlock(ks, PASSPHRASE)


@pytest.mark.parametrize("content", ['{"address": "00", "note": "not a keystore"}', "[]"])
def test_json_that_is_not_a_keystore_is_named(tmp_path: Path, content: str) -> None:
    ks = tmp_path / "keystore"
    create_keystore(ks, "TAX-admin", PASSPHRASE, N)
    (ks / "notes.json").write_text(content)
    with pytest.raises(KeystoreError, match="notes.json"):
        Keyring.unlock(ks, PASSPHRASE)
