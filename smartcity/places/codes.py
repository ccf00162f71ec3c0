"""Codes of places: GB/T 2260 divisions (6 digits), streets (9), communities (12), unit grids (15).

The hierarchy is in the code itself: a district's first two digits name its province-level city, a
street starts with its district, a community with its street, a grid with its community.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"^\d+$")
LEVEL_BY_LENGTH = {9: "street", 12: "community"}
LEVEL_NAMES = {  # accepted spellings of levels in imported files
    "city": "city",
    "省": "city",
    "市": "city",
    "district": "district",
    "区县": "district",
    "区": "district",
    "县": "district",
    "street": "street",
    "街道": "street",
    "镇": "street",
    "乡": "street",
    "community": "community",
    "社区": "community",
    "村": "community",
}


class CodeError(ValueError):
    pass


def level_of(code: str) -> str:
    """city (6 digits ending 0000), district (other 6 digits), street (9) or community (12)."""
    if not _DIGITS.match(code or ""):
        raise CodeError(f"code {code!r} must be digits only")
    if len(code) == 6:
        if code.endswith("0000"):
            return "city"
        if code.endswith("00"):
            raise CodeError(f"code {code} is a prefecture-level code; use the city (xx0000) or a district")
        return "district"
    if len(code) in LEVEL_BY_LENGTH:
        return LEVEL_BY_LENGTH[len(code)]
    raise CodeError(f"code {code!r} must have 6 (city, district), 9 (street) or 12 (community) digits")


def parent_of(code: str) -> str | None:
    level = level_of(code)
    if level == "city":
        return None
    if level == "district":
        return code[:2] + "0000"
    return code[:6] if level == "street" else code[:9]


def grid_code(community_code: str, sequence: int) -> str:
    if level_of(community_code) != "community":
        raise CodeError(f"{community_code} is not a community code")
    if not 1 <= sequence <= 999:
        raise CodeError(f"grid sequence {sequence} is outside 001–999")
    return f"{community_code}{sequence:03d}"


def split_grid_code(code: str) -> dict[str, str]:
    """The 15-digit grid code's parts: district, street, community codes and the sequence."""
    if not _DIGITS.match(code or "") or len(code) != 15:
        raise CodeError(f"grid code {code!r} must be 15 digits")
    return {"district": code[:6], "street": code[:9], "community": code[:12], "sequence": code[12:]}
