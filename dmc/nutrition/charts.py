"""Inline SVG charts of our own (no JavaScript library): one stacked bar per indicator showing
the share of children in each band, with a legend giving the counts."""

from __future__ import annotations

from collections import Counter

from django.utils.html import escape
from django.utils.safestring import SafeString

from dmc.nutrition.rules import Band
from dmc.reports.charts import svg_frame

# one colour per band position: thin/short (orange-red) .. normal (green) .. obese/tall (purple)
WEIGHT_COLOURS = ("#d9534f", "#f0ad4e", "#5cb85c", "#9ccc65", "#ab47bc", "#6a1b9a", "#9e9e9e")
HEIGHT_COLOURS = ("#d9534f", "#f0ad4e", "#5cb85c", "#42a5f5", "#1565c0", "#9e9e9e")


def stacked_bar(
    title: str, bands: tuple[Band, ...], counts: Counter[str], colours: tuple[str, ...], lang: str
) -> SafeString:
    width, bar_h, legend_row = 640, 28, 20
    total = sum(counts[b.key] for b in bands)
    height = 30 + bar_h + 10 + legend_row * ((len(bands) + 2) // 3)
    parts = [f'<text x="0" y="18" font-size="15" font-weight="bold">{escape(title)}</text>']
    x = 0.0
    for band, colour in zip(bands, colours, strict=False):
        n = counts[band.key]
        if not n or not total:
            continue
        w = width * n / total
        label = band.th if lang == "th" else band.en
        parts.append(
            f'<rect x="{x:.2f}" y="28" width="{w:.2f}" height="{bar_h}" fill="{colour}" '
            f'data-band="{band.key}"><title>{escape(label)}: {n}</title></rect>'
        )
        x += w
    if not total:
        parts.append(
            f'<rect x="0" y="28" width="{width}" height="{bar_h}" fill="#eeeeee"/>'
            f'<text x="8" y="47" font-size="13">{"ไม่มีข้อมูล" if lang == "th" else "No data"}</text>'
        )
    for i, (band, colour) in enumerate(zip(bands, colours, strict=False)):
        col, row = i % 3, i // 3
        lx, ly = col * (width / 3), 28 + bar_h + 12 + row * legend_row
        n = counts[band.key]
        pct = f" ({100 * n / total:.0f}%)" if total else ""
        label = band.th if lang == "th" else band.en
        parts.append(
            f'<rect x="{lx:.0f}" y="{ly:.0f}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 16:.0f}" y="{ly + 11:.0f}" font-size="13">'
            f"{escape(label)} {n}{pct}</text>"
        )
    desc = ", ".join(f"{b.th if lang == 'th' else b.en} {counts[b.key]}" for b in bands)
    return svg_frame(f"nutrition-{bands[0].key}", title, desc, width, height, parts)
