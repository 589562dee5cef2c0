"""Fragments and verdicts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

VALID, INVALID, SKIPPED, ERROR = "VALID", "INVALID", "SKIPPED", "ERROR"


@dataclass
class Fragment:
    """One check: its name, what kind of property it checks, its outcome and why."""

    name: str
    type: str  # DOCUMENT_INTEGRITY | DOCUMENT_STATUS | ISSUER_IDENTITY | RECORD_CONSISTENCY
    status: str
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict`` of the fragment, without its generic (and slow) recursion."""
        return {"name": self.name, "type": self.type, "status": self.status, "reason": self.reason,
                "data": asdict(self)["data"] if _nested(self.data) else dict(self.data)}


def _nested(data: dict[str, Any]) -> bool:
    return any(isinstance(v, (dict, list, tuple)) or hasattr(v, "__dataclass_fields__") for v in data.values())


@dataclass
class Verdict:
    fragments: list[Fragment]

    @property
    def status(self) -> str:
        statuses = {f.status for f in self.fragments}
        if INVALID in statuses:
            return INVALID
        if ERROR in statuses:
            return ERROR
        return VALID if VALID in statuses else ERROR

    @property
    def valid(self) -> bool:
        return self.status == VALID

    def failed(self) -> list[Fragment]:
        return [f for f in self.fragments if f.status in (INVALID, ERROR)]

    def to_dict(self) -> dict[str, Any]:
        status = self.status
        return {"status": status, "valid": status == VALID, "fragments": [f.to_dict() for f in self.fragments],
                "failed": [f.name for f in self.failed()]}


def run(name: str, type_: str, check) -> Fragment:
    """Run a check function returning (status, reason, data); an exception becomes an ERROR fragment."""
    try:
        status, reason, data = check()
        return Fragment(name, type_, status, reason, data or {})
    except Exception as exc:  # a node that does not answer, malformed input: say so, never VALID
        return Fragment(name, type_, ERROR, f"{type(exc).__name__}: {exc}"[:300])
