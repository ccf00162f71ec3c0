"""Masking of citizens' personal data (names, phone numbers, ID numbers) for roles that do not need it."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")


def mask_phone(phone: str | None) -> str | None:
    """138****5678: keeps the first three and last four digits, as Chinese services customarily show."""
    if not phone:
        return phone
    digits = _DIGITS.findall(phone)
    if len(digits) < 8:
        return "*" * len(phone)
    return "".join(digits[:3]) + "****" + "".join(digits[-4:])


def mask_name(name: str | None) -> str | None:
    """张*, 欧阳** or J*** S****: the first character of each part survives."""
    if not name:
        return name
    if " " in name.strip():
        return " ".join(part[:1] + "*" * (len(part) - 1) for part in name.split())
    return name[:1] + "*" * max(len(name) - 1, 1)


def mask_id_number(number: str | None) -> str | None:
    """A resident ID (GB 11643, 18 characters) keeps its first six and last four characters."""
    if not number:
        return number
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return mask_name(email)
    local, domain = email.split("@", 1)
    return local[:1] + "***@" + domain
