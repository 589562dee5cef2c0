"""The live snapshot: the gateway's ledger kept in memory for event-driven evaluation.

A full load (``audit.loader.load_snapshot``) builds the snapshot once; after that, each batch of
indexer events reloads from SQL only the rows of the subjects the events touch and patches them in:

* the subjects: the events' applications, their firms (USCC) and their policies;
* the partial load runs the loader itself over a *scoped* session — every ORM query the loader makes
  is restricted (``with_loader_criteria``) to those subjects: applications by id, every table with an
  ``application_id`` to those applications, oracle facts and payee accounts to those firms, policies
  and every table with a ``policy_id`` to those policies — so the rows come out exactly as a full load
  computes them (the same code, the same normalisation), only fewer;
* the patch: codes are re-mapped into the live vocabularies (append-only, so existing codes never
  change); policies / firms / applications / payout lines are updated in place by id or appended;
  the rows of the other tables owned by the touched subjects (an application's reviews, sign-offs,
  notices, payout lines, use reports…; a firm's registry changes and relations; the eligibility of the
  touched firms under the touched policies) are compared with the new ones and, when they differ,
  replaced (unchanged tables are left alone; new rows at the end are simply appended);
* the engine's indexes: the id indexes get the new ids; a child index (``kids``) of a table whose rows
  changed is dropped and rebuilt on demand; the rules' group figures (duplicates, shared contacts,
  peer statistics…) are dropped whenever anything changed and rebuilt on demand over the patched
  snapshot, so a subject's answer is the same as a full scan over the same data would give.

The snapshot is fully reloaded instead of patched when it cannot be patched safely:

* there is no live snapshot yet, or the district's day changed since it was loaded (the rules measure
  deadlines from the snapshot's date);
* a ``policy.changed`` event (a policy's eligibility list is computed over every registered firm, and an
  amendment can change all of its applications);
* an event names a firm or a payout line the snapshot does not know (nothing to hang it on);
* the partial load or the patch fails for any reason (logged).

And it is re-verified periodically: every ``[audit] live_verify_seconds`` the gateway's background loop
reloads the whole ledger, runs the full 29-point scan over it (persisted as a full scan, so alerts
whose condition disappeared are cleared) and makes it the live snapshot.

One known approximation is repaired after the partial load: USE2's ``counterparty_link`` "agent"
needs every account that ever received a subsidy, which a scoped load does not see; the live snapshot
keeps that account → firms map from its full load and updates it with the payee accounts and payout
lines it reloads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker, with_loader_criteria

from audit.snapshot import COLUMNS, NA, SCHEMA, Snapshot, Table, day

log = logging.getLogger(__name__)

#: event kinds that make the live snapshot reload in full rather than patch
FULL_RELOAD_KINDS = frozenset({"policy.changed"})
ID_TABLES = ("policies", "enterprises", "applications", "payout_lines")  # in reference order
#: the rules' group figures cached on the snapshot (``Ctx.cached`` names, audit/rules/) -> the tables they are
#: computed from; a figure not listed here is dropped on any change
RULE_INPUTS: dict[str, frozenset[str]] = {name: frozenset(tables) for name, tables in {
    "app3_groups": ("applications", "invoices"), "app3_invoices": ("applications", "invoices"),
    "app6": ("applications", "enterprises"), "first_paid": ("applications", "payout_lines"),
    "relations": ("relations", "enterprises"), "paid_total": ("applications", "payout_lines"),
    "pub4_keys": ("policies", "eligible", "applications", "enterprises"),
    "rev3_share": ("draws", "applications", "policies"), "rev4": ("reviews", "applications"),
    "rev5": ("applications", "policies", "enterprises"),
}.items()}
#: child tables -> the column (and its table) whose touched rows own them
OWNER: dict[str, tuple[str, ...]] = {
    "registry_changes": ("enterprise",), "relations": ("enterprise",), "eligible": ("policy", "enterprise"),
}


@dataclass
class Scope:
    """What a batch of events touches."""

    applications: set[str] = field(default_factory=set)
    enterprises: set[str] = field(default_factory=set)
    policies: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.applications or self.enterprises or self.policies)


class NeedsFullReload(Exception):
    """The events cannot be patched into the live snapshot (the message says why)."""


# ---------------------------------------------------------------------- scoped loading


def _criteria(scope: Scope) -> Callable[[Any], Any]:
    """mapper -> the ``with_loader_criteria`` option restricting it to the scope (None: not restricted)."""
    from gateway.subsidies import fund_models as fm
    from gateway.subsidies import models as sm
    from oracle.models import Fact

    apps, firms, pols = sorted(scope.applications), sorted(scope.enterprises), sorted(scope.policies)
    memo: dict[Any, Any] = {}

    def option(mapper: Any) -> Any:
        if mapper not in memo:
            cls, cols = mapper.class_, mapper.columns
            if cls is sm.SubsidyApplication:
                crit = cls.id.in_(apps)
            elif cls is sm.SubsidyPolicy:
                crit = cls.id.in_(pols)
            elif cls in (Fact, fm.PayeeAccount):
                crit = cls.uscc.in_(firms)
            elif "application_id" in cols:
                crit = cls.application_id.in_(apps)
            elif "policy_id" in cols:
                crit = cls.policy_id.in_(pols)
            else:
                crit = None
            memo[mapper] = None if crit is None else with_loader_criteria(cls, crit)
        return memo[mapper]

    return option


def load_scoped(sessions: sessionmaker[Session], loader: Callable[[Session], Snapshot], scope: Scope) -> Snapshot:
    """Run ``loader(session)`` (a full-ledger loader such as ``audit.loader.load_snapshot``) over a session
    whose every ORM select is restricted to the scope's subjects (read only: no autoflush)."""
    option = _criteria(scope)
    with sessions() as session:
        session.autoflush = False

        def restrict(state: Any) -> None:
            if state.is_select:  # only the options of the entities the query selects (a shorter cache key)
                options = [o for o in map(option, state.all_mappers) if o is not None]
                if options:
                    state.statement = state.statement.options(*options)

        sa_event.listen(session, "do_orm_execute", restrict)
        return loader(session)


# ---------------------------------------------------------------------- patching


def _vocab_map(live: Snapshot, sub: Snapshot) -> dict[str, np.ndarray]:
    """Per domain: sub code -> live code (new words are appended to the live vocabulary)."""
    out = {}
    for domain, words in sub.vocab.items():
        target = live.vocab.setdefault(domain, [])
        key = ("vocab", domain)
        lookup = live.cache.get(key)
        if lookup is None:
            lookup = live.cache[key] = {v: i for i, v in enumerate(target)}
        codes = np.empty(len(words), dtype=np.int64)
        for i, w in enumerate(words):
            c = lookup.get(w)
            if c is None:
                c = lookup[w] = len(target)
                target.append(w)
            codes[i] = c
        out[domain] = codes
    return out


def _rows(live: Snapshot, sub: Snapshot, tname: str, vmap: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The sub-snapshot's rows of a table, in the live snapshot's codes and row numbers."""
    st = sub.tables[tname]
    out = {}
    for c in SCHEMA[tname][1]:
        v = st[c.name]
        if c.kind == "code":
            m = vmap.get(c.target, np.zeros(0, dtype=np.int64))
            v = np.where(v >= 0, m[np.where(v >= 0, v, 0)] if len(m) else NA, NA).astype(v.dtype)
        elif c.kind == "ref":
            ids = sub.tables[c.target]["id"]
            index = live.index(c.target)
            v = np.array([index[ids[r]] if r >= 0 else NA for r in v.tolist()], dtype=v.dtype)
        out[c.name] = v
    return out


def _owned(live: Snapshot, tname: str, sub: Snapshot) -> np.ndarray:
    """Mask of the live rows of ``tname`` that the sub-snapshot's subjects own (and so replaces)."""
    table = live.tables[tname]
    keys = OWNER.get(tname, ("application",))
    mask = np.ones(len(table), dtype=bool)
    for key in keys:
        target = COLUMNS[tname][key].target
        index = live.index(target)
        rows = np.array([index[i] for i in sub.tables[target]["id"].tolist() if i in index], dtype=np.int64)
        mask &= np.isin(table[key].astype(np.int64), rows)
    return mask


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(a[k], b[k]) for k in a)


def patch(live: Snapshot, sub: Snapshot) -> set[str]:
    """Patch the sub-snapshot's subjects into ``live`` (in place); return the tables whose rows changed."""
    vmap = _vocab_map(live, sub)
    changed: set[str] = set()
    for tname in ID_TABLES:
        if not len(sub.tables[tname]):
            continue
        new = _rows(live, sub, tname, vmap)
        table = live.tables[tname]
        index = live.index(tname)
        pos = np.array([index.get(i, -1) for i in new["id"].tolist()], dtype=np.int64)
        old = pos >= 0
        if old.any():
            at, src = pos[old], np.flatnonzero(old)
            if not all(np.array_equal(table[c][at], new[c][src]) for c in new if c != "id"):
                for c in new:
                    if c != "id":
                        table.columns[c][at] = new[c][src]  # the live snapshot owns its arrays
                changed.add(tname)
        if (~old).any():
            add = np.flatnonzero(~old)
            cols = {c: np.concatenate([table[c], new[c][add]]) for c in table.columns}
            live.tables[tname] = Table(tname, cols)
            index = dict(index)  # a new dict: an index handed out earlier stays consistent with its table
            for k, ident in enumerate(new["id"][add].tolist()):
                index[ident] = len(table) + k
            live.cache[("index", tname)] = index
            changed.add(tname)
    for tname in SCHEMA:
        if tname in ID_TABLES:
            continue
        table = live.tables[tname]
        new = _rows(live, sub, tname, vmap) if len(sub.tables[tname]) else \
            {c: v[:0] for c, v in table.columns.items()}
        mask = _owned(live, tname, sub) if len(table) else np.zeros(0, dtype=bool)
        rows = np.flatnonzero(mask)
        old = {c: v[rows] for c, v in table.columns.items()}
        if _same(old, new):
            continue
        n_old = len(rows)
        prefix = n_old <= len(next(iter(new.values()))) and _same(old, {c: v[:n_old] for c, v in new.items()})
        if prefix:  # only new rows: append them
            cols = {c: np.concatenate([table[c], new[c][n_old:]]) for c in table.columns}
        else:  # rows changed or went away: replace the owned rows
            keep = ~mask
            cols = {c: np.concatenate([table[c][keep], new[c]]) for c in table.columns}
        live.tables[tname] = Table(tname, cols)
        changed.add(tname)
    if changed:
        for key in list(live.cache):
            if (key[0] == "kids" and key[1] in changed) or \
                    (key[0] == "rule" and not changed.isdisjoint(RULE_INPUTS.get(key[1], changed))):
                del live.cache[key]
    return changed


# ---------------------------------------------------------------------- the live snapshot


class LiveSnapshot:
    """The gateway's ledger in memory: one full load, then per event batch a partial reload and patch.

    The full load and the scoped partial loads run the same ``loader(session, as_of)`` (default
    ``audit.loader.load_snapshot`` with the gateway's ``[audit]`` and ``[calendar]`` settings); ``as_of`` is
    today in the district's time by ``clock``. Not thread-safe by itself: hold ``lock`` around a refresh and
    the use of its snapshot (``audit.service.evaluate_live`` does)."""

    def __init__(self, sessions: sessionmaker[Session], calendar: Any, settings: Any,
                 loader: Callable[[Session, date], Snapshot] | None = None, clock: Callable[[], float] = time.time,
                 chain_check: Callable[[Any], bool | None] | None = None,
                 licence_check: Callable[[list[str]], dict[str, dict[str, Any]]] | None = None,
                 hmac_key: bytes | None = None):
        self.sessions = sessions
        self.chain_check = chain_check  # REV6 on the applications an event touches (partial loads only)
        # APP1's lapsed licence-backed materials and REV3's keyed drawn agencies, in full and partial loads alike
        # (batched reads, cheap; the re-verification's full scan would otherwise clear what they raise)
        self.licence_check = licence_check
        self.hmac_key = hmac_key
        self.calendar = calendar
        self.settings = settings
        self.clock = clock
        self._loader = loader
        self.snapshot: Snapshot | None = None
        self.loaded_at = float("-inf")
        self.full_loads = 0
        self.patches = 0
        self.changed: set[str] = set()  # the tables the last patch changed
        self.waiting: dict[Any, int] = {}  # events whose application is not in the gateway's tables yet -> tries
        self.last_refresh_s = 0.0  # wall time of the last refresh (partial load and patch, or full reload)
        self.lock = threading.RLock()
        self._accounts: dict[str, set[str]] = {}  # account hash -> firms paid or registered on it (USE2)

    # ---- loading
    def _load(self, session: Session, as_of: date, scoped: bool = False) -> Snapshot:
        """The loader over ``session``; a partial (scoped) load also compares the touched applications with the
        chain (REV6). A full load does not: comparing every row costs several calls per application, and the
        full scans that persist REV6 (``audit.service.run_full_scan``) load with the chain themselves."""
        if self._loader is not None:
            return self._loader(session, as_of)
        from audit.loader import load_configured

        return load_configured(session, self.calendar, self.settings, as_of,
                               chain_check=self.chain_check if scoped else None, licence_check=self.licence_check,
                               hmac_key=self.hmac_key)

    def _today(self) -> date:
        return self.calendar.local_date(self.clock())

    def reload(self) -> Snapshot:
        """Load the whole ledger and make it the live snapshot."""
        with self.lock:
            today = self._today()
            with self.sessions() as session:
                snap = self._load(session, today)
                self._accounts = _all_accounts(session)
            from audit.engine import Engine

            Engine(self.calendar, self.settings.audit).prepare(snap)
            self.snapshot, self.loaded_at = snap, self.clock()
            self.full_loads += 1
            return snap

    def current(self) -> Snapshot:
        """The live snapshot (loaded in full first if there is none, or the district's day changed)."""
        with self.lock:
            if self.snapshot is None or self.snapshot.as_of != day(self._today()):
                return self.reload()
            return self.snapshot

    # ---- events
    def scope(self, events: Iterable[Any]) -> Scope:
        """The subjects the events touch (raises NeedsFullReload when they cannot be patched)."""
        from gateway.subsidies import models as sm

        snap = self.current()
        s = Scope()
        for ev in events:
            if ev.kind in FULL_RELOAD_KINDS:
                raise NeedsFullReload(f"{ev.kind} event")
            if ev.application_id is not None:
                s.applications.add(ev.application_id)
            if ev.policy_id is not None:
                s.policies.add(ev.policy_id)
            if ev.payout_id is not None:
                row = snap.index("payout_lines").get(ev.payout_id)
                if row is None or snap.payout_lines.application[row] < 0:
                    raise NeedsFullReload(f"payout line {ev.payout_id} not in the snapshot")
                s.applications.add(str(snap.applications.id[snap.payout_lines.application[row]]))
            if ev.enterprise_id is not None:
                if ev.enterprise_id not in snap.index("enterprises"):
                    raise NeedsFullReload(f"firm {ev.enterprise_id} not in the snapshot")
                s.enterprises.add(ev.enterprise_id)
        with self.sessions() as session:
            if s.enterprises:  # a firm's event concerns all its applications
                s.applications |= set(session.scalars(select(sm.SubsidyApplication.id)
                                                      .where(sm.SubsidyApplication.uscc.in_(sorted(s.enterprises)))))
            if s.applications:
                for _, uscc, pol in session.execute(
                        select(sm.SubsidyApplication.id, sm.SubsidyApplication.uscc, sm.SubsidyApplication.policy_id)
                        .where(sm.SubsidyApplication.id.in_(sorted(s.applications)))):
                    s.enterprises.add(uscc)
                    s.policies.add(pol)
        index = snap.index("applications")
        for a in s.applications:  # known rows keep their firm / policy even if SQL lost them
            row = index.get(a)
            if row is not None:
                if snap.applications.enterprise[row] >= 0:
                    s.enterprises.add(str(snap.enterprises.id[snap.applications.enterprise[row]]))
                if snap.applications.policy[row] >= 0:
                    s.policies.add(str(snap.policies.id[snap.applications.policy[row]]))
        return s

    def refresh(self, events: Iterable[Any]) -> Snapshot:
        """Bring the live snapshot up to date for these events: patch what they touch, or reload in full."""
        events = list(events)
        started = time.perf_counter()
        with self.lock:
            try:
                scope = self.scope(events)
                if scope:
                    sub = load_scoped(self.sessions, lambda ses: self._load(ses, self._today(), scoped=True), scope)
                    _fix_agent_links(sub, self._accounts, self.sessions, scope)
                    self.changed = patch(self.snapshot, sub)  # type: ignore[arg-type]
                    self.patches += 1
                self.last_refresh_s = time.perf_counter() - started
                return self.snapshot  # type: ignore[return-value]
            except NeedsFullReload as why:
                log.info("audit: live snapshot reloaded in full (%s)", why)
            except Exception:
                log.exception("audit: live snapshot could not be patched; reloading in full")
            snap = self.reload()
            self.last_refresh_s = time.perf_counter() - started
            return snap


def _all_accounts(session: Session) -> dict[str, set[str]]:
    from gateway.subsidies import fund_models as fm

    out: dict[str, set[str]] = defaultdict(set)
    for acc, uscc in session.execute(select(fm.PayeeAccount.account_hash, fm.PayeeAccount.uscc)):
        out[acc].add(uscc)
    for acc, uscc in session.execute(select(fm.PayoutBatchLine.account_hash, fm.PayoutBatchLine.uscc)):
        out[acc].add(uscc)
    return out


def _fix_agent_links(sub: Snapshot, accounts: dict[str, set[str]], sessions: sessionmaker[Session],
                     scope: Scope) -> None:
    """Update the account map with the scope's accounts and lines; mark a scoped transfer's counterparty
    ``agent`` when its account also received (or is registered for) another firm's subsidy."""
    from gateway.subsidies import fund_models as fm

    with sessions() as session:
        firms, apps = sorted(scope.enterprises), sorted(scope.applications)
        for acc, uscc in session.execute(select(fm.PayeeAccount.account_hash, fm.PayeeAccount.uscc)
                                         .where(fm.PayeeAccount.uscc.in_(firms))):
            accounts.setdefault(acc, set()).add(uscc)
        for acc, uscc in session.execute(select(fm.PayoutBatchLine.account_hash, fm.PayoutBatchLine.uscc)
                                         .where(fm.PayoutBatchLine.application_id.in_(apps))):
            accounts.setdefault(acc, set()).add(uscc)
    t = sub.transfers
    if not len(t):
        return
    words = sub.vocab.get("link", [])
    none = words.index("none") if "none" in words else -1
    rows = np.flatnonzero(t.counterparty_link == none) if none >= 0 else np.zeros(0, dtype=np.int64)
    if not len(rows):
        return
    if "agent" not in words:
        words.append("agent")
    agent = words.index("agent")
    parties = sub.vocab.get("party", [])
    for r in rows.tolist():
        cp = int(t.counterparty[r])
        app = int(t.application[r])
        ent = int(sub.applications.enterprise[app]) if app >= 0 else -1
        firm = str(sub.enterprises.id[ent]) if ent >= 0 else None
        if cp >= 0 and accounts.get(parties[cp], set()) - {firm}:
            t.counterparty_link[r] = agent


__all__ = ["LiveSnapshot", "Scope", "NeedsFullReload", "load_scoped", "patch", "FULL_RELOAD_KINDS"]
