"""A payout batch for the synthetic district: finance's export (``payout_batch.csv``) and the
bank's return file (``bank_return.csv``).

The batch holds every firm whose anomaly shows at payout (see :data:`anomalies.PAYOUT_KINDS`) and
is filled up with normal firms; about 3 % of the normal lines fail at the bank (a routine event,
listed in the ground truth but not counted as an anomaly).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from oracle.facts import CST
from oracle.sample import words
from oracle.sample.anomalies import Truth
from oracle.sample.firms import Firm

FAILURE_SHARE = 0.03


@dataclass
class PayoutLine:
    line_no: int
    firm: Firm
    approved: int  # fen, on-chain approval
    exported: int  # fen, in finance's batch file
    returned: int  # fen, in the bank's return file
    status: str
    failure_reason: str = ""
    bank_reference: str = ""
    paid_at: datetime | None = None


def build_batch(rng: random.Random, firms: list[Firm], truth: Truth, size: int, as_of: date
                ) -> tuple[str, list[PayoutLine]]:
    """(batch id, lines)."""
    batch_id = f"PB{as_of:%Y%m%d}-001"
    anomalous = truth.anomalous
    chosen = [f for f in firms if f.uscc in truth.payout_kinds]
    normal = [f for f in firms if f.uscc not in anomalous]
    chosen += rng.sample(normal, max(0, min(len(normal), size - len(chosen))))
    rng.shuffle(chosen)
    entries: list[tuple[Firm, str]] = []
    for firm in chosen:
        kind = truth.payout_kinds.get(firm.uscc, "")
        entries.append((firm, kind))
        if kind == "paid_twice":
            entries.append((firm, kind))
    lines: list[PayoutLine] = []
    approvals: dict[str, int] = {}
    for number, (firm, kind) in enumerate(entries, start=1):
        approved = approvals.setdefault(firm.uscc, rng.choice((5, 10, 20, 30, 50)) * 1_000_000)
        exported = approved + (rng.randint(1, 50) * 100_000 if kind == "overpaid" else 0)
        returned = exported + (rng.choice((-1, 1)) if kind == "rounding_difference" else 0)
        line = PayoutLine(number, firm, approved, exported, returned, "paid")
        if not kind and firm.uscc not in anomalous and rng.random() < FAILURE_SHARE:
            line.status, line.failure_reason = "failed", rng.choice(words.FAILURE_REASONS)
        else:
            day = as_of - timedelta(days=rng.randint(1, 10))
            line.paid_at = datetime.combine(day, time(rng.randint(9, 16), rng.randrange(60), rng.randrange(60)), CST)
            line.bank_reference = f"{rng.choice(words.BANK_PREFIXES)}{day:%Y%m%d}{rng.randrange(10**8):08d}"
        lines.append(line)
    return batch_id, lines
