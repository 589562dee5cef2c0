"""What a supervision rule hands to the alert store: one finding per (point, subject).

A finding is a risk signal, not a verdict. The rules (``audit.rules``) produce findings from a
ledger snapshot; the alert store (``audit.alerts``) turns them into alerts: new, raised,
unchanged or cleared, idempotently, keyed by ``Finding.key``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Level(IntEnum):
    """The three layers of the 3-6-29 system, ordered so a worse level compares greater."""

    PROMPT = 1  # 提示: the handling officer's work list
    WARNING = 2  # 预警: the department head, with a rectification deadline
    ALARM = 3  # 报警: the discipline commission; an on-chain hold freezes the payout


STAGES = ("publish", "apply", "review", "notice", "payout", "use")
SUBJECT_TYPES = ("policy", "application", "payout", "enterprise")


@dataclass(frozen=True)
class Finding:
    point_id: str  # "PUB1" … "USE4"
    level: Level
    stage: str  # one of STAGES
    subject_type: str  # one of SUBJECT_TYPES
    subject_id: str  # policy id, application id (0x… bytes32 hex) or payout batch:line
    rule_version: str  # e.g. "PUB1@3": the version of the rule and thresholds that raised it
    facts: dict[str, Any] = field(default_factory=dict)  # JSON-able: what tripped it, each with its source
    department: str | None = None  # the department responsible for the subject
    amount_fen: int | None = None  # money at stake, where there is some
    application_id: str | None = None  # the application an alarm would hold, where there is one

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of the alert this finding feeds: a re-scan updates it, never duplicates it."""
        return (self.point_id, self.subject_type, self.subject_id)
