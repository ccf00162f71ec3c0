"""The yearly evaluation report as PDF, drawn with reportlab: the summary, a chart of every indicator's progress
towards its target, a table per plan section and a trend chart per indicator with two values or more.

Chinese is set in reportlab's built-in CID font STSong-Light (Adobe's Song, resolved by the PDF reader: nothing to
embed or download). The PDF names its language and title; the HTML report is the accessible version of the same.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from smartcity.core import i18n
from smartcity.kpi import catalogue as cat
from smartcity.kpi.service import Report, Status

FONT = "STSong-Light"
BLUE, TARGET, GREY = colors.HexColor("#1d5fa8"), colors.HexColor("#8a4b00"), colors.HexColor("#595959")


def translate(language: str, message: str, **variables: object) -> str:
    """``message`` in ``language`` (the catalogue's; named like core.web.translate so it is extracted)."""
    return i18n.gettext(language, message, **variables)


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _styles(language: str) -> dict[str, ParagraphStyle]:
    wrap = "CJK" if language.startswith("zh") else None
    base = ParagraphStyle("body", fontName=_font(), fontSize=9.5, leading=13, alignment=TA_LEFT, wordWrap=wrap)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5),
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4),
    }


def render(report: Report, language: str, plan: cat.Catalogue) -> bytes:
    """The report of ``report.year`` in ``language`` (zh-CN or en) as PDF bytes."""
    styles = _styles(language)
    _ = lambda message, **v: translate(language, message, **v)  # noqa: E731
    title = _("Evaluation of the plan's indicators, %(year)s", year=report.year)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=A4, title=title, author=_("Smart city platform"), subject=plan.plan_title.said(language),
        lang="zh-CN" if language.startswith("zh") else "en", displayDocTitle=True, leftMargin=16 * mm,
        rightMargin=16 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
    )  # fmt: skip
    story: list = [Paragraph(escape(title), styles["title"]), Paragraph(escape(plan.plan_title.said(language)),
                                                                         styles["body"])]  # fmt: skip
    story.append(Paragraph(escape(_counts(report, _)), styles["body"]))
    story.append(Paragraph(escape(_("Generated %(at)s (UTC).", at=report.generated_at.strftime("%Y-%m-%d %H:%M"))),
                           styles["small"]))  # fmt: skip
    targeted = [s for s in report.statuses if s.progress.status in ("met", "not_met")]
    if targeted:
        story.append(Paragraph(escape(_("Progress towards the targets")), styles["h2"]))
        story.append(_progress_chart(targeted, _, language))
    for section in report.sections:
        story.append(Paragraph(escape(section.title.said(language)), styles["h2"]))
        story.append(_section_table(section.statuses, styles, _, language))
    trends = [s for s in report.statuses if len(s.points) >= 2]
    if trends:
        story.append(Paragraph(escape(_("Trends")), styles["h2"]))
        story += _trend_grid(trends, language)
    document.build(story, onFirstPage=_footer(_), onLaterPages=_footer(_))
    return out.getvalue()


def _counts(report: Report, _) -> str:  # type: ignore[no-untyped-def]
    c = report.counts
    return _("Targets met: %(met)s; not met: %(not_met)s; no value yet: %(no_data)s; monitored without a target: "
             "%(no_target)s.", met=c.get("met", 0), not_met=c.get("not_met", 0), no_data=c.get("no_data", 0),
             no_target=c.get("no_target", 0))  # fmt: skip


def _footer(_):  # type: ignore[no-untyped-def]
    def draw(canvas, document) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont(_font(), 8)
        canvas.setFillColor(GREY)
        canvas.drawRightString(A4[0] - 16 * mm, 9 * mm, _("Page %(n)s", n=document.page))
        canvas.restoreState()

    return draw


def _name(s: Status, language: str, length: int = 26) -> str:
    name = s.indicator.name.said(language)
    return name if len(name) <= length else name[: length - 1] + "…"


def _progress_chart(statuses: Sequence[Status], _, language: str) -> Drawing:  # type: ignore[no-untyped-def]
    """Horizontal bars: each targeted indicator's share of the way to its target, 0–100 %."""
    row, label_w, width = 15, 190, 500
    height = row * len(statuses) + 42
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = label_w, 18, width - label_w - 40, row * len(statuses)
    chart.data = [[(s.progress.percent or 0.0) for s in reversed(statuses)]]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontName = _font()
    chart.valueAxis.labels.fontSize = 7.5
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.categoryAxis.categoryNames = [_name(s, language) for s in reversed(statuses)]
    chart.categoryAxis.labels.fontName = _font()
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.bars[0].fillColor = BLUE
    chart.bars[0].strokeColor = None
    chart.barLabelFormat = "%.1f%%"
    chart.barLabels.fontName = _font()
    chart.barLabels.fontSize = 7
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    drawing.add(String(label_w, height - 10, _("Share of the way from the baseline to the target"),
                       fontName=_font(), fontSize=8, fillColor=GREY))  # fmt: skip
    return drawing


def _cell(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _section_table(statuses: Sequence[Status], styles: dict[str, ParagraphStyle], _, language: str) -> Table:  # type: ignore[no-untyped-def]
    small = styles["small"]
    head = [_("Indicator"), _("Unit"), _("Baseline"), _("Value"), _("Target"), _("Progress"), _("Met")]
    rows = [[_cell(h, small) for h in head]]
    for s in statuses:
        item, base, latest = s.indicator, s.baseline, s.latest
        met = {True: _("yes"), False: _("no"), None: "—"}[s.progress.met]
        rows.append([
            _cell(item.name.said(language), small),
            _cell(item.unit.label.said(language), small),
            _cell(f"{cat.format_number(base.value)} ({base.label(language)})" if base else "—", small),
            _cell(f"{cat.format_number(latest.value)} ({latest.label(language)})" if latest else "—", small),
            _cell(f"{item.target_text} ({item.target_year})" if item.target_text else "—", small),
            _cell("—" if s.progress.percent is None else f"{s.progress.percent:.1f}%", small),
            _cell(met, small),
        ])  # fmt: skip
    table = Table(rows, colWidths=[58 * mm, 18 * mm, 25 * mm, 25 * mm, 22 * mm, 15 * mm, 12 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, GREY),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))  # fmt: skip
    return table


def _trend(s: Status, language: str) -> Drawing:
    """One indicator's values by period, the target dashed across."""
    width, height = 250, 150
    drawing = Drawing(width, height)
    values = [p.value for p in s.points]
    target = s.indicator.target
    high = max([*values, target or 0]) or 1
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 36, 28, width - 50, height - 62
    plot.data = [[(i, v) for i, v in enumerate(values)]]
    plot.lines[0].strokeColor = BLUE
    plot.lines[0].strokeWidth = 1.5
    plot.lines[0].symbol = makeMarker("FilledCircle", size=4, fillColor=BLUE)
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = -0.3, len(values) - 0.7
    plot.xValueAxis.valueSteps = list(range(len(values)))
    plot.xValueAxis.labelTextFormat = lambda i: (
        s.points[round(i)].label(language) if 0 <= round(i) < len(values) else ""
    )
    plot.xValueAxis.labels.fontName = _font()
    plot.xValueAxis.labels.fontSize = 6.5
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = min(0.0, *values), high * 1.1
    plot.yValueAxis.labels.fontName = _font()
    plot.yValueAxis.labels.fontSize = 6.5
    drawing.add(plot)
    if target is not None:
        span = plot.yValueAxis.valueMax - plot.yValueAxis.valueMin
        y = plot.y + plot.height * (target - plot.yValueAxis.valueMin) / span
        drawing.add(Line(plot.x, y, plot.x + plot.width, y, strokeColor=TARGET, strokeDashArray=[4, 3]))
        drawing.add(String(plot.x + plot.width, y + 3, s.indicator.target_text, fontName=_font(), fontSize=7,
                           fillColor=TARGET, textAnchor="end"))  # fmt: skip
    title = f"{_name(s, language, 30)} ({s.indicator.unit.label.said(language)})"
    drawing.add(String(4, height - 12, title, fontName=_font(), fontSize=8))
    return drawing


def _trend_grid(statuses: Sequence[Status], language: str) -> list:  # type: ignore[type-arg]
    drawings = [_trend(s, language) for s in statuses]
    rows = [drawings[i : i + 2] + [""] * (2 - len(drawings[i : i + 2])) for i in range(0, len(drawings), 2)]
    return [KeepTogether([Table([r], colWidths=[88 * mm, 88 * mm]), Spacer(1, 4)]) for r in rows]
