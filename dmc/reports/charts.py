"""Small server-rendered SVG charts (no JavaScript, no chart library).

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` naming what it shows;
every number it draws is also in the table next to it on the page. Text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad")


TICKS = 4  # grid lines above zero


def _nice_max(value: int) -> int:
    """The axis top: TICKS equal whole steps of 1, 2, 2.5 or 5 x 10^n covering ``value``
    (so every axis label is exact)."""
    need = max(value, 1) / TICKS
    magnitude = 1
    while magnitude * 10 <= need:
        magnitude *= 10
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= need and step == int(step):
            return int(step) * TICKS
    return 10 * magnitude * TICKS  # pragma: no cover


def _fmt(n: int) -> str:
    return f"{n:,}"


def svg_frame(
    uid: str, title: str, desc: str, width: int, height: int, body: list[str]
) -> SafeString:
    """The one place a chart becomes safe HTML: every caller escapes the text it puts in
    ``body``; ``title`` and ``desc`` are escaped here."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width}'
        f' {height}" width="100%" aria-labelledby="{uid}-t {uid}-d" data-chart="{uid}">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308  # nosec B308 B703 - text escaped


def _axis(left: int, top: int, plot_w: int, plot_h: int, top_value: int) -> list[str]:
    out = []
    for i in range(TICKS + 1):
        value = top_value * i // TICKS
        y = top + plot_h - plot_h * i / TICKS
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{_fmt(value)}</text>"
        )
    return out


def _legend(series: Sequence[tuple[str, Sequence[int]]], x: int, y: int) -> list[str]:
    out = []
    for i, (name, _values) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{x + i * 130}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + i * 130 + 14}" y="{y}" font-size="12">{escape(name)}</text>'
        )
    return out


def bar_chart(
    uid: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
) -> SafeString:
    """Grouped bars: one group per label, one bar per series."""
    width, height, left, top, bottom = 720, 300, 56, 30, 40
    plot_w, plot_h = width - left - 10, height - top - bottom
    top_value = _nice_max(max([v for _n, vals in series for v in vals] or [0]))
    body = _axis(left, top, plot_w, plot_h, top_value)
    group = plot_w / max(len(labels), 1)
    bar = max(2.0, group * 0.8 / max(len(series), 1))
    for gi, label in enumerate(labels):
        gx = left + gi * group + group * 0.1
        for si, (name, values) in enumerate(series):
            value = values[gi]
            h = plot_h * value / top_value if top_value else 0
            body.append(
                f'<rect x="{gx + si * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 1:.1f}"'
                f' height="{h:.1f}" fill="{PALETTE[si % len(PALETTE)]}">'
                f"<title>{escape(label)} {escape(name)}: {_fmt(value)}</title></rect>"
            )
        body.append(
            f'<text x="{gx + group * 0.4:.1f}" y="{height - bottom + 16}" text-anchor="middle"'
            f' font-size="11">{escape(label)}</text>'
        )
    body += _legend(series, left, 16)
    return svg_frame(uid, title, desc, width, height, body)


def line_chart(
    uid: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    ceiling: int | None = None,
) -> SafeString:
    """Lines over ordered labels (e.g. the hours of a day), optionally with a ceiling line."""
    width, height, left, top, bottom = 720, 300, 56, 30, 40
    plot_w, plot_h = width - left - 24, height - top - bottom
    peak = max([v for _n, vals in series for v in vals] + [ceiling or 0, 0])
    top_value = _nice_max(peak)
    body = _axis(left, top, plot_w, plot_h, top_value)
    step = plot_w / max(len(labels) - 1, 1)

    def y_of(v: int) -> float:
        return top + plot_h - (plot_h * v / top_value if top_value else 0)

    if ceiling:
        body.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y_of(ceiling):.1f}"'
            f' y2="{y_of(ceiling):.1f}" stroke="#999" stroke-dasharray="4 3"/>'
        )
    for si, (name, values) in enumerate(series):
        colour = PALETTE[si % len(PALETTE)]
        points = " ".join(f"{left + i * step:.1f},{y_of(v):.1f}" for i, v in enumerate(values))
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
        )
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(
                f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" text-anchor="middle"'
                f' font-size="11">{escape(label)}</text>'
            )
    body += _legend(series, left, 16)
    return svg_frame(uid, title, desc, width, height, body)
