"""Assembling the running product from a data directory: used by the CLI and by the tests."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chain.alliance import AllianceSpec, load_alliance
from chain.config import PASSPHRASE_ENV, Settings
from chain.connection import connect
from chain.db import make_engine, session_factory
from chain.errors import NodeUnavailable
from chain.keystore import Keyring, KeystoreError, seal_secret, unseal_secret, write_private_file
from chain.ledger import Ledger
from chain.node import AnvilNode
from chain.reconcile import earliest_timestamp
from gateway import db
from gateway.auth.tokens import TokenSigner, load_signing_key
from gateway.context import GatewayContext, department_signer
from gateway.documents.batcher import Batcher
from gateway.documents.vault import DocumentVault


def read_passphrase(confirm: bool = False) -> str:
    """The keystore passphrase from $ALLIANCE_PASSPHRASE, or a prompt when a terminal is attached."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        raise KeystoreError(f"no passphrase: set ${PASSPHRASE_ENV} or run in a terminal to be prompted")
    value = getpass.getpass("keystore passphrase: ")
    if confirm and getpass.getpass("again: ") != value:
        raise KeystoreError("the two passphrases differ")
    return value


@dataclass
class Runtime:
    settings: Settings
    spec: AllianceSpec
    ledger: Ledger
    node: AnvilNode | None

    def context(self, passphrase: str) -> GatewayContext:
        """The gateway's context: token signer, document vault, batcher, alliance HMAC key."""
        return build_context(self.settings, self.ledger, passphrase)

    def close(self) -> None:
        self.ledger.close()
        if self.node is not None:
            self.node.stop()


def ensure_secrets(settings: Settings, passphrase: str) -> None:
    """Create the sealed vault key and alliance HMAC key where a data directory lacks them."""
    for path in (settings.vault_key_file, settings.alliance_secret_file):
        if not path.exists():
            seal_secret(path, os.urandom(32), passphrase, settings.chain.keystore_scrypt_n)


ALLIANCE_SECRET_BYTES = 32


def read_alliance_secret(path: Path) -> bytes:
    """The alliance HMAC key from a file written by ``alliance secret export``: 64 hexadecimal characters."""
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise KeystoreError(f"no alliance secret file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeystoreError(f"alliance secret file {path} is unreadable: {type(exc).__name__}") from None
    try:
        secret = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        secret = b""
    if len(secret) != ALLIANCE_SECRET_BYTES:
        # never echo the content: it may be a secret of another kind
        raise KeystoreError(f"alliance secret file {path} must hold {2 * ALLIANCE_SECRET_BYTES} hexadecimal "
                            "characters, as written by `alliance secret export`")
    return secret


def import_alliance_secret(settings: Settings, secret: bytes, passphrase: str) -> None:
    """Seal a shared alliance HMAC key into a data directory (every gateway of the alliance needs the same
    one, or the keyed hashes of one enterprise differ between departments); refuses to replace another."""
    path = settings.alliance_secret_file
    if path.exists():
        if unseal_secret(path, passphrase) == secret:
            return
        raise KeystoreError(f"{path} already holds a different alliance secret; keyed hashes made under it "
                            "would no longer match")
    seal_secret(path, secret, passphrase, settings.chain.keystore_scrypt_n)


def export_alliance_secret(settings: Settings, passphrase: str, out: Path) -> None:
    """Write the alliance HMAC key in clear (hex) to ``out``, mode 0600, for another gateway's
    ``alliance init --alliance-secret-file``. Refuses to overwrite a file."""
    out = Path(out)
    if out.exists():
        raise KeystoreError(f"{out} exists; choose a new file")
    secret = unseal_secret(settings.alliance_secret_file, passphrase)
    write_private_file(out, (secret.hex() + "\n").encode("ascii"))


def build_context(settings: Settings, ledger: Ledger, passphrase: str) -> GatewayContext:
    ensure_secrets(settings, passphrase)
    signer = TokenSigner(load_signing_key(settings.token_key_file, passphrase), settings.gateway.token_issuer)
    docs = settings.documents
    vault = DocumentVault(settings.vault_dir, unseal_secret(settings.vault_key_file, passphrase), docs.cipher,
                          docs.max_bytes)
    batcher = Batcher(ledger, lambda dept: department_signer(ledger, dept), docs.batch_size, docs.batch_seconds)
    return GatewayContext(settings=settings, ledger=ledger, sessions=ledger.sessions, signer=signer, vault=vault,
                          batcher=batcher, hmac_key=unseal_secret(settings.alliance_secret_file, passphrase))


def embedded_node(settings: Settings, sessions) -> AnvilNode:
    chain_id = settings.chain.expected_chain_id or settings.node.chain_id
    return AnvilNode(settings.node, settings.node_dir, genesis_timestamp=lambda: earliest_timestamp(sessions, chain_id))


def _node_answers(settings: Settings) -> bool:
    try:
        connect(settings.effective_rpc_url, timeout=1.0)
        return True
    except NodeUnavailable:
        return False


@contextmanager
def open_runtime(settings: Settings, passphrase: str | None, *, start_node: bool = True,
                 keys: bool = True) -> Iterator[Runtime]:
    """Migrate the database, start the embedded node if needed, unlock keys, open the ledger.

    Without ``keys`` (read-only commands such as ``status``) no passphrase is needed.
    """
    db.upgrade(settings.effective_database_url)
    sessions = session_factory(make_engine(settings.effective_database_url))
    spec = load_alliance(settings.alliance_file)
    node = None
    if settings.embedded and start_node and not _node_answers(settings):
        node = embedded_node(settings, sessions)
        node.start()
    try:
        keyring = Keyring.unlock(settings.keystore_dir, passphrase) if keys else Keyring({})
        ledger = Ledger.open(settings, spec, keyring, sessions)
        runtime = Runtime(settings=settings, spec=spec, ledger=ledger, node=node)
        yield runtime
    except BaseException:
        if node is not None:
            node.stop()
        raise
    else:
        runtime.close()
