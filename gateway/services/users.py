"""Logins: create member and enterprise logins, authenticate, issue and revoke tokens."""

from __future__ import annotations

import re
import time

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chain.db import transaction
from gateway.auth.tokens import TokenClaims, TokenSigner, hash_password, verify_password
from gateway.models import RevokedToken, User

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$")
USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class UserError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def create_user(sessions: sessionmaker[Session], username: str, password: str, *, kind: str,
                member_address: str | None = None, uscc: str | None = None, scrypt_n: int = 2**15) -> User:
    """Create a login; member logins name an account, enterprise logins a USCC."""
    if not USERNAME.match(username):
        raise UserError("invalid_username", "username must be 3-64 of letters, digits, _ . @ -")
    if kind == "member":
        if not member_address or not ADDRESS.match(member_address):
            raise UserError("invalid_address", "a member login needs a 0x-prefixed 20-byte account address")
        from eth_utils import to_checksum_address

        member_address, uscc = to_checksum_address(member_address), None
    elif kind == "enterprise":
        if not uscc or not USCC.match(uscc):
            raise UserError("invalid_uscc", "an enterprise login needs an 18-character unified social credit code")
        member_address = None
    else:
        raise UserError("invalid_kind", "kind must be member or enterprise")
    try:
        hashed = hash_password(password, n=scrypt_n)
    except ValueError as exc:
        raise UserError("weak_password", str(exc)) from None
    try:
        with transaction(sessions) as s:
            user = User(username=username, password_hash=hashed, kind=kind, member_address=member_address,
                        uscc=uscc)
            s.add(user)
    except IntegrityError:
        raise UserError("username_taken", f"username {username!r} is already taken") from None
    return user


def authenticate(sessions: sessionmaker[Session], username: str, password: str) -> User:
    """The user for a correct username and password; the same error for any mismatch."""
    with sessions() as s:
        user = s.scalar(select(User).where(User.username == username))
    if user is None or user.disabled or not verify_password(password, user.password_hash):
        raise UserError("bad_credentials", "unknown username or wrong password")
    return user


def issue_token(signer: TokenSigner, user: User, department: str | None, roles: tuple[str, ...],
                ttl_seconds: int) -> tuple[str, TokenClaims]:
    subject = user.member_address if user.kind == "member" else user.uscc
    if user.kind == "enterprise":
        roles = ("enterprise",)
    return signer.issue(sub=subject, kind=user.kind, department=department, roles=roles, ttl_seconds=ttl_seconds)


def revoke_token(sessions: sessionmaker[Session], jti: str, expires_at: int) -> None:
    """Revoke a token by id; rows of tokens past their expiry are purged on the way."""
    with transaction(sessions) as s:
        s.execute(delete(RevokedToken).where(RevokedToken.expires_at < int(time.time())))
        if s.get(RevokedToken, jti) is None:
            s.add(RevokedToken(jti=jti, expires_at=expires_at))
