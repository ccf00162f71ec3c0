"""Reading CSV files that people export from spreadsheets: UTF-8 with or without a BOM, known columns only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from smartcity.core.errors import Problem


def read_csv(text: str, columns: Iterable[str]) -> list[dict[str, Any]]:
    """Rows as dicts without empty cells; a 422 naming any column that is not one of ``columns``."""
    allowed = tuple(columns)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    unknown = set(reader.fieldnames or ()) - set(allowed)
    if unknown or not reader.fieldnames:
        raise Problem(
            422,
            f"Unknown CSV columns: {', '.join(sorted(unknown)) or '(none)'}; use {', '.join(allowed)}.",
            code="bad-columns",
        )
    return [{k: v for k, v in row.items() if v not in (None, "")} for row in reader]
