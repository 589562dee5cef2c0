"""Logins: create member and enterprise logins, authenticate, issue and revoke tokens."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

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


class LoginLocked(UserError):
    """Too many failed logins for this username (``scope="username"``) or from this address (``"address"``):
    no password is even checked until ``retry_after`` seconds have passed."""

    def __init__(self, scope: str, retry_after: int):
        minutes = max(1, math.ceil(retry_after / 60))
        what = "this username" if scope == "username" else "this network address"
        super().__init__("login_locked", f"too many failed logins for {what}: logins are locked for another "
                                         f"{minutes} minute(s); try again later")
        self.scope = scope
        self.retry_after = retry_after


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


# ---------------------------------------------------------------------------- login throttling

class LoginThrottle:
    """Failed logins counted per username and per client address within a sliding window; reaching the limit
    locks that username (or address) for ``lock_seconds``. While locked, no password is checked at all, so
    guessing gains nothing; a successful login clears the username's count (never the address's).

    The counts live in this gateway process (they reset when it restarts); each gateway process keeps its
    own. Behind a reverse proxy every client shares the proxy's address: hence the generous address limit."""

    def __init__(self, *, max_failures: int = 5, max_failures_per_address: int = 30, window_seconds: int = 900,
                 lock_seconds: int = 900, clock: Callable[[], float] = time.monotonic):
        if min(max_failures, max_failures_per_address, window_seconds, lock_seconds) < 1:
            raise ValueError("login throttle limits and periods must be positive")
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.window_seconds = window_seconds
        self.lock_seconds = lock_seconds
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._locked_until: dict[tuple[str, str], float] = {}
        self._mutex = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("username", username.strip().lower()), ("address", address or "unknown")

    def _limit(self, key: tuple[str, str]) -> int:
        return self.max_failures if key[0] == "username" else self.max_failures_per_address

    def _purge(self, now: float) -> None:
        for key in [k for k, until in self._locked_until.items() if until <= now]:
            del self._locked_until[key]
        for key in [k for k, times in self._failures.items() if not times or times[-1] <= now - self.window_seconds]:
            del self._failures[key]

    def check(self, username: str, address: str) -> None:
        """Raise LoginLocked if the username or the address is locked now."""
        now = self.clock()
        with self._mutex:
            for key in self._keys(username, address):
                until = self._locked_until.get(key)
                if until is not None and until > now:
                    raise LoginLocked(key[0], math.ceil(until - now))

    def failed(self, username: str, address: str) -> None:
        """Count a failed login; raise LoginLocked if this failure reaches a limit."""
        now = self.clock()
        locked: tuple[str, int] | None = None
        with self._mutex:
            if len(self._failures) > 10_000:
                self._purge(now)
            for key in self._keys(username, address):
                times = self._failures.setdefault(key, deque())
                times.append(now)
                while times and times[0] <= now - self.window_seconds:
                    times.popleft()
                if len(times) >= self._limit(key):
                    self._locked_until[key] = now + self.lock_seconds
                    times.clear()
                    locked = locked or (key[0], self.lock_seconds)
        if locked:
            raise LoginLocked(*locked)

    def succeeded(self, username: str) -> None:
        with self._mutex:
            self._failures.pop(self._keys(username, "")[0], None)

    def clear(self) -> None:
        with self._mutex:
            self._failures.clear()
            self._locked_until.clear()


def login_throttle(ctx: Any) -> LoginThrottle:
    """The login throttle of a gateway: one per gateway context, limits from ``[gateway] login_*``."""
    return ctx.login_throttle


def authenticate_throttled(sessions: sessionmaker[Session], throttle: LoginThrottle, username: str, password: str,
                           address: str) -> User:
    """``authenticate`` behind the throttle: LoginLocked while locked (no password checked), a failure
    counted on a wrong password (LoginLocked if it reaches the limit), the count cleared on success."""
    throttle.check(username, address)
    try:
        user = authenticate(sessions, username, password)
    except UserError:
        throttle.failed(username, address)
        raise
    throttle.succeeded(username)
    return user
