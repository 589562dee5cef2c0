"""The document vault: off-chain files, content-addressed by SHA-256, encrypted at rest.

Each object is stored once under ``<vault>/<sha256[:2]>/<sha256>`` as
``magic | cipher id | nonce | ciphertext+tag`` with AES-256-GCM (or SM4-GCM), the SHA-256 digest
as associated data. Reading decrypts and re-hashes: a file altered on disk is refused.
Every document also gets its SM3 digest; the on-chain leaf commits to both digests.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_utils import keccak

from chain.keystore import write_private_file

MAGIC = b"ALVAULT1"
CIPHERS = {"aes-256-gcm": 1, "sm4-gcm": 2}
LEAF_DOMAIN = b"alliance-ledger:document:v1"


class VaultError(ValueError):
    """A document is too large, missing, or its stored bytes fail authentication."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def document_leaf(sha256_digest: bytes, sm3_digest: bytes) -> bytes:
    """The Merkle leaf of a document: keccak256(domain | SHA-256 | SM3) — it commits to both digests."""
    return keccak(LEAF_DOMAIN + sha256_digest + sm3_digest)


@dataclass(frozen=True)
class Digests:
    sha256: str
    sm3: str
    size: int

    @property
    def leaf(self) -> str:
        return "0x" + document_leaf(bytes.fromhex(self.sha256), bytes.fromhex(self.sm3)).hex()


def digests(content: bytes) -> Digests:
    return Digests(sha256=hashlib.sha256(content).hexdigest(), sm3=sm3(content).hex(), size=len(content))


class _SM4GCM:
    """SM4 in GCM mode through ``cryptography``'s Cipher API (AEAD-like: tag appended)."""

    def __init__(self, key: bytes):
        self.key = key[:16]

    def encrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        enc = Cipher(algorithms.SM4(self.key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        return enc.update(data) + enc.finalize() + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        body, tag = data[:-16], data[-16:]
        dec = Cipher(algorithms.SM4(self.key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(aad)
        return dec.update(body) + dec.finalize()


class DocumentVault:
    def __init__(self, root: Path, key: bytes, cipher: str = "aes-256-gcm", max_bytes: int = 20 * 1024 * 1024):
        if cipher not in CIPHERS:
            raise ValueError(f"unknown cipher {cipher!r}; use one of {sorted(CIPHERS)}")
        if len(key) != 32:
            raise ValueError("the vault key must be 32 bytes")
        self.root = Path(root)
        self.key = key
        self.cipher = cipher
        self.max_bytes = max_bytes

    def _aead(self, cipher_id: int):
        return AESGCM(self.key) if cipher_id == CIPHERS["aes-256-gcm"] else _SM4GCM(self.key)

    def path_of(self, sha256_hex: str) -> Path:
        return self.root / sha256_hex[:2] / sha256_hex

    def check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise VaultError("document_too_large", f"document is {size} bytes; the limit is {self.max_bytes}")
        if size == 0:
            raise VaultError("document_empty", "document is empty")

    def put(self, content: bytes) -> Digests:
        """Store ``content`` (once per SHA-256); return its digests."""
        self.check_size(len(content))
        d = digests(content)
        path = self.path_of(d.sha256)
        if not path.exists():
            cipher_id = CIPHERS[self.cipher]
            nonce = os.urandom(12)
            aad = bytes.fromhex(d.sha256)
            blob = MAGIC + bytes([cipher_id]) + nonce + self._aead(cipher_id).encrypt(nonce, content, aad)
            write_private_file(path, blob)
        return d

    def get(self, sha256_hex: str) -> bytes:
        """The decrypted content; raises VaultError if absent or if the stored bytes were altered."""
        path = self.path_of(sha256_hex)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise VaultError("document_not_found", f"no stored document with SHA-256 {sha256_hex}") from None
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 1 + 12 + 16:
            raise VaultError("document_corrupt", f"stored document {sha256_hex} is not a vault object")
        cipher_id, nonce, body = blob[len(MAGIC)], blob[len(MAGIC) + 1:len(MAGIC) + 13], blob[len(MAGIC) + 13:]
        try:
            content = self._aead(cipher_id).decrypt(nonce, body, bytes.fromhex(sha256_hex))
        except (InvalidTag, ValueError):
            raise VaultError("document_corrupt", f"stored document {sha256_hex} fails authentication") from None
        if hashlib.sha256(content).hexdigest() != sha256_hex:
            raise VaultError("document_corrupt", f"stored document {sha256_hex} does not match its digest")
        return content

    def exists(self, sha256_hex: str) -> bool:
        return self.path_of(sha256_hex).exists()
