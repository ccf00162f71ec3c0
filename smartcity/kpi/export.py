"""The catalogue with latest values and progress as CSV (UTF-8 with a BOM, for spreadsheets) and Excel (a second
sheet holds every stored version). Text that a spreadsheet would take for a formula is quoted (OWASP CSV
injection): entered source titles are people's text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from smartcity.kpi.models import IndicatorValue
from smartcity.kpi.service import Status

COLUMNS = (
    "code", "name_zh", "name_en", "section", "source", "unit_zh", "unit_en", "direction", "target_op", "target",
    "target_year", "baseline_period", "baseline", "latest_period", "latest", "latest_origin", "latest_source",
    "progress_pct", "met", "status", "frameworks",
)  # fmt: skip
VALUE_COLUMNS = (
    "indicator", "area_code", "year", "quarter", "version", "supersedes_id", "value", "origin", "source_title",
    "source_url", "source_reference", "note", "recorded_at",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Any:
    """A cell's value, with text that starts like a formula quoted so a spreadsheet shows it as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def row(s: Status) -> dict[str, Any]:
    item, baseline, latest = s.indicator, s.baseline, s.latest
    return {
        "code": item.code,
        "name_zh": item.name.zh,
        "name_en": item.name.en,
        "section": item.section,
        "source": item.source,
        "unit_zh": item.unit.label.zh,
        "unit_en": item.unit.label.en,
        "direction": item.direction,
        "target_op": item.target_op,
        "target": item.target,
        "target_year": item.target_year,
        "baseline_period": baseline.label() if baseline else None,
        "baseline": baseline.value if baseline else None,
        "latest_period": latest.label() if latest else None,
        "latest": latest.value if latest else None,
        "latest_origin": latest.origin if latest else None,
        "latest_source": latest.source_title if latest else None,
        "progress_pct": s.progress.percent,
        "met": s.progress.met,
        "status": s.progress.status,
        "frameworks": "; ".join(f"{r.framework} {r.code or ''}".strip() for r in item.refs),
    }


def to_csv(statuses: Iterable[Status]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for s in statuses:
        writer.writerow({k: safe("" if v is None else v) for k, v in row(s).items()})
    return "\ufeff" + out.getvalue()


def to_xlsx(statuses: Sequence[Status], values: Sequence[IndicatorValue], *, with_recorder: bool = False) -> bytes:
    """A workbook: ``indicators`` (one row each, as the CSV) and ``values`` (every stored version)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "indicators"
    sheet.append(list(COLUMNS))
    for s in statuses:
        sheet.append([safe(v) for v in row(s).values()])
    versions = book.create_sheet("values")
    columns = [*VALUE_COLUMNS, *(["recorded_by"] if with_recorder else [])]
    versions.append(columns)
    for v in values:
        cells = [getattr(v, c) for c in columns]
        versions.append([safe(c.isoformat() if hasattr(c, "isoformat") else c) for c in cells])
    for ws in (sheet, versions):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
