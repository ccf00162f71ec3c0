"""Request bodies of the KPI API (responses are plain JSON built by the api module from the service's results)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from smartcity.core.schemas import Request


class ValueIn(Request):
    """A value with the document it comes from. To correct the current value of a period, send ``corrects`` (its
    version) and a ``note`` saying why: a new version is recorded and the old one kept."""

    value: Annotated[float, Field(allow_inf_nan=False, description="in the indicator's unit")]
    year: Annotated[int, Field(description="the year the value is for (2010–2030)")]
    quarter: Annotated[int, Field(ge=0, le=4, description="1–4 for a quarter; 0 (default) for the whole year")] = 0
    area_code: Annotated[str, Field(max_length=12, description="GB/T 2260 code; 310000, the city, by default")] = (
        "310000"
    )
    source_title: Annotated[str, Field(max_length=300, description="the document: bulletin, report, yearbook")] = ""
    source_url: Annotated[str | None, Field(max_length=500, description="where the document can be read")] = None
    source_reference: Annotated[
        str | None, Field(max_length=200, description="document number, table or page in it")
    ] = None
    note: Annotated[str, Field(max_length=2000, description="method note; why, for a correction")] = ""
    corrects: Annotated[int | None, Field(ge=1, description="the version this value corrects")] = None
