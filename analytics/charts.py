"""The dashboard's charts as geometry (computed here, drawn by the templates as inline
SVG: server-rendered, no script, no CDN), and the texts its figures are shown with."""

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: float


BAR_HEIGHT, BAR_GAP, BAR_AREA = 18, 6, 300


def bar_chart(items: list[tuple[str, float, str]]) -> dict[str, Any]:
    """Horizontal bars: (label, value, shown text) each, scaled to the largest value."""
    top = max((v for _, v, _ in items), default=0) or 1
    bars = [
        Bar(label, value, text, i * (BAR_HEIGHT + BAR_GAP), round(BAR_AREA * value / top, 1))
        for i, (label, value, text) in enumerate(items)
    ]
    return {"bars": bars, "height": max(len(bars), 1) * (BAR_HEIGHT + BAR_GAP), "area": BAR_AREA}


LINE_W, LINE_H = 560, 140


def line_chart(
    days: list[date], series: dict[str, dict[date, float | None]], *, today: date | None = None
) -> dict[str, Any]:
    """Rates (0..1) per day as polylines, with a dot on every day that has cases: a line
    needs two days, so without the dots a lone day — today's, before any other day has
    cases — would draw nothing. A day without cases leaves a gap. The last day is always
    labelled ("today" when it is ``today``, whose figures are so far)."""
    step = LINE_W / max(len(days) - 1, 1)

    def x_of(i: int) -> float:
        return i * step if len(days) > 1 else LINE_W / 2

    def day_label(day: date) -> str:
        return "today" if day == today else day.strftime("%d %b")

    lines = []
    for name, values in series.items():
        segments, current, points = [], [], []
        for i, day in enumerate(days):
            value = values.get(day)
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x, y = x_of(i), LINE_H - value * LINE_H
            current.append(f"{x:.1f},{y:.1f}")
            when = "today so far" if day == today else day.strftime("%d %b")
            points.append({"x": round(x, 1), "y": round(y, 1), "title": f"{when}: {value:.0%}"})
        if current:
            segments.append(" ".join(current))
        lines.append({"name": name, "segments": segments, "points": points})
    every = 1 if len(days) <= 8 else max(len(days) // 6, 1)
    labelled = [i for i in range(len(days)) if i % every == 0]
    last = len(days) - 1
    if labelled and labelled[-1] != last:
        if last - labelled[-1] < every / 2:  # too close to the last day's label
            labelled.pop()
        labelled.append(last)
    return {
        "lines": lines,
        "width": LINE_W,
        "height": LINE_H,
        "ticks": [{"x": round(x_of(i), 1), "label": day_label(days[i])} for i in labelled],
        "grid": [{"y": LINE_H - p * LINE_H / 100, "label": f"{p}%"} for p in (0, 25, 50, 75, 100)],
    }


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


def seconds_text(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.0f} s"
