"""Charts as inline SVG, drawn on the server: columns over time and 100 % stacked columns (shares over time).

Why a small renderer of our own rather than a charting package: the app's Content-Security-Policy allows no
inline ``style`` attributes, no ``<style>`` elements and no scripts but our own files, and nothing may load from
the network. The Python SVG charting packages (pygal, matplotlib's SVG backend) style their output inline or
with an embedded ``<style>`` (pygal also adds a tooltip script from a CDN by default), which that policy blocks,
and they do not give each mark the ``<title>`` and ``data-*`` attributes that people with screen readers and
the browser tests read. Here every colour is an SVG presentation attribute or a class styled by
``web/static/trends.css``; each chart has a ``<title>`` and ``<desc>`` (``role="img"``), each mark a
``<title>`` with its period and value, and the page puts a data table next to every chart. Shares are told
apart by pattern as well as colour (:data:`SENTIMENT_STYLE`). Text is drawn at a fixed size in a wide
``viewBox``; on narrow screens the chart scrolls sideways instead of shrinking its labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 760
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 14, 42
MAX_X_LABELS = 10

SENTIMENT_ORDER = ("negative", "neutral", "positive", "unknown")
SENTIMENT_STYLE: dict[str, tuple[str, str]] = {
    "negative": ("#b42318", "hatch"),
    "neutral": ("#5b6678", "solid"),
    "positive": ("#17753a", "dots"),
    "unknown": ("#d0d5dd", "cross"),
}
"""Sentiment label -> (fill colour, pattern): each at least 3:1 against white except ``unknown``, which is
drawn with a dark outline; the pattern tells the shares apart without colour."""


@dataclass(frozen=True)
class Column:
    """One period: its axis label, the longer text of its ``<title>``, its count and its start (ISO)."""

    label: str
    text: str
    value: int
    start: str


def nice_step(top: float, ticks: int = 4) -> int:
    """A round step (1, 2, 5 × 10^n) so that ``ticks`` steps cover ``top``."""
    if top <= 0:
        return 1
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if mult * power >= raw:
            return max(int(mult * power), 1)
    return max(int(10 * power), 1)


def _attrs(**values: object) -> str:
    return " ".join(f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in values.items()
                    if v is not None)


def _frame(chart_id: str, title: str, desc: str, testid: str, body: list[str], klass: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" {_attrs(viewBox=f"0 0 {WIDTH} {HEIGHT}", class_=klass)} '
            f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" data-testid="{escape(testid)}" '
            f'preserveAspectRatio="xMinYMin meet">'
            f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")


def _y_axis(top_value: int, plot_h: float, number: Callable[[int], str]) -> tuple[list[str], float]:
    step = nice_step(top_value)
    top = max(step * math.ceil(max(top_value, 1) / step), step)
    parts = []
    for tick in range(0, top + 1, step):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(number(tick))}</text>')
    return parts, top


def _x_labels(columns: Sequence[Column], slot: float) -> list[str]:
    every = max(1, math.ceil(len(columns) / MAX_X_LABELS))
    parts = []
    for i, col in enumerate(columns):
        if i % every:
            continue
        x = LEFT + slot * (i + 0.5)
        parts.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                     f'{escape(col.label)}</text>')
    return parts


def column_chart(columns: Sequence[Column], *, chart_id: str, title: str, desc: str, testid: str,
                 number: Callable[[int], str] = str) -> Markup:
    """Columns, one per period (``class="point"``, ``data-count``, ``data-start``; an empty period has a zero-height
    column and still counts as a point), a y axis with round ticks, at most :data:`MAX_X_LABELS` x labels."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body, top = _y_axis(max((c.value for c in columns), default=0), plot_h, number)
    slot = plot_w / max(len(columns), 1)
    gap = min(slot * 0.2, 6)
    for i, col in enumerate(columns):
        h = plot_h * col.value / top
        x = LEFT + slot * i + gap / 2
        mark = _attrs(class_="point bar", x=f"{x:.2f}", y=f"{TOP + plot_h - h:.2f}", width=f"{max(slot - gap, 1):.2f}",
                      height=f"{h:.2f}", data_count=col.value, data_start=col.start, data_testid=testid + "-point")
        body.append(f'<rect {mark}>'
                    f'<title>{escape(col.text)}</title></rect>')
    body.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    body += _x_labels(columns, slot)
    return _frame(chart_id, title, desc, testid, body, "chart columns")


def _patterns(chart_id: str) -> str:
    defs = []
    for key, (colour, kind) in SENTIMENT_STYLE.items():
        pid = f"{chart_id}-p-{key}"
        if kind == "hatch":
            inner = (f'<rect width="6" height="6" fill="{colour}"/>'
                     '<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" stroke="#ffffff" stroke-width="1.2"/>')
        elif kind == "dots":
            inner = f'<rect width="6" height="6" fill="{colour}"/><circle cx="3" cy="3" r="1.1" fill="#ffffff"/>'
        elif kind == "cross":
            inner = (f'<rect width="6" height="6" fill="{colour}"/>'
                     '<path d="M0,0 l6,6 M6,0 l-6,6" stroke="#5b6678" stroke-width="0.7"/>')
        else:
            inner = f'<rect width="6" height="6" fill="{colour}"/>'
        defs.append(f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse">{inner}</pattern>')
    return "<defs>" + "".join(defs) + "</defs>"


def fill_of(chart_id: str, key: str) -> str:
    """The fill of a sentiment's marks in ``chart_id`` (its pattern; a label of another taxonomy: grey)."""
    return f"url(#{chart_id}-p-{key})" if key in SENTIMENT_STYLE else "#8a94a3"


def share_chart(columns: Sequence[Column], shares: Sequence[dict[str, int]], keys: Sequence[str], *, chart_id: str,
                title: str, desc: str, testid: str, name: Callable[[str], str],
                percent: Callable[[float], str]) -> Markup:
    """100 % stacked columns: for each period the share of each of ``keys`` (bottom to top), with a ``<title>``
    per segment (``name``, count, ``percent``); a period without documents shows an empty outlined slot."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = [_patterns(chart_id)]
    for pct in (0, 25, 50, 75, 100):
        y = TOP + plot_h - plot_h * pct / 100
        body.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{pct}%</text>')
    slot = plot_w / max(len(columns), 1)
    gap = min(slot * 0.2, 6)
    for i, (col, counts) in enumerate(zip(columns, shares, strict=True)):
        x = LEFT + slot * i + gap / 2
        width = max(slot - gap, 1)
        total = sum(counts.values())
        head = _attrs(class_="share point", data_count=total, data_start=col.start, data_testid=testid + "-point")
        group = [f'<g {head}>']
        if not total:
            group.append(f'<rect class="empty" x="{x:.2f}" y="{TOP}" width="{width:.2f}" height="{plot_h}">'
                         f'<title>{escape(col.text)}</title></rect>')
        y = TOP + plot_h
        for key in keys:
            value = counts.get(key, 0)
            if not value:
                continue
            h = plot_h * value / total
            y -= h
            mark = _attrs(class_="segment s-" + key, x=f"{x:.2f}", y=f"{y:.2f}", width=f"{width:.2f}",
                          height=f"{h:.2f}", fill=fill_of(chart_id, key), data_key=key, data_count=value)
            group.append(f'<rect {mark}>'
                         f'<title>{escape(col.text)}: {escape(name(key))} {value} ({escape(percent(value / total))})'
                         f'</title></rect>')
        group.append("</g>")
        body.append("".join(group))
    body.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    body += _x_labels(columns, slot)
    return _frame(chart_id, title, desc, testid, body, "chart shares")


def legend_swatch(chart_id: str, key: str) -> Markup:
    """A small square in the sentiment's pattern for a legend (decorative: the legend's text names it)."""
    return Markup(f'<svg class="swatch" viewBox="0 0 14 14" aria-hidden="true" focusable="false">'
                  f'<rect x="0.5" y="0.5" width="13" height="13" fill="{fill_of(chart_id, key)}" '
                  f'stroke="#1c2331" stroke-width="1"/></svg>')


def bar(value: int, largest: int) -> Markup:
    """A horizontal bar of ``value`` against ``largest`` for a ranked list (decorative: the number is text)."""
    width = 100 * value / largest if largest else 0
    return Markup(f'<svg class="hbar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" '
                  f'focusable="false"><rect class="hbar-track" width="100" height="10"/>'
                  f'<rect class="hbar-fill" width="{width:.2f}" height="10"/></svg>')
