"""Ed25519-signed bearer tokens, signing-key storage and scrypt password hashing.

Token format (no base64 padding anywhere)::

    base64url(canonical JSON of the claims) + "." + base64url(Ed25519 signature)

The canonical JSON has sorted keys, no spaces and is pure ASCII. The signature
covers the ASCII bytes of the first (payload) segment exactly as transmitted.

Everything here is stateless: keys and issuers are passed in explicitly and
revocation is delegated to a caller-supplied ``is_revoked(jti)`` callback.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from chain.keystore import write_private_file

__all__ = [
    "CLOCK_SKEW_SECONDS",
    "MAX_TTL_SECONDS",
    "TOKEN_ERROR_CODES",
    "TokenClaims",
    "TokenError",
    "TokenSigner",
    "TokenVerifier",
    "generate_signing_key",
    "hash_password",
    "load_signing_key",
    "save_signing_key",
    "verify_password",
]

CLOCK_SKEW_SECONDS = 30
"""Tolerated clock skew when checking that ``iat`` is not in the future."""

MAX_TTL_SECONDS = 30 * 24 * 3600
"""Longest token lifetime ``TokenSigner.issue`` accepts (30 days)."""

TOKEN_ERROR_CODES = frozenset(
    {
        "token_missing",
        "token_malformed",
        "token_bad_signature",
        "token_expired",
        "token_not_yet_valid",
        "token_revoked",
        "token_wrong_issuer",
    }
)

TOKEN_KINDS = frozenset({"member", "enterprise"})

_CLAIM_KEYS = frozenset({"sub", "kind", "department", "roles", "iat", "exp", "jti", "iss"})
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_ED25519_SIGNATURE_LEN = 64
_JTI_BYTES = 16  # 128 bits

_SCRYPT_R = 8
_SCRYPT_P = 1
_SCRYPT_SALT_LEN = 16
_SCRYPT_DK_LEN = 32
_SCRYPT_MIN_N = 2**10
_SCRYPT_MAX_N = 2**20
_MIN_PASSWORD_LEN = 8


# --------------------------------------------------------------------------- #
# Errors and claims
# --------------------------------------------------------------------------- #


class TokenError(Exception):
    """A bearer token was rejected.

    ``code`` is a stable machine-readable reason (one of ``TOKEN_ERROR_CODES``);
    ``message`` (also ``str(exc)``) is a one-line human explanation.
    """

    def __init__(self, code: str, message: str) -> None:
        if code not in TOKEN_ERROR_CODES:
            raise ValueError(f"unknown token error code {code!r}")
        super().__init__(message)
        self.code: str = code
        self.message: str = message

    def __repr__(self) -> str:
        return f"TokenError(code={self.code!r}, message={self.message!r})"


@dataclass(frozen=True)
class TokenClaims:
    """The signed content of a bearer token."""

    sub: str
    """Member address (0x checksum string) or enterprise USCC."""
    kind: str
    """``"member"`` or ``"enterprise"``."""
    department: str | None
    roles: tuple[str, ...]
    iat: int
    """Issued-at, Unix seconds."""
    exp: int
    """Expiry, Unix seconds; the token is invalid from this instant on."""
    jti: str
    """Unique token id (128-bit random, lowercase hex)."""
    iss: str
    """Issuer name."""

    def to_json_dict(self) -> dict[str, Any]:
        """Return the claims as a JSON-ready dict (``roles`` as a list)."""
        return {
            "sub": self.sub,
            "kind": self.kind,
            "department": self.department,
            "roles": list(self.roles),
            "iat": self.iat,
            "exp": self.exp,
            "jti": self.jti,
            "iss": self.iss,
        }

    @classmethod
    def from_json_dict(cls, data: Any) -> TokenClaims:
        """Build claims from a decoded JSON object; ValueError if it is not well formed."""
        if not isinstance(data, dict) or set(data) != _CLAIM_KEYS:
            raise ValueError("claims must be an object with exactly the expected keys")
        roles = data["roles"]
        if not isinstance(roles, list):
            raise ValueError("roles must be a list")
        claims = cls(
            sub=data["sub"],
            kind=data["kind"],
            department=data["department"],
            roles=tuple(roles),
            iat=data["iat"],
            exp=data["exp"],
            jti=data["jti"],
            iss=data["iss"],
        )
        _validate_claims(claims)
        return claims


def _is_int(value: Any) -> bool:
    """True for real ints (``bool`` excluded)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _validate_claims(claims: TokenClaims) -> None:
    """Raise ValueError if any claim has the wrong type or an impossible value."""
    for name in ("sub", "jti", "iss"):
        if not _is_nonempty_str(getattr(claims, name)):
            raise ValueError(f"claim {name!r} must be a non-empty string")
    if claims.kind not in TOKEN_KINDS:
        raise ValueError(f"claim 'kind' must be one of {sorted(TOKEN_KINDS)}")
    if claims.department is not None and not _is_nonempty_str(claims.department):
        raise ValueError("claim 'department' must be null or a non-empty string")
    if not all(_is_nonempty_str(role) for role in claims.roles):
        raise ValueError("claim 'roles' must contain non-empty strings only")
    if not (_is_int(claims.iat) and _is_int(claims.exp)):
        raise ValueError("claims 'iat' and 'exp' must be integers")
    if claims.exp <= claims.iat:
        raise ValueError("claim 'exp' must be after 'iat'")


# --------------------------------------------------------------------------- #
# Encoding helpers
# --------------------------------------------------------------------------- #


def _b64url_encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Strict inverse of ``_b64url_encode``; ValueError on anything else."""
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError("not unpadded base64url") from exc
    if _b64url_encode(raw) != text:  # reject non-canonical trailing bits
        raise ValueError("non-canonical base64url")
    return raw


def _canonical_json(obj: Any) -> bytes:
    """Sorted keys, no whitespace, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _now(now: int | None) -> int:
    return int(time.time()) if now is None else now


# --------------------------------------------------------------------------- #
# Verification
# --------------------------------------------------------------------------- #


class TokenVerifier:
    """Verifies tokens using only the issuer's public key."""

    def __init__(self, public_key: Ed25519PublicKey, issuer: str) -> None:
        if not isinstance(public_key, Ed25519PublicKey):
            raise TypeError("public_key must be an Ed25519PublicKey")
        if not _is_nonempty_str(issuer):
            raise ValueError("issuer must be a non-empty string")
        self._public_key = public_key
        self._issuer = issuer

    @classmethod
    def from_public_pem(cls, pem: bytes | str, issuer: str) -> TokenVerifier:
        """Build a verifier from a SubjectPublicKeyInfo PEM Ed25519 public key."""
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("PEM does not contain an Ed25519 public key")
        return cls(key, issuer)

    @property
    def issuer(self) -> str:
        """The issuer name tokens must carry in ``iss``."""
        return self._issuer

    def public_key_pem(self) -> str:
        """The public key as SubjectPublicKeyInfo PEM text."""
        return self._public_key.public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        ).decode("ascii")

    def verify(
        self,
        token: str,
        now: int | None = None,
        is_revoked: Callable[[str], bool] | None = None,
    ) -> TokenClaims:
        """Check signature, issuer, validity window and revocation; return the claims.

        Raises ``TokenError`` whose ``code`` tells why the token was rejected.
        ``token_missing`` is raised for ``None``; any non-token string
        (including ``""``) is ``token_malformed``.
        """
        payload_b64, signature = self._split(token)
        self._check_signature(payload_b64, signature)
        claims = self._decode_claims(payload_b64)
        self._check_issuer(claims)
        self._check_times(claims, _now(now))
        if is_revoked is not None and is_revoked(claims.jti):
            raise TokenError("token_revoked", "token has been revoked")
        return claims

    @staticmethod
    def _split(token: str) -> tuple[str, bytes]:
        """Split into (payload segment, raw signature) or raise token_malformed/missing."""
        if token is None:
            raise TokenError("token_missing", "no bearer token was supplied")
        if not isinstance(token, str):
            raise TokenError("token_malformed", "token must be a string")
        parts = token.split(".")
        if len(parts) != 2:
            raise TokenError("token_malformed", "token must have exactly two dot-separated parts")
        payload_b64, signature_b64 = parts
        try:
            _b64url_decode(payload_b64)
            signature = _b64url_decode(signature_b64)
        except ValueError as exc:
            raise TokenError("token_malformed", "token parts are not valid base64url") from exc
        if len(signature) != _ED25519_SIGNATURE_LEN:
            raise TokenError("token_malformed", "token signature has the wrong length")
        return payload_b64, signature

    def _check_signature(self, payload_b64: str, signature: bytes) -> None:
        try:
            self._public_key.verify(signature, payload_b64.encode("ascii"))
        except InvalidSignature as exc:
            raise TokenError("token_bad_signature", "token signature is not valid") from exc

    @staticmethod
    def _decode_claims(payload_b64: str) -> TokenClaims:
        try:
            data = json.loads(_b64url_decode(payload_b64).decode("utf-8"))
            return TokenClaims.from_json_dict(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenError("token_malformed", f"token claims are invalid: {exc}") from exc

    def _check_issuer(self, claims: TokenClaims) -> None:
        if claims.iss != self._issuer:
            raise TokenError(
                "token_wrong_issuer",
                f"token issued by {claims.iss!r}, expected {self._issuer!r}",
            )

    @staticmethod
    def _check_times(claims: TokenClaims, now: int) -> None:
        if claims.iat > now + CLOCK_SKEW_SECONDS:
            raise TokenError("token_not_yet_valid", "token issue time is in the future")
        if now >= claims.exp:
            raise TokenError("token_expired", "token has expired")


# --------------------------------------------------------------------------- #
# Signing
# --------------------------------------------------------------------------- #


class TokenSigner:
    """Issues tokens with an Ed25519 private key; also verifies them."""

    def __init__(self, private_key: Ed25519PrivateKey, issuer: str) -> None:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("private_key must be an Ed25519PrivateKey")
        self._private_key = private_key
        self._verifier = TokenVerifier(private_key.public_key(), issuer)

    @property
    def issuer(self) -> str:
        """The issuer name written into ``iss``."""
        return self._verifier.issuer

    @property
    def verifier(self) -> TokenVerifier:
        """A public-key-only verifier for this signer's tokens."""
        return self._verifier

    def public_key_pem(self) -> str:
        """The public key as SubjectPublicKeyInfo PEM text (for ``TokenVerifier.from_public_pem``)."""
        return self._verifier.public_key_pem()

    def issue(
        self,
        sub: str,
        kind: str,
        department: str | None,
        roles: Iterable[str],
        ttl_seconds: int,
        now: int | None = None,
    ) -> tuple[str, TokenClaims]:
        """Create and sign a token valid for ``ttl_seconds`` from ``now``.

        Raises ValueError if ``ttl_seconds`` is not in (0, 30 days] or a claim is invalid.
        """
        if not _is_int(ttl_seconds) or not 0 < ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"ttl_seconds must be an integer in (0, {MAX_TTL_SECONDS}]")
        if isinstance(roles, str):
            raise ValueError("roles must be an iterable of strings, not a string")
        iat = _now(now)
        claims = TokenClaims(
            sub=sub,
            kind=kind,
            department=department,
            roles=tuple(roles),
            iat=iat,
            exp=iat + ttl_seconds,
            jti=secrets.token_hex(_JTI_BYTES),
            iss=self.issuer,
        )
        _validate_claims(claims)
        return self._sign(claims), claims

    def _sign(self, claims: TokenClaims) -> str:
        payload_b64 = _b64url_encode(_canonical_json(claims.to_json_dict()))
        signature = self._private_key.sign(payload_b64.encode("ascii"))
        return f"{payload_b64}.{_b64url_encode(signature)}"

    def verify(
        self,
        token: str,
        now: int | None = None,
        is_revoked: Callable[[str], bool] | None = None,
    ) -> TokenClaims:
        """Same as ``TokenVerifier.verify`` with this signer's public key and issuer."""
        return self._verifier.verify(token, now=now, is_revoked=is_revoked)


# --------------------------------------------------------------------------- #
# Signing-key storage
# --------------------------------------------------------------------------- #


def generate_signing_key() -> Ed25519PrivateKey:
    """Generate a fresh Ed25519 token signing key."""
    return Ed25519PrivateKey.generate()


def save_signing_key(key: Ed25519PrivateKey, path: Path, passphrase: str) -> None:
    """Write ``key`` as passphrase-encrypted PKCS8 PEM to ``path`` (mode 0600), atomically."""
    if not passphrase:
        raise ValueError("passphrase must not be empty")
    path = Path(path)
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )
    write_private_file(path, pem)


def load_signing_key(path: Path, passphrase: str) -> Ed25519PrivateKey:
    """Load an encrypted PKCS8 PEM Ed25519 key written by ``save_signing_key``.

    Raises FileNotFoundError if ``path`` is missing and ValueError on a wrong
    passphrase or a file that is not an encrypted Ed25519 key.
    """
    path = Path(path)
    data = path.read_bytes()
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in data:
        raise ValueError(f"token signing key {path} is not an encrypted PKCS8 PEM file")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"wrong passphrase for token signing key {path}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"token signing key {path} is not an Ed25519 key")
    return key


# --------------------------------------------------------------------------- #
# Password hashing
# --------------------------------------------------------------------------- #


def _check_scrypt_n(n: int) -> None:
    if not _is_int(n) or n < _SCRYPT_MIN_N or n > _SCRYPT_MAX_N or n & (n - 1):
        raise ValueError(f"scrypt n must be a power of two in [{_SCRYPT_MIN_N}, {_SCRYPT_MAX_N}]")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    maxmem = 2 * 128 * r * n * p + 2**20  # OpenSSL's 32 MiB default is too tight for n=2**15
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen)


def hash_password(password: str, *, n: int = 2**15) -> str:
    """Hash ``password`` with scrypt; returns ``scrypt$n$r$p$salt_b64$hash_b64``."""
    if len(password) < _MIN_PASSWORD_LEN:
        raise ValueError("password must be at least 8 characters")
    _check_scrypt_n(n)
    salt = secrets.token_bytes(_SCRYPT_SALT_LEN)
    digest = _scrypt(password, salt, n, _SCRYPT_R, _SCRYPT_P, _SCRYPT_DK_LEN)
    salt_b64 = base64.b64encode(salt).decode("ascii")
    hash_b64 = base64.b64encode(digest).decode("ascii")
    return f"scrypt${n}${_SCRYPT_R}${_SCRYPT_P}${salt_b64}${hash_b64}"


def _parse_password_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    """Split an encoded hash into (n, r, p, salt, digest); ValueError if malformed."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("malformed password hash")
    try:
        n, r, p = (int(field) for field in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError("malformed password hash") from exc
    _check_scrypt_n(n)
    if r != _SCRYPT_R or p != _SCRYPT_P or not salt or len(digest) != _SCRYPT_DK_LEN:
        raise ValueError("malformed password hash")
    return n, r, p, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """True iff ``password`` matches ``encoded`` (constant-time comparison).

    Raises ValueError if ``encoded`` is not a hash produced by ``hash_password``.
    """
    n, r, p, salt, expected = _parse_password_hash(encoded)
    actual = _scrypt(password, salt, n, r, p, len(expected))
    return hmac.compare_digest(actual, expected)
