"""The web layer's own logic, without a browser: charts, the six-stage timeline, alert buckets, the bulk-issue
CSV reader, amounts in yuan, deadline colours, CSRF tokens and the HTML 500 page of /web paths."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.routers.web_audit import CST, alerts_over_time
from gateway.routers.web_licences import parse_csv
from gateway.routers.web_subsidies import deadline_colour
from gateway.services.licences import LicenceError
from gateway.web import WebErrorPages, charts
from gateway.web.api import fen
from gateway.web.session import csrf_for_session

STAGES = [{"stage": "budget", "contract_fen": 1_000_000_00, "reconciled": True},
          {"stage": "approved", "events_fen": 400_000_00, "contract_fen": 400_000_00, "reconciled": True},
          {"stage": "noticed", "events_fen": 400_000_00, "contract_fen": 400_000_00, "reconciled": True},
          {"stage": "paid", "events_fen": 200_000_00, "contract_fen": 300_000_00, "reconciled": False},
          {"stage": "used", "events_fen": 0, "contract_fen": 0, "reconciled": True}]


def _heights(svg: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'data-stage="(\w+)"[^>]*>\s*<rect [^>]*height="([\d.]+)"', svg)}


def test_flow_chart_draws_each_stage_in_proportion_and_marks_what_does_not_reconcile() -> None:
    svg = str(charts.flow_chart(STAGES, {"budget": "预算<b>", "mismatch": "不一致"}))
    heights = _heights(svg)
    assert heights["budget"] == pytest.approx(2.5 * heights["approved"], rel=0.01)
    assert heights["approved"] == heights["noticed"] and heights["used"] == 2.0
    assert 'data-stage="paid" data-fen="30000000" data-reconciled="false"' in svg and "不一致" in svg
    assert "预算&lt;b&gt;" in svg and "<b>" not in svg  # labels are escaped


def test_timeline_puts_custody_events_in_their_stage() -> None:
    custody = [{"event": e} for e in ("PolicyPublished", "ApplicationSubmitted", "ReviewRecorded",
                                      "ApplicationApproved", "ApplicationNoticed", "NoticeOpened", "PayoutRecorded",
                                      "PayoutBatchRecorded")]
    stages = {s["stage"]: [e["event"] for e in s["events"]] for s in charts.timeline(custody)}
    assert list(stages) == list(charts.STAGES)
    assert stages["review"] == ["ReviewRecorded", "ApplicationApproved"]
    assert stages["notice"] == ["ApplicationNoticed", "NoticeOpened"] and stages["use"] == []
    assert [s["reached"] for s in charts.timeline(custody)] == [True] * 5 + [False]


def test_alerts_over_time_counts_per_day_and_level_in_china_time() -> None:
    today = datetime(2026, 12, 1, 12, tzinfo=CST)
    day = lambda d, h: int(datetime(2026, 11, d, h, tzinfo=CST).timestamp())  # noqa: E731
    alerts = [{"raised_at": day(30, 23), "max_level": "alarm"}, {"raised_at": day(30, 1), "max_level": "prompt"},
              {"raised_at": day(1, 9), "max_level": "alarm"},  # older than the 14 days shown
              {"raised_at": None, "first_seen": day(29, 8), "level": "warning"}]
    series = dict(alerts_over_time(alerts, today))
    assert len(series) == 14 and list(series)[-1] == "12-01"
    assert series["11-30"] == {"alarm": 1, "prompt": 1} and series["11-29"] == {"warning": 1}
    assert sum(sum(v.values()) for v in series.values()) == 3
    svg = str(charts.bars(list(series.items()), ("prompt", "warning", "alarm"), {}))
    assert svg.count('class="bar"') == 14 and 'data-label="11-30" data-total="2"' in svg


def test_bulk_csv_reader() -> None:
    text = ("licence_type,number,holder_uscc,holder_name,valid_from,valid_until,shopSign\n"
            "FOOD_BUSINESS_PERMIT,F-1,91350102MA2XYW001E,甲食品店,2026-01-01,,甲\n\n"
            "FOOD_BUSINESS_PERMIT,F-2,91350102MA2XYW001E,乙食品店,2026-01-01,2027-01-01,\n")
    for raw in (text.encode("gb18030"), "\ufeff".encode() + text.encode()):
        lines = parse_csv(raw)
        assert [n for n, _ in lines] == [2, 4]
        assert lines[0][1].holder_name == "甲食品店" and lines[0][1].fields == {"shopSign": "甲"}
        assert lines[0][1].valid_until is None and lines[1][1].valid_until == "2027-01-01" and lines[1][1].fields == {}
    with pytest.raises(LicenceError, match="holder_name"):
        parse_csv(b"licence_type,number,holder_uscc,valid_from\nX,1,2,3\n")
    with pytest.raises(LicenceError, match="no licence lines"):
        parse_csv(b"licence_type,number,holder_uscc,holder_name,valid_from\n")


@pytest.mark.parametrize(("text", "expected"), [("150,000", 150_000_00), ("¥1,234.5", 123_450), ("0.01", 1)])
def test_amounts_in_yuan(text: str, expected: int) -> None:
    assert fen(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1.234", "-5"])
def test_amounts_in_yuan_refused(text: str) -> None:
    with pytest.raises(ValueError):
        fen(text)


def test_deadline_colours() -> None:
    now = 1_800_000_000
    assert deadline_colour(now - 1, False, now) == "red"
    assert deadline_colour(now + 3600, True, now) == "red"
    assert deadline_colour(now + 86400, False, now) == "yellow"
    assert deadline_colour(now + 5 * 86400, False, now) == "green"


def test_csrf_token_is_bound_to_the_session() -> None:
    a, b = csrf_for_session("token-a"), csrf_for_session("token-b")
    assert a == csrf_for_session("token-a") and a != b and len(a) == 64


def test_unexpected_errors_on_pages_become_an_html_page_and_api_errors_stay_errors() -> None:
    app = FastAPI()

    @app.get("/web/boom")
    def page_boom() -> None:
        raise RuntimeError("page bug")

    @app.get("/api/boom")
    def api_boom() -> None:
        raise RuntimeError("api bug")

    app.add_middleware(WebErrorPages)
    client = TestClient(app, raise_server_exceptions=True)
    page = client.get("/web/boom")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "internal_error" in page.text and "page bug" not in page.text
    with pytest.raises(RuntimeError, match="api bug"):
        client.get("/api/boom")


def test_policy_materials_typed_one_a_line() -> None:
    from gateway.routers.web_policy import materials_from_text, materials_to_text

    text = "business_licence | 营业执照 | BUSINESS_LICENCE\n\naudit_report | 审计报告\nhigh_tech|高新证书|A, B"
    materials = materials_from_text(text)
    assert materials == [
        {"code": "business_licence", "name": "营业执照", "licence_types": ["BUSINESS_LICENCE"]},
        {"code": "audit_report", "name": "审计报告", "licence_types": []},
        {"code": "high_tech", "name": "高新证书", "licence_types": ["A", "B"]}]
    assert materials_from_text(materials_to_text(materials)) == materials  # the amend form round-trips
    with pytest.raises(ValueError, match="line 2"):
        materials_from_text("a | b\njust-a-code")
