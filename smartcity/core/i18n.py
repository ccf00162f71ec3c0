"""Languages of the platform: zh-CN by default, English by switch. gettext catalogues in smartcity/locale.

Message ids are English; ``locale/zh_CN/LC_MESSAGES/messages.po`` holds the Chinese. Catalogues are
compiled in memory when first used, so the repository holds only the editable ``.po`` text.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}
LANGUAGE_COOKIE = "smartcity_lang"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` (English is the identity)."""
    locale = LANGUAGES.get(language)
    po_file = LOCALE_DIR / str(locale) / "LC_MESSAGES" / "messages.po"
    if locale is None or not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(language: str, message: str, **variables: object) -> str:
    text = translations(language).gettext(message)
    return text % variables if variables else text


def pick_language(requested: str | None, cookie: str | None, default: str) -> str:
    for candidate in (requested, cookie):
        if candidate in LANGUAGES:
            return candidate
    return default
