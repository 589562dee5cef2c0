"""What the gateway's routes need, assembled once at start and passed to ``create_app``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from threading import Lock

from sqlalchemy.orm import Session, sessionmaker

from chain.config import Settings
from chain.ledger import Ledger
from gateway.auth.tokens import TokenSigner
from gateway.documents.batcher import Batcher
from gateway.documents.vault import DocumentVault
from gateway.services.users import LoginThrottle


@dataclass
class MemberCache:
    """Short-lived cache of on-chain member records, so that each request checks the chain's roles
    without a node round trip every time. Entries live ``ttl`` seconds."""

    ttl: float = 5.0
    _data: dict[str, tuple[float, tuple[bool, str, int]]] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def get(self, ledger: Ledger, address: str) -> tuple[bool, str, int]:
        """(active and department active, department code, role mask) of ``address``."""
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(address)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        from chain.roles import bytes32_to_code

        registry = ledger.registry
        active, dept, roles = registry.functions.getMember(address).call()
        dept_active = bool(active) and registry.functions.getDepartment(dept).call()[0]
        value = (bool(dept_active), bytes32_to_code(dept) if dept_active else "", int(roles) if dept_active else 0)
        with self._lock:
            self._data[address] = (now, value)
        return value

    def forget(self, address: str | None = None) -> None:
        with self._lock:
            if address is None:
                self._data.clear()
            else:
                self._data.pop(address, None)


@dataclass
class GatewayContext:
    settings: Settings
    ledger: Ledger
    sessions: sessionmaker[Session]
    signer: TokenSigner
    vault: DocumentVault
    batcher: Batcher
    hmac_key: bytes  # the alliance secret: identifiers go on-chain only as HMACs under it
    members: MemberCache = field(default_factory=MemberCache)
    login_throttle: LoginThrottle = field(init=False)

    def __post_init__(self) -> None:
        g = self.settings.gateway
        self.login_throttle = LoginThrottle(
            max_failures=g.login_max_failures, max_failures_per_address=g.login_max_failures_per_address,
            window_seconds=g.login_window_seconds, lock_seconds=g.login_lock_seconds)


def department_signer(ledger: Ledger, department: str, roles: tuple[str, ...] = ("issuer", "operator")):
    """An unlocked key of ``department`` holding one of ``roles`` (for department-level acts such
    as anchoring a batch); raises KeystoreError naming the department when this gateway has none."""
    from chain.keystore import KeystoreError
    from chain.roles import to_mask

    wanted = to_mask(roles)
    for member in ledger.spec.members:
        if member.department == department and to_mask(member.roles) & wanted and member.alias in ledger.keyring:
            return ledger.keyring.account(member.alias)
    raise KeystoreError(f"this gateway holds no {'/'.join(roles)} key of department {department}")
