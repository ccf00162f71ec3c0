"""Small server-drawn SVG charts for pages: no script, readable by screen readers, printable.

Each chart is an ``<svg role="img">`` with a title and a description naming every value, and sits beside
the data table it summarises (the table stays the accessible source of the figures). Colours meet the
3:1 contrast asked of graphics (WCAG 1.4.11) against the white page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR = "#1d5fa8"  # 6.3:1 on white
AXIS = "#595959"
TEXT = "#1a1a1a"


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None  # None: no value (no denominator); drawn as a gap, said as "no data"


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def number(value: float) -> str:
    return f"{value:g}"


def bar_chart(
    title: str,
    points: Sequence[Point],
    *,
    fmt: Callable[[float], str] = number,
    maximum: float | None = None,
    no_data: str = "no data",
    width: int = 640,
) -> Markup:
    """Horizontal bars, one per point, labelled with the point's name and formatted value."""
    row, label_w, value_w = 26, 170, 70
    height = row * len(points) + 10
    top = maximum if maximum is not None else max((p.value or 0 for p in points), default=0) or 1
    plot_w = width - label_w - value_w
    parts = []
    for i, p in enumerate(points):
        y = 5 + i * row
        shown = no_data if p.value is None else fmt(p.value)
        bar_w = 0 if p.value is None else max(0.0, min(1.0, p.value / top)) * plot_w
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" fill="{TEXT}">{escape(_clip(p.label))}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w:.1f}" height="{row - 8}" fill="{BAR}"/>'
            f'<text x="{label_w + bar_w + 6:.1f}" y="{y + 17}" fill="{TEXT}">{escape(shown)}</text>'
        )
    axis = f'<line x1="{label_w}" y1="2" x2="{label_w}" y2="{height - 2}" stroke="{AXIS}"/>'
    return _svg(title, _describe(points, fmt, no_data), width, height, axis + "".join(parts))


def line_chart(
    title: str,
    points: Sequence[Point],
    *,
    fmt: Callable[[float], str] = number,
    maximum: float | None = None,
    no_data: str = "no data",
    width: int = 640,
    height: int = 220,
    label_every: int = 1,
) -> Markup:
    """A trend: points in order (e.g. months), joined where consecutive values exist; every
    ``label_every``-th point is labelled on the axis (the description names them all)."""
    left, right, top_pad, bottom = 56, 16, 16, 40
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values = [p.value for p in points if p.value is not None]
    top = maximum if maximum is not None else (max(values, default=0) or 1)
    step = plot_w / max(len(points) - 1, 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return left + i * step, top_pad + plot_h * (1 - max(0.0, min(1.0, value / top)))

    parts = [
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - right}" y2="{top_pad + plot_h}" stroke="{AXIS}"/>',
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="{AXIS}"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end" fill="{TEXT}">{escape(fmt(top))}</text>',
        f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" fill="{TEXT}">{escape(fmt(0))}</text>',
    ]
    segment: list[str] = []
    for i, p in enumerate(points):
        x = left + i * step
        if i % max(1, label_every) == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle" fill="{TEXT}">'
                f"{escape(_clip(p.label, 8))}</text>"
            )
        if p.value is None:
            parts.append(_polyline(segment))
            segment = []
            continue
        px, py = xy(i, p.value)
        segment.append(f"{px:.1f},{py:.1f}")
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{3.5 if len(points) <= 40 else 1.5}" fill="{BAR}"/>')
    parts.append(_polyline(segment))
    return _svg(title, _describe(points, fmt, no_data), width, height, "".join(parts))


def _polyline(segment: list[str]) -> str:
    if len(segment) < 2:
        return ""
    return f'<polyline points="{" ".join(segment)}" fill="none" stroke="{BAR}" stroke-width="2"/>'


def _describe(points: Sequence[Point], fmt: Callable[[float], str], no_data: str) -> str:
    return "; ".join(f"{p.label}: {no_data if p.value is None else fmt(p.value)}" for p in points)


def _clip(text: str, length: int = 22) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _svg(title: str, description: str, width: int, height: int, body: str) -> Markup:
    # Ids must be unique on a page with several charts: derive them from the content.
    ident = f"chart-{abs(hash((title, description))) % 10**8}"
    return Markup(
        f'<svg class="chart" role="img" aria-labelledby="{ident}-t" aria-describedby="{ident}-d" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'font-size="13" font-family="sans-serif">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(description)}</desc>'
        f"{body}</svg>"
    )
