"""The dashboard's two charts as inline SVG, drawn on the server.

Written by hand (about a hundred lines) rather than taken from a chart library: two plain bar
charts need no JavaScript bundle, render identically in the PDF-like printout and in tests,
and carry their numbers as text that screen readers and tests can read. Every label is escaped.
"""
from markupsafe import Markup, escape

PALETTE = ("#1d70b8", "#f47738", "#00703c", "#912b88", "#5694ca", "#b58840", "#d4351c", "#505a5f")
OPEN, OVERDUE = "#1d70b8", "#d4351c"


def _svg(width, height, label, body) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
                  f'role="img" aria-label="{escape(label)}" class="chart"><title>{escape(label)}</title>'
                  f'<style>text{{font:13px sans-serif;fill:#0b0c0c}}</style>{body}</svg>')


def weekly_lines(weeks: list[dict]) -> Markup:
    """Open and overdue steps at the end of each week: paired bars, open behind overdue."""
    width, height, left, bottom, top = 640, 260, 36, 40, 30
    top_value = max([w["open"] for w in weeks] + [1])
    step = (width - left - 10) / max(len(weeks), 1)
    scale = (height - bottom - top) / top_value
    parts = []
    for tick in sorted({0, top_value // 2, top_value}):
        y = height - bottom - tick * scale
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b1b4b6" stroke-width="0.5"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, w in enumerate(weeks):
        x = left + i * step + step * 0.15
        bar = step * 0.34
        for j, (value, colour, what) in enumerate(((w["open"], OPEN, "open"), (w["overdue"], OVERDUE, "overdue"))):
            h = value * scale
            parts.append(f'<rect x="{x + j * bar:.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>week ending {escape(w["week_ending"])}: {value} {what}</title></rect>')
            if value:
                parts.append(f'<text x="{x + j * bar + bar / 2:.1f}" y="{height - bottom - h - 3:.1f}" '
                             f'text-anchor="middle">{value}</text>')
        parts.append(f'<text x="{x + bar:.1f}" y="{height - bottom + 14}" text-anchor="middle">'
                     f'{escape(w["week_ending"][5:])}</text>')
    parts.append(f'<rect x="{left}" y="4" width="10" height="10" fill="{OPEN}"/><text x="{left + 14}" y="13">open steps</text>'
                 f'<rect x="{left + 120}" y="4" width="10" height="10" fill="{OVERDUE}"/>'
                 f'<text x="{left + 134}" y="13">of which overdue</text>'
                 f'<text x="{width - 10}" y="{height - 6}" text-anchor="end">week ending (month-day)</text>')
    return _svg(width, height, "Open and overdue steps, week by week", "".join(parts))


def stacked_bars(markers: list[dict]) -> Markup:
    """Active markers by category (one bar each), stacked by level."""
    categories: dict[str, dict[str, int]] = {}
    levels: list[str] = []
    for m in markers:
        categories.setdefault(m["category_label"], {})[m["level"]] = m["count"]
        if m["level"] not in levels:
            levels.append(m["level"])
    colour = {level: PALETTE[i % len(PALETTE)] for i, level in enumerate(levels)}
    row, left, width = 32, 250, 640
    height = 40 + row * max(len(categories), 1)
    most = max([sum(c.values()) for c in categories.values()] + [1])
    scale = (width - left - 40) / most
    parts = []
    for i, level in enumerate(levels):
        parts.append(f'<rect x="{left + i * 120}" y="4" width="10" height="10" fill="{colour[level]}"/>'
                     f'<text x="{left + i * 120 + 14}" y="13">{escape(level)}</text>')
    for i, (label, counts) in enumerate(categories.items()):
        y = 28 + i * row
        parts.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(label[:34])}</text>')
        x = left
        for level in levels:
            n = counts.get(level, 0)
            if not n:
                continue
            w = n * scale
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 8}" fill="{colour[level]}">'
                         f'<title>{escape(label)}, {escape(level)}: {n}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 14}">{sum(counts.values())}</text>')
    if not categories:
        parts.append(f'<text x="{left}" y="40">No active markers.</text>')
    return _svg(width, height, "Active markers by category and level", "".join(parts))
