"""Tests for gateway.auth.tokens: signed bearer tokens, key storage, password hashing."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from gateway.auth.tokens import (
    TokenClaims,
    TokenError,
    TokenSigner,
    TokenVerifier,
    generate_signing_key,
    hash_password,
    load_signing_key,
    save_signing_key,
    verify_password,
)

ISSUER = "alliance-ledger/dept-finance"
NOW = 1_700_000_000
MEMBER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
FAST_N = 2**10


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner(generate_signing_key(), ISSUER)


def _issue(signer: TokenSigner, ttl: int = 3600, now: int = NOW) -> tuple[str, TokenClaims]:
    return signer.issue(MEMBER, "member", "finance", ("viewer", "approver"), ttl, now=now)


def _error_code(verify, token, **kwargs) -> str:
    with pytest.raises(TokenError) as info:
        verify(token, **kwargs)
    assert str(info.value)  # a human-readable message is always present
    return info.value.code


# --------------------------------------------------------------------------- #
# Tokens
# --------------------------------------------------------------------------- #


def test_round_trip_returns_issued_claims(signer: TokenSigner) -> None:
    token, issued = _issue(signer)
    claims = signer.verify(token, now=NOW + 10)
    assert claims == issued
    assert claims.sub == MEMBER
    assert claims.kind == "member"
    assert claims.department == "finance"
    assert claims.roles == ("viewer", "approver")
    assert (claims.iat, claims.exp) == (NOW, NOW + 3600)
    assert claims.iss == ISSUER
    assert len(claims.jti) == 32 and int(claims.jti, 16) >= 0


def test_enterprise_token_without_department_round_trips(signer: TokenSigner) -> None:
    token, issued = signer.issue("91350100M000100Y43", "enterprise", None, [], 60, now=NOW)
    claims = signer.verify(token, now=NOW)
    assert claims == issued
    assert claims.department is None and claims.roles == ()


def test_token_format_is_canonical_json_and_unpadded(signer: TokenSigner) -> None:
    token, issued = _issue(signer)
    payload, signature = token.split(".")
    assert "=" not in token
    raw = _b64url_decode(payload)
    assert raw == json.dumps(
        issued.to_json_dict(), sort_keys=True, separators=(",", ":")
    ).encode("ascii")
    assert len(_b64url_decode(signature)) == 64


def test_jti_is_unique_per_token(signer: TokenSigner) -> None:
    jtis = {_issue(signer)[1].jti for _ in range(20)}
    assert len(jtis) == 20


def test_tampered_payload_is_bad_signature(signer: TokenSigner) -> None:
    token, issued = _issue(signer)
    _, signature = token.split(".")
    forged = issued.to_json_dict() | {"roles": ["admin"]}
    payload = _b64url(json.dumps(forged, sort_keys=True, separators=(",", ":")).encode())
    assert _error_code(signer.verify, f"{payload}.{signature}", now=NOW) == "token_bad_signature"


def test_tampered_signature_is_bad_signature(signer: TokenSigner) -> None:
    token, _ = _issue(signer)
    payload, signature = token.split(".")
    raw = bytearray(_b64url_decode(signature))
    raw[0] ^= 0x01
    assert _error_code(signer.verify, f"{payload}.{_b64url(bytes(raw))}", now=NOW) == (
        "token_bad_signature"
    )


def test_token_from_another_key_is_bad_signature(signer: TokenSigner) -> None:
    other = TokenSigner(generate_signing_key(), ISSUER)
    token, _ = _issue(other)
    assert _error_code(signer.verify, token, now=NOW) == "token_bad_signature"


def test_expiry_is_strict(signer: TokenSigner) -> None:
    token, claims = _issue(signer, ttl=60)
    assert signer.verify(token, now=claims.exp - 1) == claims
    assert _error_code(signer.verify, token, now=claims.exp) == "token_expired"
    assert _error_code(signer.verify, token, now=claims.exp + 86_400) == "token_expired"


def test_issued_at_allows_30_seconds_of_skew(signer: TokenSigner) -> None:
    token, claims = _issue(signer)
    assert signer.verify(token, now=NOW - 30) == claims
    assert _error_code(signer.verify, token, now=NOW - 31) == "token_not_yet_valid"


def test_revoked_token_is_rejected(signer: TokenSigner) -> None:
    token, claims = _issue(signer)
    seen: list[str] = []

    def is_revoked(jti: str) -> bool:
        seen.append(jti)
        return jti == claims.jti

    assert _error_code(signer.verify, token, now=NOW, is_revoked=is_revoked) == "token_revoked"
    assert seen == [claims.jti]
    assert signer.verify(token, now=NOW, is_revoked=lambda jti: False) == claims


def test_wrong_issuer_is_rejected(signer: TokenSigner) -> None:
    token, _ = _issue(signer)
    verifier = TokenVerifier.from_public_pem(signer.public_key_pem(), "alliance-ledger/dept-hr")
    assert _error_code(verifier.verify, token, now=NOW) == "token_wrong_issuer"


def _signed_raw_payload(raw: bytes) -> tuple[TokenSigner, str]:
    """A correctly signed token whose payload is arbitrary bytes."""
    key = generate_signing_key()
    payload = _b64url(raw)
    token = f"{payload}.{_b64url(key.sign(payload.encode('ascii')))}"
    return TokenSigner(key, ISSUER), token


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "abc",
        "a.b.c",
        "a.b",
        "!!!.???",
        "eyJhIjoxfQ.not base64!",
        "eyJhIjoxfQ.",
        ".c2ln",
        "eyJhIjoxfQ.c2hvcnQ",  # signature decodes but is not 64 bytes
        "Bearer eyJhIjoxfQ.c2ln",
    ],
)
def test_garbage_is_malformed(signer: TokenSigner, garbage: str) -> None:
    assert _error_code(signer.verify, garbage, now=NOW) == "token_malformed"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"sub":"x"}',
        json.dumps(
            {
                "sub": MEMBER, "kind": "robot", "department": None, "roles": [],
                "iat": NOW, "exp": NOW + 60, "jti": "ab", "iss": ISSUER,
            }
        ).encode(),
    ],
)
def test_validly_signed_but_invalid_claims_are_malformed(raw: bytes) -> None:
    signer, token = _signed_raw_payload(raw)
    assert _error_code(signer.verify, token, now=NOW) == "token_malformed"


def test_missing_token(signer: TokenSigner) -> None:
    assert _error_code(signer.verify, None, now=NOW) == "token_missing"


def test_token_error_rejects_unknown_code() -> None:
    with pytest.raises(ValueError):
        TokenError("token_weird", "nope")


def test_verifier_from_public_pem_verifies_signer_tokens(signer: TokenSigner) -> None:
    token, issued = _issue(signer)
    pem = signer.public_key_pem()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    verifier = TokenVerifier.from_public_pem(pem, ISSUER)
    assert verifier.verify(token, now=NOW) == issued
    assert TokenVerifier.from_public_pem(pem.encode("ascii"), ISSUER).verify(token, now=NOW) == issued
    assert verifier.public_key_pem() == pem


def test_verifier_from_non_ed25519_pem_is_rejected() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError):
        TokenVerifier.from_public_pem(pem, ISSUER)


@pytest.mark.parametrize("ttl", [1, 3600, 30 * 24 * 3600])
def test_ttl_within_bounds_is_accepted(signer: TokenSigner, ttl: int) -> None:
    _, claims = _issue(signer, ttl=ttl)
    assert claims.exp - claims.iat == ttl


@pytest.mark.parametrize("ttl", [0, -1, 30 * 24 * 3600 + 1])
def test_ttl_out_of_bounds_is_rejected(signer: TokenSigner, ttl: int) -> None:
    with pytest.raises(ValueError):
        _issue(signer, ttl=ttl)


def test_invalid_kind_is_rejected_at_issue(signer: TokenSigner) -> None:
    with pytest.raises(ValueError):
        signer.issue(MEMBER, "robot", None, (), 60, now=NOW)


def test_claims_are_immutable(signer: TokenSigner) -> None:
    _, claims = _issue(signer)
    with pytest.raises(AttributeError):
        claims.sub = "0x0"  # type: ignore[misc]


# --------------------------------------------------------------------------- #
# Key storage
# --------------------------------------------------------------------------- #


def test_key_save_load_round_trip(tmp_path: Path) -> None:
    key = generate_signing_key()
    path = tmp_path / "token_signing.pem"
    save_signing_key(key, path, "correct horse battery staple")
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    loaded = load_signing_key(path, "correct horse battery staple")

    token, issued = TokenSigner(key, ISSUER).issue(MEMBER, "member", None, (), 60, now=NOW)
    assert TokenSigner(loaded, ISSUER).verify(token, now=NOW) == issued
    assert [p.name for p in tmp_path.iterdir()] == ["token_signing.pem"]  # no temp left


def test_saved_key_file_mode_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    save_signing_key(generate_signing_key(), path, "passphrase-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text("old")
    path.chmod(0o644)
    save_signing_key(generate_signing_key(), path, "passphrase-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    load_signing_key(path, "passphrase-1")


def test_wrong_passphrase_error(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    save_signing_key(generate_signing_key(), path, "passphrase-1")
    with pytest.raises(ValueError) as info:
        load_signing_key(path, "passphrase-2")
    assert str(info.value) == f"wrong passphrase for token signing key {path}"


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_signing_key(tmp_path / "absent.pem", "passphrase-1")


# --------------------------------------------------------------------------- #
# Passwords
# --------------------------------------------------------------------------- #


def test_password_hash_verifies() -> None:
    encoded = hash_password("s3cret-password", n=FAST_N)
    scheme, n, r, p, salt_b64, hash_b64 = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(FAST_N), "8", "1")
    assert len(base64.b64decode(salt_b64)) == 16
    assert len(base64.b64decode(hash_b64)) == 32
    assert verify_password("s3cret-password", encoded) is True
    assert verify_password("s3cret-passworD", encoded) is False
    assert verify_password("", encoded) is False


def test_default_cost_hash_verifies() -> None:
    encoded = hash_password("default-cost-pw")
    assert encoded.startswith(f"scrypt${2**15}$8$1$")
    assert verify_password("default-cost-pw", encoded) is True


def test_short_password_rejected() -> None:
    with pytest.raises(ValueError, match="password must be at least 8 characters"):
        hash_password("1234567", n=FAST_N)
    assert verify_password("12345678", hash_password("12345678", n=FAST_N))


def test_two_hashes_of_same_password_differ() -> None:
    first = hash_password("same-password", n=FAST_N)
    second = hash_password("same-password", n=FAST_N)
    assert first != second
    assert verify_password("same-password", first) and verify_password("same-password", second)


@pytest.mark.parametrize("encoded", ["", "bcrypt$x", "scrypt$1024$8$1$!!$!!", "scrypt$3$8$1$AA==$AA=="])
def test_malformed_password_hash_raises(encoded: str) -> None:
    with pytest.raises(ValueError):
        verify_password("whatever-pw", encoded)
