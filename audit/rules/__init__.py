"""The 29 supervision points of the 3-6-29 system, in catalogue order (see docs/audit_points.md).

Each point is a :class:`~audit.rules.base.Rule`: id, stage, subject, titles, method, why it is a
risk, what trips each level, exclusions, a test case in words, default thresholds, the events it
concerns and its vectorised evaluation. :func:`rule` looks one up by id.
"""

from __future__ import annotations

from audit.rules import apply, notice, payout, publish, review, use
from audit.rules.base import Ctx, Fact, Outcome, Rule, Workdays

RULES: tuple[Rule, ...] = tuple(publish.RULES + apply.RULES + review.RULES + notice.RULES + payout.RULES + use.RULES)
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}

assert len(RULES) == 29 and len(BY_ID) == 29


def rule(point_id: str) -> Rule:
    try:
        return BY_ID[point_id]
    except KeyError:
        raise KeyError(f"no supervision point {point_id!r}") from None


__all__ = ["RULES", "BY_ID", "rule", "Rule", "Ctx", "Fact", "Outcome", "Workdays"]
