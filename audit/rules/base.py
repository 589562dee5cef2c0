"""What a supervision rule is, and the vectorised helpers the 29 rules share.

A rule evaluates a set of subjects at once: ``idx`` is an array of row numbers of its subject table
(all rows in a full scan, the few rows an event touches otherwise). It returns an :class:`Outcome`
with, per subject, the level (0 = no finding, 1 prompt, 2 warning, 3 alarm), whether it could be
evaluated, whether it was skipped because a fact it needs is unknown, and the facts to report.
Group-level figures (clusters, peer statistics, duplicates) are computed once over the whole
snapshot and cached on it, so a rule gives the same answer for a subject whether it runs in a full
scan or for one event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from audit.snapshot import NA, Snapshot

SUBJECT_TABLE = {"policy": "policies", "application": "applications", "payout": "payout_lines"}
ABSENT = -2  # code of a value the snapshot never saw: equal to no column value, not even unknown (-1)


@dataclass(frozen=True)
class Fact:
    """One fact of an outcome: values aligned with ``idx`` and where they come from."""

    values: np.ndarray
    source: str  # "table.column" (see audit.snapshot.SCHEMA for its provenance)
    kind: str = "int"  # int | money | date | flag | code | float | ratio
    domain: str = ""  # code: the vocabulary


@dataclass
class Outcome:
    level: np.ndarray  # int8 per idx
    evaluated: np.ndarray  # bool per idx
    missing: np.ndarray  # bool per idx: in scope but a needed fact is unknown
    facts: dict[str, Fact] = field(default_factory=dict)


Evaluate = Callable[["Ctx", np.ndarray], Outcome]


@dataclass(frozen=True)
class Rule:
    """One supervision point: identity, documentation, default thresholds and its evaluation."""

    id: str
    stage: str
    subject: str  # policy | application | payout
    title_zh: str
    title_en: str
    method: str
    why: str
    levels: tuple[str, str, str]  # what trips prompt / warning / alarm ("" = not defined)
    exclusions: str
    example: str  # the test case, in words (see tests/audit/test_rules_*.py)
    defaults: dict[str, Any]
    events: tuple[str, ...]
    evaluate: Evaluate
    revision: int = 1  # bump when the method changes
    sources: str = ""

    def version(self, params: dict[str, Any] | None = None) -> str:
        """``ID@revision+hash``: the hash is over the effective thresholds, so changing one changes it."""
        p = {**self.defaults, **(params or {})}
        blob = json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in sorted(p.items())},
                          sort_keys=True, ensure_ascii=False).encode()
        return f"{self.id}@{self.revision}+{hashlib.sha256(blob).hexdigest()[:8]}"


# ---------------------------------------------------------------------- working days


class Workdays:
    """Vectorised working-day arithmetic over a fixed span of days, consistent with WorkCalendar."""

    def __init__(self, calendar: Any, lo: int, hi: int):
        from audit.snapshot import EPOCH_ORDINAL
        from datetime import date

        self.base = lo - 1
        flags = np.fromiter((calendar.is_workday(date.fromordinal(d + EPOCH_ORDINAL)) for d in range(lo, hi + 1)),
                            dtype=np.int32, count=hi - lo + 1)
        self.cum = np.concatenate([[0], np.cumsum(flags)]).astype(np.int64)  # cum[k]: WD in (base, base+k]
        self.hi = hi

    def _i(self, d: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(d, dtype=np.int64) - self.base, 0, len(self.cum) - 1)

    def between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Working days in (a, b]; negative when b < a."""
        return self.cum[self._i(b)] - self.cum[self._i(a)]

    def add(self, a: np.ndarray, n: np.ndarray | int) -> np.ndarray:
        """The date n working days after a (within the span the object was built for)."""
        n = np.asarray(n, dtype=np.int64)
        target = self.cum[self._i(a)] + n
        later = np.searchsorted(self.cum, target, side="left").astype(np.int64) + self.base
        return np.where(n == 0, np.asarray(a, dtype=np.int64), later)


# ---------------------------------------------------------------------- context


class Ctx:
    """What a rule sees: the snapshot, its thresholds and the working-day arithmetic."""

    def __init__(self, snap: Snapshot, wd: Workdays, params: dict[str, Any]):
        self.s = snap
        self.p = params
        self.wdays = wd
        self.today = snap.as_of

    def wd(self, a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
        return self.wdays.between(a, np.broadcast_to(np.asarray(b), np.shape(a)))

    def code(self, domain: str, value: str) -> int:
        """The code of a vocabulary value; -2 (matches no row, not even unknown -1) when the snapshot never saw it."""
        v = self.s.code(domain, value)
        return v if v >= 0 else ABSENT

    def codes(self, domain: str, values: tuple[str, ...] | list[str]) -> np.ndarray:
        c = [self.s.code(domain, v) for v in values]
        return np.array([x for x in c if x >= 0], dtype=np.int32)

    # ---- parent/child joins ------------------------------------------------------------
    def kids(self, table: str, idx: np.ndarray, key: str = "application") -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``table`` whose ``key`` is in idx, and for each the position in idx it belongs to."""
        ck = ("kids", table, key)
        s = self.s
        if ck not in s.cache:
            col = s.tables[table][key].astype(np.int64)
            order = np.argsort(col, kind="stable")  # rows by parent, unknown (-1) parents first
            valid = col[col >= 0]
            per_parent = np.bincount(valid, minlength=1) if len(valid) else np.zeros(1, dtype=np.int64)
            first = len(col) - len(valid) + np.cumsum(per_parent) - per_parent  # start of each parent's run
            s.cache[ck] = (order, per_parent, first)
        order, per_parent, first = s.cache[ck]
        idx = np.asarray(idx, dtype=np.int64)
        inside = (idx >= 0) & (idx < len(per_parent))
        safe = np.where(inside, idx, 0)
        counts = np.where(inside, per_parent[safe], 0)
        lo = first[safe]
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pos = np.repeat(np.arange(len(idx)), counts)
        starts = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        rows = order[starts + np.arange(total)]
        return rows, pos

    def cached(self, name: str, build: Callable[[], Any], *param_keys: str) -> Any:
        ck = ("rule", name, tuple(repr(self.p.get(k)) for k in param_keys))
        if ck not in self.s.cache:
            self.s.cache[ck] = build()
        return self.s.cache[ck]

    # ---- joins through applications -----------------------------------------------------
    def app_policy(self, idx: np.ndarray) -> np.ndarray:
        return self.s.applications.policy[idx]

    def app_ent(self, idx: np.ndarray) -> np.ndarray:
        return self.s.applications.enterprise[idx]

    def first_paid(self, idx: np.ndarray) -> np.ndarray:
        """Per application in idx: the first bank date of a paid line (-1: none)."""
        full = self.cached("first_paid", lambda: self._first_paid_all())
        return full[idx]

    def _first_paid_all(self) -> np.ndarray:
        s = self.s
        n = len(s.applications)
        pl = s.payout_lines
        paid = (pl.bank_status == self.code("bank_status", "paid")) & (pl.bank_date >= 0) & (pl.application >= 0)
        return gmin(pl.bank_date[paid], pl.application[paid], n)

    def rel_strength(self, party: np.ndarray, ent: np.ndarray) -> np.ndarray:
        """Strongest link between party codes and firms: 0 none, 1 former employment, 2 indirect or a
        relative, 3 direct (shareholder, officer, controller)."""
        keys, strength = self.cached("relations", self._relations)
        n_ent = max(len(self.s.enterprises), 1)
        q = np.asarray(party, dtype=np.int64) * n_ent + np.asarray(ent, dtype=np.int64)
        if len(keys) == 0:
            return np.zeros(len(q), dtype=np.int8)
        pos = np.clip(np.searchsorted(keys, q), 0, len(keys) - 1)
        hit = (keys[pos] == q) & (np.asarray(party) >= 0) & (np.asarray(ent) >= 0)
        return np.where(hit, strength[pos], 0).astype(np.int8)

    def _relations(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.s
        r = s.relations
        n_ent = max(len(s.enterprises), 1)
        w = np.zeros(len(s.vocab.get("relation", [])) + 1, dtype=np.int8)
        for name, v in (("former_employee", 1), ("indirect", 2), ("relative", 2), ("shareholder", 3),
                        ("officer", 3), ("controller", 3)):
            c = s.code("relation", name)
            if c >= 0:
                w[c] = v
        ok = (r.party >= 0) & (r.enterprise >= 0) & (r.kind >= 0)
        keys = r.party[ok].astype(np.int64) * n_ent + r.enterprise[ok]
        st = w[r.kind[ok]]
        order = np.lexsort((-st, keys))
        keys, st = keys[order], st[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        return keys[first], st[first]


# ---------------------------------------------------------------------- group helpers


def gmin(values: np.ndarray, pos: np.ndarray, n: int, fill: int = NA) -> np.ndarray:
    """Per group 0..n-1: the minimum of values (fill where a group has none)."""
    big = np.iinfo(np.int64).max
    out = np.full(n, big, dtype=np.int64)
    np.minimum.at(out, pos, values.astype(np.int64))
    out[out == big] = fill
    return out


def gmax(values: np.ndarray, pos: np.ndarray, n: int, fill: int = NA) -> np.ndarray:
    small = np.iinfo(np.int64).min
    out = np.full(n, small, dtype=np.int64)
    np.maximum.at(out, pos, values.astype(np.int64))
    out[out == small] = fill
    return out


def gsum(values: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, pos, values.astype(np.int64))
    return out


def gany(mask: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(pos[mask], minlength=n)[:n] > 0


def gcount(pos: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(pos, minlength=n)[:n]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a sort and a compare: faster than np.unique's hashing on big int arrays)."""
    v = np.sort(np.asarray(values, dtype=np.int64))
    if len(v) == 0:
        return v
    keep = np.ones(len(v), dtype=bool)
    keep[1:] = v[1:] != v[:-1]
    return v[keep]


DENSE_KEYS_PER_ROW = 4  # group_ids ranks keys through a table (no sort) while there are at most this many per row


def group_ids(*cols: np.ndarray) -> np.ndarray:
    """Dense group number of each row for the combination of integer columns."""
    if len(cols[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    arrays = [np.asarray(c, dtype=np.int64) for c in cols]
    lows = [int(a.min()) for a in arrays]
    spans = [int(a.max()) - lo + 1 for a, lo in zip(arrays, lows)]
    total = float(np.prod([float(x) for x in spans]))
    if total < 2.0 ** 62:  # one composite key, one sort
        key = np.zeros(len(arrays[0]), dtype=np.int64)
        for a, lo, span in zip(arrays, lows, spans):
            key = key * span + (a - lo)
        if total <= DENSE_KEYS_PER_ROW * len(key) + 1024:  # few possible keys: rank them without sorting
            present = np.zeros(int(total), dtype=bool)
            present[key] = True
            rank = np.cumsum(present, dtype=np.int64) - 1
            return rank[key]  # the same numbers np.unique's inverse gives: keys ranked in ascending order
        return np.unique(key, return_inverse=True)[1].astype(np.int64)
    g = np.zeros(len(cols[0]), dtype=np.int64)
    for c in arrays:
        _, inv = np.unique(np.asarray(c, dtype=np.int64), return_inverse=True)
        _, g = np.unique(g * (int(inv.max()) + 1) + inv, return_inverse=True)
    return g.astype(np.int64)


def distinct_per_group(group: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Per row: how many distinct members its group has."""
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64)
    pair = group_ids(group, member)
    first = np.zeros(int(pair.max()) + 1, dtype=np.int64)
    first[pair] = group  # any row of the pair gives its group
    counts = np.bincount(first, minlength=int(group.max()) + 1)
    return counts[group]


def levels(n: int, prompt: np.ndarray | None = None, warning: np.ndarray | None = None,
           alarm: np.ndarray | None = None) -> np.ndarray:
    out = np.zeros(n, dtype=np.int8)
    for lv, m in ((1, prompt), (2, warning), (3, alarm)):
        if m is not None:
            out[np.asarray(m, dtype=bool)] = lv
    return out


def outcome(level: np.ndarray, evaluated: np.ndarray, missing: np.ndarray | None = None,
            **facts: Fact) -> Outcome:
    evaluated = np.asarray(evaluated, dtype=bool)
    level = np.where(evaluated, level, 0).astype(np.int8)
    miss = np.zeros(len(level), dtype=bool) if missing is None else (np.asarray(missing, dtype=bool) & ~evaluated)
    return Outcome(level=level, evaluated=evaluated, missing=miss, facts=facts)
