"""Dashboard figures from a known set of alerts: counts by stage, point, department and level;
red / yellow / green deadlines; the rectification rate; amounts held, released and recovered."""

from __future__ import annotations

from audit import alerts as store
from audit import dashboard, routing
from audit.findings import Level
from tests.audit.conftest import DAY, T0, finding
from tests.contracts.conftest import h

A, B, C, D, E = ("0x" + h(f"application {x}").hex() for x in "VWXYZ")


def test_figures_follow_the_alerts(env, signer) -> None:
    routing.process(env, [
        finding("APP1", Level.PROMPT, A, stage="apply"),
        finding("PAY1", Level.WARNING, B),
        finding("PAY1", Level.WARNING, C, department="COMMERCE"),
        finding("PAY2", Level.ALARM, D, amount_fen=50_000_00),
        finding("USE1", Level.WARNING, E, stage="use", amount_fen=20_000_00),
    ], T0)
    now = T0 + DAY
    fig = dashboard.figures(env, now)
    assert fig["alerts"]["total"] == fig["alerts"]["open"] == 5
    assert fig["alerts"]["by_level"] == {"prompt": 1, "warning": 3, "alarm": 1}
    assert fig["alerts"]["by_status"] == {"case_opened": 1, "open": 4}
    assert fig["counts"]["by_stage"]["apply"] == {"prompt": 1, "warning": 0, "alarm": 0}
    assert fig["counts"]["by_stage"]["payout"] == {"prompt": 0, "warning": 2, "alarm": 1}
    assert fig["counts"]["by_stage"]["publish"] == {"prompt": 0, "warning": 0, "alarm": 0}
    assert fig["counts"]["by_point"]["PAY1"]["warning"] == 2
    assert fig["counts"]["by_department"]["COMMERCE"] == {"prompt": 0, "warning": 1, "alarm": 0}
    # three warning deadlines and one case timer, all far off
    assert fig["deadlines"]["total"] == {"red": 0, "yellow": 0, "green": 4}
    assert fig["amounts"] == {"held_fen": 50_000_00, "held_applications": 1, "released_fen": 0, "recovered_fen": 0}
    assert fig["rectification"] == {"warnings_and_alarms": 4, "rectified": 0, "rate": 0.0}

    e_id = store.alert_id_of("USE1", "application", E)
    routing.dispose(env, e_id, "rectified", signer("sci_rev1"), "money returned to the special account",
                    amount_recovered_fen=20_000_00)
    b_deadline = store.get(env.sessions, store.alert_id_of("PAY1", "application", B)).deadline_at
    fig = dashboard.figures(env, b_deadline - 3600)  # the warnings' last day: yellow
    assert fig["deadlines"]["total"] == {"red": 0, "yellow": 2, "green": 1}
    assert fig["rectification"] == {"warnings_and_alarms": 4, "rectified": 1, "rate": 0.25}
    assert fig["amounts"]["recovered_fen"] == 20_000_00
    fig = dashboard.figures(env, b_deadline + 1)  # past it, before the tick: red
    assert fig["deadlines"]["by_point"]["PAY1"] == {"red": 2, "yellow": 0, "green": 0}
    assert fig["deadlines"]["by_department"]["COMMERCE"] == {"red": 1, "yellow": 0, "green": 0}

    d_id = store.alert_id_of("PAY2", "application", D)
    routing.release_hold(env, d_id, signer("inspector"), "explained by the bank")
    fig = dashboard.figures(env, now)
    assert fig["amounts"]["held_fen"] == 0 and fig["amounts"]["released_fen"] == 50_000_00


def test_a_department_sees_its_own_figures(env) -> None:
    routing.process(env, [finding("PAY1", Level.WARNING, A), finding("PAY1", Level.WARNING, B,
                                                                     department="COMMERCE")], T0)
    fig = dashboard.figures(env, T0, department="COMMERCE")
    assert fig["scope"] == "COMMERCE" and fig["alerts"]["total"] == 1
    assert list(fig["counts"]["by_department"]) == ["COMMERCE"]
