"""An indicator's trend as a server-drawn SVG: its values by period, the target as a dashed line, and the
baseline marked. Named and described for screen readers (every value is said in the description), and always
placed beside the table that holds the same figures. Colours from the platform's charts (WCAG 1.4.11)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from smartcity.core.charts import AXIS, BAR, TEXT

TARGET = "#8a4b00"  # 6.4:1 on white; dashed, and named in the legend, so never told by colour alone
LIVE = "#1a1a1a"


@dataclass(frozen=True)
class Mark:
    label: str
    value: float
    live: bool = False  # a live reading, drawn hollow


def trend(
    title: str,
    marks: Sequence[Mark],
    *,
    target: float | None,
    target_label: str,
    fmt: Callable[[float], str],
    describe_live: str = "live",
    width: int = 640,
    height: int = 240,
) -> Markup:
    """A line through ``marks`` in order, the target as a dashed line; empty markup without marks."""
    if not marks:
        return Markup("")
    left, right, top_pad, bottom = 72, 20, 28, 44
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values = [m.value for m in marks] + ([target] if target is not None else [])
    low, high = min(0.0, *values), max(values)
    high = high if high > low else low + 1
    high += (high - low) * 0.08  # room above the highest mark for its label

    def y(value: float) -> float:
        return top_pad + plot_h * (1 - (value - low) / (high - low))

    step = plot_w / max(len(marks) - 1, 1)
    xs = [left + (i * step if len(marks) > 1 else plot_w / 2) for i in range(len(marks))]
    parts = [
        f'<line x1="{left}" y1="{y(low):.1f}" x2="{width - right}" y2="{y(low):.1f}" stroke="{AXIS}"/>',
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="{AXIS}"/>',
        f'<text x="{left - 6}" y="{y(low) + 4:.1f}" text-anchor="end" fill="{TEXT}">{escape(fmt(low))}</text>',
    ]
    if target is not None:
        ty = y(target)
        parts.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" stroke="{TARGET}" '
                     f'stroke-width="2" stroke-dasharray="6 4"/>')  # fmt: skip
        parts.append(f'<text x="{width - right}" y="{ty - 6:.1f}" text-anchor="end" fill="{TARGET}">'
                     f"{escape(target_label)}</text>")  # fmt: skip
    line = " ".join(f"{x:.1f},{y(m.value):.1f}" for x, m in zip(xs, marks, strict=True))
    if len(marks) > 1:
        parts.append(f'<polyline points="{line}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    for x, m in zip(xs, marks, strict=True):
        fill = "#ffffff" if m.live else BAR
        parts.append(f'<circle cx="{x:.1f}" cy="{y(m.value):.1f}" r="4.5" fill="{fill}" stroke="{BAR}" '
                     f'stroke-width="2"/>')  # fmt: skip
        parts.append(f'<text x="{x:.1f}" y="{y(m.value) - 9:.1f}" text-anchor="middle" fill="{TEXT}">'
                     f"{escape(fmt(m.value))}</text>")  # fmt: skip
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 20}" text-anchor="middle" fill="{TEXT}">'
                     f"{escape(m.label)}</text>")  # fmt: skip
    said = "; ".join(f"{m.label}: {fmt(m.value)}" + (f" ({describe_live})" if m.live else "") for m in marks)
    if target is not None:
        said += f"; {target_label}"
    ident = f"trend-{abs(hash((title, said))) % 10**8}"
    return Markup(
        f'<svg class="chart kpi-trend" role="img" aria-labelledby="{ident}-t" aria-describedby="{ident}-d" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" font-size="13" '
        f'font-family="sans-serif"><title id="{ident}-t">{escape(title)}</title>'
        f'<desc id="{ident}-d">{escape(said)}</desc>{"".join(parts)}</svg>'
    )
