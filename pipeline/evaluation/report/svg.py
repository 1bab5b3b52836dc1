"""Hand-drawn inline SVG charts: small pure functions, every text escaped."""

from __future__ import annotations

import html
from typing import Any

from .tables import fmt_money

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _x(value: float, left: float, width: float) -> float:
    return round(left + value * width, 1)


def _y(value: float, top: float, height: float) -> float:
    return round(top + (1 - value) * height, 1)


def _text(x: float, y: float, content: object, cls: str = "tick", anchor: str = "start") -> str:
    """An SVG text element; the content is escaped."""
    return (
        f'<text x="{x}" y="{y}" class="{cls}" text-anchor="{anchor}">'
        f"{html.escape(str(content))}</text>"
    )


def _axes(left: float, top: float, w: float, h: float, xlabel: str, ylabel: str) -> list[str]:
    out = [f'<rect x="{left}" y="{top}" width="{w}" height="{h}" class="plot"/>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = _x(tick, left, w), _y(tick, top, h)
        out.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{top + h}" class="grid"/>')
        out.append(f'<line x1="{left}" y1="{y}" x2="{left + w}" y2="{y}" class="grid"/>')
        out.append(_text(x, top + h + 14, f"{tick:g}", anchor="middle"))
        out.append(_text(left - 4, y + 4, f"{tick:g}", anchor="end"))
    out.append(_text(left + w / 2, top + h + 30, xlabel, "axis", "middle"))
    out.append(
        f'<text x="12" y="{top + h / 2}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + h / 2})">{html.escape(ylabel)}</text>'
    )
    return out


def svg_curves(
    series: list[tuple[str, list[tuple[float, float]]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    diagonal: bool = False,
) -> str:
    """Lines in the unit square (ROC or precision-recall), one per series, with a legend."""
    left, top, w, h = 44.0, 24.0, 220.0, 180.0
    legend_h = 16 * len(series)
    out = [
        f'<svg class="chart" width="290" height="{top + h + 44 + legend_h}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" class="title">{html.escape(title)}</text>',
        *_axes(left, top, w, h, xlabel, ylabel),
    ]
    if diagonal:
        out.append(f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top}" class="chance"/>')
    for index, (name, points) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        if points:
            coords = " ".join(f"{_x(x, left, w)},{_y(y, top, h)}" for x, y in points)
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        ly = top + h + 44 + 16 * index
        out.append(f'<rect x="{left}" y="{ly - 9}" width="10" height="10" fill="{color}"/>')
        label = name if points else f"{name} (no curve: one class or no scores)"
        out.append(f'<text x="{left + 14}" y="{ly}" class="legend">{html.escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def svg_confusion(summary: dict[str, Any], title: str) -> str:
    """A 2x2 confusion matrix, shaded by each cell's share of its true class."""
    size, left, top = 70, 70, 40
    grid = [
        ("TP", summary["tp"], summary["tp"] + summary["fn"], 0, 0, True),
        ("FN", summary["fn"], summary["tp"] + summary["fn"], 1, 0, False),
        ("FP", summary["fp"], summary["fp"] + summary["tn"], 0, 1, False),
        ("TN", summary["tn"], summary["fp"] + summary["tn"], 1, 1, True),
    ]
    out = [
        '<svg class="chart" width="230" height="200" role="img" '
        f'aria-label="{html.escape(title)}">',
        _text(4, 14, title, "title"),
        _text(left + size, top - 6, "predicted", "axis", "middle"),
        _text(left + size / 2, top + 2 * size + 16, "flagged", anchor="middle"),
        _text(left + 1.5 * size, top + 2 * size + 16, "not flagged", anchor="middle"),
        _text(left - 6, top + size / 2 + 4, "scam", anchor="end"),
        _text(left - 6, top + 1.5 * size + 4, "benign", anchor="end"),
        _text(left - 6, top - 6, "actual", "axis", "end"),
    ]
    for name, count, row_total, col, row, good in grid:
        share = count / row_total if row_total else 0.0
        hue = "44,160,44" if good else "214,39,40"
        x, y = left + col * size, top + row * size
        out.append(
            f'<rect x="{x}" y="{y}" width="{size}" height="{size}" '
            f'fill="rgba({hue},{0.12 + 0.78 * share:.2f})" stroke="#fff"/>'
        )
        out.append(_text(x + size / 2, y + size / 2, count, "count", "middle"))
        out.append(_text(x + size / 2, y + size / 2 + 16, name, anchor="middle"))
    out.append("</svg>")
    return "".join(out)


def svg_scatter(points: list[tuple[str, float, float]], *, title: str) -> str:
    """Cost per 1,000 cases (x) against F1 (y), one numbered dot per cell."""
    left, top, w, h = 54.0, 40.0, 420.0, 240.0
    top_cost = max((x for _, x, _ in points), default=0.0) or 1.0
    out = [
        f'<svg class="chart" width="{left + w + 60}" height="{top + h + 50}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" class="title">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" class="plot"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = _x(tick, left, w), _y(tick, top, h)
        out.append(f'<line x1="{left}" y1="{y}" x2="{left + w}" y2="{y}" class="grid"/>')
        out.append(
            f'<text x="{left - 4}" y="{y + 4}" class="tick" text-anchor="end">{tick:g}</text>'
        )
        out.append(
            f'<text x="{x}" y="{top + h + 14}" class="tick" text-anchor="middle">'
            f"{fmt_money(tick * top_cost)}</text>"
        )
    out.append(
        f'<text x="{left + w / 2}" y="{top + h + 32}" class="axis" text-anchor="middle">'
        "estimated cost per 1,000 cases (USD)</text>"
    )
    out.append(
        f'<text x="12" y="{top + h / 2}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + h / 2})">F1</text>'
    )
    # Cells at the same spot share one dot, labelled with all their numbers.
    spots: dict[tuple[float, float], list[int]] = {}
    for index, (_, cost, f1) in enumerate(points, start=1):
        spots.setdefault((_x(cost / top_cost, left, w), _y(f1, top, h)), []).append(index)
    for (x, y), indices in spots.items():
        color = PALETTE[(indices[0] - 1) % len(PALETTE)]
        names = "; ".join(
            f"{i}. {name}: F1 {f1:.3f}, {fmt_money(cost)} / 1k"
            for i in indices
            for name, cost, f1 in [points[i - 1]]
        )
        out.append(
            f'<circle cx="{x}" cy="{y}" r="6" fill="{color}" fill-opacity="0.8">'
            f"<title>{html.escape(names)}</title></circle>"
        )
        out.append(_text(x + 8, y - 6, ",".join(map(str, indices))))
    out.append("</svg>")
    return "".join(out)


def svg_bars(bars: list[tuple[str, float, list[float] | None]], *, title: str) -> str:
    """Horizontal bars of pass rates in 0..1, each with its interval as a whisker."""
    left, top, w, row = 150.0, 24.0, 240.0, 18
    out = [
        f'<svg class="chart" width="{left + w + 50}" height="{top + row * len(bars) + 24}" '
        f'role="img" aria-label="{html.escape(title)}">',
        _text(4, 14, title, "title"),
    ]
    for index, (name, rate, interval) in enumerate(bars):
        y = top + index * row
        color = PALETTE[0] if index else PALETTE[2]
        out.append(_text(left - 6, y + 12, name, anchor="end"))
        out.append(f'<rect x="{left}" y="{y + 2}" width="{w}" height="{row - 6}" class="plot"/>')
        out.append(
            f'<rect x="{left}" y="{y + 2}" width="{round(rate * w, 1)}" height="{row - 6}" '
            f'fill="{color}" fill-opacity="0.75"/>'
        )
        if interval:
            x1, x2 = _x(interval[0], left, w), _x(interval[1], left, w)
            mid = y + row / 2 - 1
            out.append(f'<line x1="{x1}" y1="{mid}" x2="{x2}" y2="{mid}" stroke="#222"/>')
        out.append(_text(left + w + 4, y + 12, f"{rate:.2f}"))
    out.append("</svg>")
    return "".join(out)
