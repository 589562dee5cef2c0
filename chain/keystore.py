"""Encrypted member keystores (Web3 Secret Storage v3, scrypt KDF), one file per account.

Keys are only ever held in memory after unlocking with the passphrase; they are never written
in clear and never logged (``LocalAccount`` does not print its key).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.files import fsync_directory

DEPLOYER_ALIAS = "deployer"
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class KeystoreError(ValueError):
    """A keystore could not be created or unlocked; the message names the file."""


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically: temp file, fsync, rename, fsync dir."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def create_keystore(directory: Path, alias: str, passphrase: str, scrypt_n: int) -> str:
    """Generate a new key, store it encrypted as ``<directory>/<alias>.json``; return its address."""
    if not _ALIAS.match(alias):
        raise KeystoreError(f"keystore alias {alias!r} must be 1-64 of letters, digits, _ or -")
    if len(passphrase) < 8:
        raise KeystoreError("keystore passphrase must be at least 8 characters")
    path = Path(directory) / f"{alias}.json"
    if path.exists():
        raise KeystoreError(f"keystore {path} already exists")
    account = Account.create()
    doc = Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=scrypt_n)
    doc["alias"] = alias
    write_private_file(path, json.dumps(doc).encode())
    return account.address


def keystore_address(path: Path) -> str:
    """The (public) address recorded in a keystore file, without unlocking it."""
    from eth_utils import to_checksum_address

    return to_checksum_address("0x" + json.loads(Path(path).read_text())["address"].removeprefix("0x"))


class Keyring:
    """Unlocked accounts by alias (e.g. ``MARKET-admin``) and by address."""

    def __init__(self, accounts: dict[str, LocalAccount]):
        self._by_alias = dict(accounts)
        self._by_address = {a.address: a for a in accounts.values()}
        self._alias_of = {a.address: alias for alias, a in accounts.items()}

    @classmethod
    def unlock(cls, directory: Path, passphrase: str, aliases: Iterable[str] | None = None) -> "Keyring":
        """Decrypt the keystores in ``directory`` (all, or only ``aliases``)."""
        directory = Path(directory)
        if not directory.is_dir():
            raise KeystoreError(f"no keystore directory at {directory}: run `alliance init` first")
        wanted = set(aliases) if aliases is not None else None
        accounts: dict[str, LocalAccount] = {}
        for path in sorted(directory.glob("*.json")):
            alias = path.stem
            if wanted is not None and alias not in wanted:
                continue
            try:
                doc = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise KeystoreError(f"keystore {path} is unreadable: {exc}") from None
            try:
                key = Account.decrypt(doc, passphrase)
            except ValueError:
                raise KeystoreError(f"wrong passphrase for keystore {path}") from None
            except (KeyError, TypeError) as exc:
                raise KeystoreError(f"keystore {path} is not a Web3 Secret Storage file: {exc!r}") from None
            accounts[alias] = Account.from_key(key)
        if wanted is not None and wanted - accounts.keys():
            raise KeystoreError(f"no keystore for {sorted(wanted - accounts.keys())} in {directory}")
        return cls(accounts)

    def __contains__(self, alias: str) -> bool:
        return alias in self._by_alias

    def __len__(self) -> int:
        return len(self._by_alias)

    def account(self, alias: str) -> LocalAccount:
        try:
            return self._by_alias[alias]
        except KeyError:
            raise KeystoreError(f"no unlocked key for {alias!r}") from None

    def by_address(self, address: str) -> LocalAccount:
        try:
            return self._by_address[address]
        except KeyError:
            raise KeystoreError(f"no unlocked key for account {address}") from None

    def alias_of(self, address: str) -> str | None:
        return self._alias_of.get(address)

    def aliases(self) -> list[str]:
        return sorted(self._by_alias)

    def addresses(self) -> list[str]:
        return sorted(self._by_address)


# ---------------------------------------------------------------------------- sealed secrets

_SECRET_MAGIC = b"ALSECRET1"


def seal_secret(path: Path, secret: bytes, passphrase: str, scrypt_n: int) -> None:
    """Store a symmetric secret (vault key, alliance HMAC key) encrypted with the passphrase:
    scrypt(passphrase, salt) → AES-256-GCM. File mode 0600."""
    import hashlib

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = os.urandom(16), os.urandom(12)
    key = hashlib.scrypt(passphrase.encode(), salt=salt, n=scrypt_n, r=8, p=1, dklen=32, maxmem=2**30)
    header = _SECRET_MAGIC + scrypt_n.to_bytes(4, "big") + salt + nonce
    write_private_file(Path(path), header + AESGCM(key).encrypt(nonce, secret, header))


def unseal_secret(path: Path, passphrase: str) -> bytes:
    """Read a secret written by ``seal_secret``; a wrong passphrase raises KeystoreError."""
    import hashlib

    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        blob = Path(path).read_bytes()
    except FileNotFoundError:
        raise KeystoreError(f"no sealed secret at {path}: run `alliance init` first") from None
    m = len(_SECRET_MAGIC)
    if not blob.startswith(_SECRET_MAGIC) or len(blob) < m + 4 + 16 + 12 + 16:
        raise KeystoreError(f"{path} is not a sealed secret file")
    n = int.from_bytes(blob[m:m + 4], "big")
    salt, nonce = blob[m + 4:m + 20], blob[m + 20:m + 32]
    header, body = blob[:m + 32], blob[m + 32:]
    key = hashlib.scrypt(passphrase.encode(), salt=salt, n=n, r=8, p=1, dklen=32, maxmem=2**30)
    try:
        return AESGCM(key).decrypt(nonce, body, header)
    except InvalidTag:
        raise KeystoreError(f"wrong passphrase for {path}") from None
