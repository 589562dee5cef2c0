"""Charts drawn on the server as inline SVG (no script, no external library): the fund flow of a policy from
budget to use, the stage timeline of a subsidy, and bars (alerts over time, by level)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

STAGE_COLOURS = {"budget": "#5b7db1", "approved": "#3b8e6e", "noticed": "#c09a2c", "paid": "#b3261e",
                 "used": "#7b4ea3", "clawed_back": "#5f6b7a"}
LEVEL_COLOURS = {"prompt": "#c09a2c", "warning": "#d9731a", "alarm": "#b3261e"}


def _yuan(fen: int | None) -> str:
    return "—" if fen is None else f"¥{fen / 100:,.2f}"


def flow_chart(stages: Sequence[dict[str, Any]], labels: dict[str, str]) -> Markup:
    """Budget → approved → noticed → paid → used → clawed back: one box per stage, its height in proportion
    to the amount, joined by bands; a stage whose figures do not reconcile is outlined in red."""
    width, height, top, box_w = 900, 260, 30, 104
    gap = (width - box_w * len(stages)) / max(1, len(stages) - 1)
    amounts = [int(s.get("contract_fen") if s.get("contract_fen") is not None else s.get("events_fen") or 0)
               for s in stages]
    largest = max(amounts + [1])
    usable = height - top - 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(labels.get("title", "fund flow"))}" class="flow-chart">']
    boxes = []
    for i, (stage, amount) in enumerate(zip(stages, amounts)):
        x = i * (box_w + gap)
        h = max(4.0, usable * amount / largest) if amount else 2.0
        y = top + (usable - h) / 2
        boxes.append((x, y, h))
    for i in range(len(boxes) - 1):  # bands between consecutive stages
        (x1, y1, h1), (x2, y2, h2) = boxes[i], boxes[i + 1]
        h = min(h1, h2)
        a, b = x1 + box_w, x2
        mid = (a + b) / 2
        parts.append(f'<path d="M{a:.1f},{y1 + (h1 - h) / 2:.1f} C{mid:.1f},{y1 + (h1 - h) / 2:.1f} '
                     f'{mid:.1f},{y2 + (h2 - h) / 2:.1f} {b:.1f},{y2 + (h2 - h) / 2:.1f} '
                     f'L{b:.1f},{y2 + (h2 + h) / 2:.1f} C{mid:.1f},{y2 + (h2 + h) / 2:.1f} '
                     f'{mid:.1f},{y1 + (h1 + h) / 2:.1f} {a:.1f},{y1 + (h1 + h) / 2:.1f} Z" '
                     f'fill="#d9dee5" opacity="0.8"/>')
    for stage, amount, (x, y, h) in zip(stages, amounts, boxes):
        name = stage["stage"]
        ok = stage.get("reconciled", True)
        parts.append(f'<g class="stage" data-stage="{escape(name)}" data-fen="{amount}" '
                     f'data-reconciled="{str(ok).lower()}">')
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{box_w}" height="{h:.1f}" rx="3" '
                     f'fill="{STAGE_COLOURS.get(name, "#5f6b7a")}" stroke="{"#1b1f24" if ok else "#ff0000"}" '
                     f'stroke-width="{1 if ok else 3}"/>')
        parts.append(f'<text x="{x + box_w / 2:.1f}" y="18" text-anchor="middle" font-size="14" '
                     f'font-weight="600" fill="#1b1f24">{escape(labels.get(name, name))}</text>')
        parts.append(f'<text x="{x + box_w / 2:.1f}" y="{height - 22}" text-anchor="middle" font-size="13" '
                     f'fill="#1b1f24">{escape(_yuan(amount))}</text>')
        if not ok:
            parts.append(f'<text x="{x + box_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="12" '
                         f'fill="#a50e0e">{escape(labels.get("mismatch", "mismatch"))}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(series: Sequence[tuple[str, dict[str, int]]], keys: Sequence[str], labels: dict[str, str],
         colours: dict[str, str] | None = None) -> Markup:
    """Stacked bars: one per (label, {key: count}), stacked by ``keys`` (e.g. alerts per week by level)."""
    colours = colours or LEVEL_COLOURS
    width, height, left, bottom = 900, 240, 40, 40
    n = max(1, len(series))
    step = (width - left - 10) / n
    bar_w = min(48.0, step * 0.7)
    total = max([sum(v.get(k, 0) for k in keys) for _, v in series] + [1])
    usable = height - bottom - 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(labels.get("title", "chart"))}" class="bar-chart">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 5}" y2="{height - bottom}" stroke="#5f6b7a"/>',
             f'<text x="{left - 6}" y="24" text-anchor="end" font-size="12" fill="#5f6b7a">{total}</text>',
             f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end" font-size="12" fill="#5f6b7a">0</text>']
    for i, (label, values) in enumerate(series):
        x = left + i * step + (step - bar_w) / 2
        y = height - bottom
        parts.append(f'<g class="bar" data-label="{escape(label)}" data-total="{sum(values.get(k, 0) for k in keys)}">')
        for key in keys:
            count = values.get(key, 0)
            if not count:
                continue
            h = usable * count / total
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{colours.get(key, "#5f6b7a")}"><title>{escape(labels.get(key, key))}: {count}'
                         f'</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#1b1f24">{escape(label)}</text></g>')
    legend_x = left
    for key in keys:
        parts.append(f'<rect x="{legend_x}" y="{height - 14}" width="12" height="12" fill="{colours.get(key, "#5f6b7a")}"/>'
                     f'<text x="{legend_x + 16}" y="{height - 4}" font-size="12" fill="#1b1f24">'
                     f'{escape(labels.get(key, key))}</text>')
        legend_x += 110
    parts.append("</svg>")
    return Markup("".join(parts))


# the six stages of a subsidy, and which custody events belong to each
STAGES = ("publish", "apply", "review", "notice", "payout", "use")
_STAGE_OF_EVENT = (("Policy", "publish"), ("Enrol", "apply"), ("Submitted", "apply"), ("Recus", "review"),
                   ("Review", "review"), ("Approved", "review"), ("Rejected", "review"), ("Objection", "notice"),
                   ("Notice", "notice"), ("Hold", "payout"), ("Pay", "payout"), ("Batch", "payout"),
                   ("Use", "use"), ("Claw", "use"), ("Refund", "use"))


def stage_of(event: str) -> str:
    for word, stage in _STAGE_OF_EVENT:
        if word in event:
            return stage
    return "payout"


def timeline(custody: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The custody events grouped into the six stages, in order; a stage with no event yet is empty."""
    by_stage: dict[str, list[dict[str, Any]]] = {s: [] for s in STAGES}
    for item in custody:
        by_stage[stage_of(str(item.get("event", "")))].append(item)
    return [{"stage": s, "events": by_stage[s], "reached": bool(by_stage[s])} for s in STAGES]
