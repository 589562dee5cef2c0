"""Glue between the gateway and the audit services: scans, event-driven evaluation, the background timer.

* ``run_full_scan(ctx)`` — the whole ledger through all enabled points (``audit.engine.Engine.scan``
  over ``audit.loader.load_snapshot``), fed to the alert store as a FULL scan of the points that ran:
  alerts not found again are cleared. Returns the counts new / raised / recurred / unchanged / cleared.
* ``on_events(env, snapshot, events)`` — event-driven: only the points and subjects the events concern
  (``Engine.evaluate``); a partial scan, so nothing is cleared.
* ``event_listener(ctx)`` — a listener for ``chain.indexer.Indexer.subscribe``: the subsidy ledger's new
  chain events become engine events, evaluated over the gateway's live snapshot (``audit.live``: loaded
  in full once, then only the rows of the subjects the events touch are reloaded and patched in).
* ``background_task(ctx)`` — a callable for the gateway's housekeeping loop (the batcher's ``tasks``):
  at most every ``[audit] tick_seconds`` it runs ``audit.routing.tick`` — warnings whose rectification
  deadline passed become alarms (held, cased), overdue cases escalate, and records, holds and cases
  left pending are settled on chain; and every ``[audit] live_verify_seconds`` it re-verifies the live
  snapshot: a full reload and a full scan (``verify_live``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from audit.alerts import ApplyResult, ScanScope
from audit.findings import Finding
from audit.routing import AuditEnv, process, tick

log = logging.getLogger(__name__)
SnapshotLoader = Callable[[], Any]  # () -> audit.snapshot.Snapshot

# the subsidy ledger's chain events → the engine's event kinds (audit.engine.EVENT_KINDS)
CHAIN_EVENT_KINDS: dict[str, str] = {
    "ApplicationSubmitted": "application.submitted", "ApplicationEnrolled": "application.submitted",
    "ReviewRecorded": "application.reviewed", "RecusalDeclared": "application.reviewed",
    "ApplicationApproved": "application.reviewed", "ApplicationRejected": "application.reviewed",
    "ApplicationNoticed": "notice.published", "ObjectionFiled": "objection.recorded",
    "ObjectionAnswered": "objection.recorded", "PayoutRecorded": "payout.recorded",
    "UseReported": "usage.reported", "ClawedBack": "rectification.recorded",
    "PolicyPublished": "policy.changed", "PolicyAmended": "policy.changed", "PolicyClosed": "policy.changed",
    "DrawExecuted": "draw.recorded",
}
# the licence registry's status changes → APP1's "licence.changed", for every application whose material the
# licence stands in for (a licence revoked under an application awaiting review is a missing material)
LICENCE_EVENTS = ("LicenceSuspended", "LicenceReinstated", "LicenceRevoked", "LicenceRenewed")
_SCAN_LOCK = threading.Lock()


def _engine(env: AuditEnv) -> Any:
    from audit.engine import Engine

    engine = getattr(env, "_engine", None)
    if engine is None:
        engine = Engine(env.calendar, env.settings.audit)
        env._engine = engine  # type: ignore[attr-defined]
    return engine


def _gateway_snapshot(env: AuditEnv) -> Any:
    """The gateway's ledger as the rules see it; where the environment has the chain, every application row
    is also compared with the chain's record of it (REV6), as audit.loader.scan_gateway does."""
    from audit.loader import load_configured

    with env.sessions() as session:
        return load_configured(session, env.calendar, env.settings, chain_check=env.chain_check,
                               licence_check=env.licence_check, hmac_key=env.hmac_key)


def full_scan(env: AuditEnv, snapshot: Any, now: int, points: Iterable[str] | None = None) -> dict[str, Any]:
    """Scan ``snapshot`` with every enabled point (or ``points``) and persist the findings as a FULL scan
    of the points that ran; return the counts and per-point statistics."""
    started = time.perf_counter()
    result = _engine(env).scan(snapshot, list(points) if points is not None else None)
    scanned = time.perf_counter() - started
    applied = process(env, result.findings, now, full_scan=ScanScope(points=frozenset(result.stats)))
    return {"as_of": result.as_of, "points": sorted(result.stats), "findings": len(result.findings),
            **applied.as_dict(), "skipped": {p: st.skipped for p, st in result.stats.items() if st.skipped},
            "scan_s": round(scanned, 3), "total_s": round(time.perf_counter() - started, 3)}


def run_full_scan(ctx: Any, snapshot_loader: SnapshotLoader | None = None, now: int | None = None,
                  points: Iterable[str] | None = None) -> dict[str, Any]:
    """The gateway's full scan: its own ledger (or ``snapshot_loader()``) through the engine, into the
    store. One scan at a time per gateway process (a second caller waits)."""
    env = AuditEnv.from_context(ctx)
    with _SCAN_LOCK:
        snapshot = snapshot_loader() if snapshot_loader is not None else _gateway_snapshot(env)
        return full_scan(env, snapshot, int(now if now is not None else time.time()), points)


def on_events(env: AuditEnv, snapshot: Any, events: Iterable[Any], now: int) -> ApplyResult:
    """Evaluate the points the events concern over the subjects they touch; persist (nothing is cleared).
    Events whose subject is not in the snapshot are skipped (logged)."""
    engine = _engine(env)
    findings: list[Finding] = []
    for event in events:
        try:
            findings += engine.evaluate(snapshot, event).findings
        except KeyError as exc:
            log.warning("audit: event %s not evaluated: %s", event, exc)
    return process(env, findings, now)


def engine_events(rows: Iterable[Any], sessions: Any = None) -> list[Any]:
    """Engine events (``audit.engine.Event``) for the indexer's new chain events (``ChainEvent`` rows). With
    ``sessions`` (the gateway's database), a licence's status change becomes a ``licence.changed`` event for
    each application with a material that licence stands in for."""
    from audit.engine import Event

    rows = list(rows)
    out: list[Any] = []
    if sessions is not None:
        out += [Event("licence.changed", application_id=app) for app in _licence_applications(sessions, rows)]
    for row in rows:
        kind = CHAIN_EVENT_KINDS.get(row.event)
        if kind is None or row.contract not in ("SubsidyLedger", "AgencyDraws"):
            continue
        args = _event_args(row)
        if row.event == "DrawExecuted":
            out += [Event(kind, application_id=app) for app in args.get("picked") or []]
        elif kind == "policy.changed":
            out.append(Event(kind, policy_id=args.get("policyId")))
        elif args.get("applicationId"):
            out.append(Event(kind, application_id=args["applicationId"]))
            # every step of an application is also the moment to compare its row with the chain's record (REV6:
            # the partial load that follows checks the rows it loads)
            out.append(Event("record.changed", application_id=args["applicationId"]))
    return list(dict.fromkeys(out))  # one evaluation per (kind, subject)


def _event_args(row: Any) -> dict[str, Any]:
    """A ``ChainEvent`` row's arguments (stored as JSON text; a plain mapping in tests)."""
    return json.loads(row.args) if isinstance(row.args, str) else dict(row.args)


def _licence_applications(sessions: Any, rows: list[Any]) -> list[str]:
    """The applications with a licence-backed material whose licence one of ``rows`` suspends, reinstates,
    revokes or renews (a renewal's old id: the material follows its successor)."""
    from sqlalchemy import select

    from gateway.subsidies.models import SubsidyMaterial

    ids = set()
    for row in rows:
        if row.contract == "LicenceRegistry" and row.event in LICENCE_EVENTS:
            args = _event_args(row)
            lid = args.get("id") or args.get("oldId")
            if lid:
                ids.add(str(lid).lower())
    if not ids:
        return []
    with sessions() as s:
        return sorted(set(s.scalars(select(SubsidyMaterial.application_id)
                                    .where(SubsidyMaterial.licence_id.in_(sorted(ids))))))


def live_snapshot(env: AuditEnv, clock: Callable[[], float] = time.time) -> Any:
    """The gateway's live snapshot (``audit.live.LiveSnapshot``), one per audit environment."""
    from audit.live import LiveSnapshot

    live = getattr(env, "_live", None)
    if live is None:
        live = LiveSnapshot(env.sessions, env.calendar, env.settings, clock=clock, chain_check=env.chain_check,
                            licence_check=env.licence_check, hmac_key=env.hmac_key)
        env._live = live  # type: ignore[attr-defined]
    return live


def warm_live(ctx: Any) -> threading.Thread:
    """In the background: the live snapshot's full load, so that the first indexed event does not pay for it
    (an event arriving meanwhile waits for the load to finish)."""
    live = live_snapshot(AuditEnv.from_context(ctx))

    def load() -> None:
        started = time.perf_counter()
        try:
            snap = live.current()
        except Exception:  # the first event loads it instead
            log.exception("audit: loading the live snapshot failed")
            return
        log.info("audit: live snapshot loaded (%d applications) in %.1fs", len(snap.applications),
                 time.perf_counter() - started)

    thread = threading.Thread(target=load, name="audit-live-load", daemon=True)
    thread.start()
    return thread


def verify_live(ctx: Any, now: int | None = None) -> dict[str, Any]:
    """Re-verify the live snapshot: reload the whole ledger, make it the live snapshot and run the full
    scan over it (persisted as a full scan: alerts not found again are cleared)."""
    env = AuditEnv.from_context(ctx)
    live = live_snapshot(env)
    with _SCAN_LOCK, live.lock:
        snapshot = live.reload()
        # the live snapshot's full load does not compare rows with the chain: REV6 is left to the events (their
        # partial loads do) and to the full scans, so that this re-verification neither raises nor clears it
        points = [p for p in _engine(env).points if p != "REV6"]
        return full_scan(env, snapshot, int(now if now is not None else time.time()), points)


#: how many event batches (or background ticks) an event whose application is not yet in the gateway's
#: tables waits for it (the chain event can be indexed before the service commits its row)
WAIT_ATTEMPTS = 20


def evaluate_live(env: AuditEnv, live: Any, events: list[Any], now: int) -> ApplyResult:
    """Patch the live snapshot for the events (and those still waiting for their application's row),
    evaluate the ones whose application it now holds; keep the others waiting (at most WAIT_ATTEMPTS
    tries — after that the periodic full scan covers them)."""
    with live.lock:
        waiting: dict[Any, int] = live.waiting
        batch = list(dict.fromkeys(list(waiting) + list(events)))
        snapshot = live.refresh(batch)
        known = snapshot.index("applications")
        ready = [e for e in batch if e.application_id is None or e.application_id in known]
        for e in batch:
            if e in ready:
                waiting.pop(e, None)
            elif waiting.get(e, 0) + 1 < WAIT_ATTEMPTS:
                waiting[e] = waiting.get(e, 0) + 1
            else:
                waiting.pop(e, None)
                log.warning("audit: event %s dropped: its application never appeared in the gateway", e)
        return on_events(env, snapshot, ready, now)


def event_listener(ctx: Any, snapshot_loader: SnapshotLoader | None = None,
                   clock: Callable[[], float] = time.time) -> Callable[[list[Any]], ApplyResult | None]:
    """A listener for ``Indexer.subscribe``: new subsidy-ledger events → event-driven evaluation over the
    live snapshot, patched for the subjects the events touch (``snapshot_loader()``: a given snapshot
    instead, loaded afresh for each batch)."""
    env = AuditEnv.from_context(ctx)

    def listen(rows: list[Any]) -> ApplyResult | None:
        try:
            events = engine_events(rows, env.sessions)
        except Exception:  # the indexer must keep indexing; the next full scan catches up
            log.exception("audit: reading the events' applications failed")
            return None
        if not events:
            return None
        try:
            if snapshot_loader is not None:
                snapshot = snapshot_loader()
            else:
                result = evaluate_live(env, live_snapshot(env), events, int(clock()))
                if result.to_route:
                    log.info("audit: events raised %s", result.as_dict())
                return result
            result = on_events(env, snapshot, events, int(clock()))
        except Exception:  # the indexer must keep indexing; the next full scan catches up
            log.exception("audit: event-driven evaluation failed")
            return None
        if result.to_route:
            log.info("audit: events raised %s", result.as_dict())
        return result

    return listen


def background_task(ctx: Any, clock: Callable[[], float] = time.time) -> Callable[[], dict[str, int] | None]:
    env = AuditEnv.from_context(ctx)
    interval = ctx.settings.audit.tick_seconds
    last = [float("-inf")]

    def run() -> dict[str, int] | None:
        now = clock()
        live = getattr(env, "_live", None)  # only once the event path has loaded a live snapshot
        if live is not None and live.waiting:  # events indexed before their application's row was committed
            try:
                evaluate_live(env, live, [], int(now))
            except Exception:
                log.exception("audit: evaluating waiting events failed")
        if live is not None and live.snapshot is not None and \
                live.clock() - live.loaded_at >= ctx.settings.audit.live_verify_seconds:  # the live's own clock
            try:
                log.info("audit: live snapshot re-verified: %s", verify_live(ctx, int(now)))
            except Exception:
                log.exception("audit: re-verifying the live snapshot failed")
        if now - last[0] < interval:
            return None
        last[0] = now
        result = tick(env, int(now))
        if any(result.values()):
            log.info("audit timers: %s", result)
        return result

    return run


def ingest(ctx: Any, findings: list[Finding], *, full_scan: ScanScope | None = None,
           now: int | None = None) -> ApplyResult:
    """Persist and route a scan's findings from the gateway's context."""
    return process(AuditEnv.from_context(ctx), findings, int(now if now is not None else time.time()),
                   full_scan=full_scan)
