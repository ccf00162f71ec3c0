"""The zh-CN catalogue covers every message the code and templates use, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import smartcity.app  # noqa: F401 - registers every module's navigation
from smartcity.core import i18n
from smartcity.core.errors import _TITLES
from smartcity.core.web import NAVIGATION

ROOT = Path(__file__).resolve().parents[2]
PO_FILE = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
METHOD_MAP = [("smartcity/**.py", "python"), ("smartcity/**/templates/**.html", "jinja2")]
OPTIONS = {"smartcity/**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "translate": (2,)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _used_ids() -> set[str]:
    ids = {label for label in _TITLES.values()} | {item.label for item in NAVIGATION}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHOD_MAP, OPTIONS, keywords=KEYWORDS
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def _catalogue():  # type: ignore[no-untyped-def]
    with PO_FILE.open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def _ids(catalogue) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in catalogue if m.id}


def test_every_message_has_a_chinese_translation() -> None:
    catalogue = _ids(_catalogue())
    used = _used_ids()
    assert len(used) > 40
    missing = sorted(i for i in used if i not in catalogue or not catalogue[i].string)
    assert missing == [], f"add to {PO_FILE.name}: {missing}"


def test_no_obsolete_translations() -> None:
    obsolete = sorted(set(_ids(_catalogue())) - _used_ids())
    assert obsolete == [], f"remove from {PO_FILE.name}: {obsolete}"


def test_placeholders_survive_translation() -> None:
    wrong = []
    for message in _catalogue():
        if not message.id:
            continue
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        target = message.string[0] if isinstance(message.string, tuple) else message.string
        if set(PLACEHOLDER.findall(source)) != set(PLACEHOLDER.findall(target)):
            wrong.append(source)
    assert wrong == []


def test_languages_switch() -> None:
    assert i18n.gettext("zh-CN", "Sign in") == "登录"
    assert i18n.gettext("en", "Sign in") == "Sign in"
    assert i18n.gettext("zh-CN", "Welcome, %(name)s", name="李") == "欢迎，李"
    assert i18n.pick_language(None, "en", "zh-CN") == "en"
    assert i18n.pick_language("fr", None, "zh-CN") == "zh-CN"
