"""Charts as inline SVG, drawn on the server: nothing to load, readable without JavaScript, each with a title for
screen readers (and the figures beside it as a table in the page)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

ROW = 28
LABEL_WIDTH = 150
BAR_WIDTH = 230
COLOURS = ("#1f5f99", "#c05a00", "#2b7a3d", "#7a3d7a")  # blue, orange, green, purple: AA contrast on white


def bar_chart(title: str, rows: Sequence[tuple[str, Sequence[float]]], *, series: Sequence[str] = (),
              value_text=lambda v: f"{v:,.0f}") -> Markup:
    """Horizontal bars, one group per row, one bar per series."""
    per_row = max((len(values) for _, values in rows), default=1)
    largest = max((abs(v) for _, values in rows for v in values), default=0) or 1
    height = ROW * per_row * len(rows) + 10 * len(rows) + 30
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 '
             f'{LABEL_WIDTH + BAR_WIDTH + 120} {height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    y = 10
    for label, values in rows:
        parts.append(f'<text x="0" y="{y + ROW * per_row / 2 + 5:.0f}" class="label">{escape(label)}</text>')
        for index, value in enumerate(values):
            width = max(1.0, BAR_WIDTH * abs(value) / largest)
            colour = COLOURS[index % len(COLOURS)]
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="{ROW - 8}" '
                         f'fill="{colour}"><title>{escape(_name(series, index))}{escape(value_text(value))}'
                         f'</title></rect>')
            parts.append(f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + ROW - 10}" class="value">'
                         f'{escape(value_text(value))}</text>')
            y += ROW
        y += 10
    parts.append(_legend(series, height - 12))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text and attribute value above is escaped)


def pareto_chart(title: str, rows: Sequence[tuple[str, int]], cumulative_label: str) -> Markup:
    """Vertical bars by count, largest first, with the cumulative share as a line (the FMEA view)."""
    if not rows:
        return Markup("")
    total = sum(count for _, count in rows) or 1
    largest = rows[0][1] or 1
    step = min(120, 720 / len(rows))
    width, height, bottom = int(max(420, 60 + step * len(rows) + 120)), 330, 200
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    points, running = [], 0
    for index, (label, count) in enumerate(rows):
        x = 30 + index * step
        bar = (bottom - 20) * count / largest
        running += count
        points.append(f"{x + step / 2:.1f},{bottom - (bottom - 20) * running / total:.1f}")
        parts.append(f'<rect x="{x + 4:.1f}" y="{bottom - bar:.1f}" width="{step - 8:.1f}" height="{bar:.1f}" '
                     f'fill="{COLOURS[0]}"><title>{escape(label)}: {count}</title></rect>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{bottom - bar - 4:.1f}" class="value" '
                     f'text-anchor="middle">{count}</text>')
        parts.append(f'<text class="label small" transform="translate({x + step / 2:.1f},{bottom + 12}) '
                     f'rotate(30)">{escape(label[:28])}</text>')
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{COLOURS[1]}" stroke-width="2"/>')
    parts.append(f'<text x="{width - 10}" y="14" text-anchor="end" class="label" fill="{COLOURS[1]}">'
                 f'{escape(cumulative_label)} %</text></svg>')
    return Markup("".join(parts))  # noqa: S704 (every text and attribute value above is escaped)


def _name(series: Sequence[str], index: int) -> str:
    return f"{series[index]}: " if index < len(series) else ""


def _legend(series: Sequence[str], y: float) -> str:
    return "".join(f'<rect x="{LABEL_WIDTH + i * 130}" y="{y - 10}" width="12" height="12" '
                   f'fill="{COLOURS[i % len(COLOURS)]}"/><text x="{LABEL_WIDTH + i * 130 + 18}" y="{y}" '
                   f'class="label">{escape(name)}</text>' for i, name in enumerate(series))
