"""Browser harness: the real app on a free port, Debian's Chromium driven by Playwright, and axe-core
(from npm, see package.json) injected into each page for the accessibility check."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("SMARTCITY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Chromium's own background traffic has nowhere to go on a closed network; keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# The user guides' pictures (docs/guides/): written only on request, never by an ordinary run or CI.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"
SCREENSHOT_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SCREENSHOT_MAX_HEIGHT = 1400  # CSS pixels


def _missing_tools() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Debian's chromium is not installed ({CHROMIUM}); run scripts/install-system-deps chromium"
    if not AXE.exists():
        return "axe-core is not installed; run npm ci"
    return None


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    missing = _missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI installs both: their absence there is a broken set-up, not a skip
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, database):  # type: ignore[no-untyped-def]
    # bypass_csp lets the test inject axe-core; the app's own CSP is asserted in the tests themselves.
    context = browser.new_context(base_url=live_server, bypass_csp=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def check_accessibility(page, known: frozenset[str] = frozenset()) -> None:  # type: ignore[no-untyped-def]
    """Fail on any serious or critical axe-core violation of WCAG 2.1 A/AA on the current page.

    ``known`` names rule ids to tolerate; only for third-party widgets we cannot change, each documented
    where it is passed."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical") and v["id"] not in known]
    summary = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )
    assert not bad, f"accessibility violations on {page.url}:\n{summary}"


def sign_in(page, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)  # staff land on /ops, others on the home page


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Save what the page shows now as ``docs/images/<name>.png`` for the user guides, only when the
    environment says ``SMARTCITY_SCREENSHOTS=1``; otherwise do nothing (ordinary runs and CI write no file).

    ``name`` is ``<role-or-area>-<what>`` in lower case, e.g. ``dispatcher-case-dispatch``. The picture is the
    viewport from the top of the page, made as tall as the page but at most ``SCREENSHOT_MAX_HEIGHT`` for the
    moment of the picture (the 720-pixel viewport alone cuts the forms the guides describe in half), then put
    back. Not Playwright's ``full_page``: that leaves the page scrolled so that the test's next click can miss."""
    if not SCREENSHOT_NAME.fullmatch(name):  # checked on every run, so a bad name fails before anyone regenerates
        raise ValueError(f"screenshot name {name!r}: lower-case words joined by '-', e.g. 'inspector-report-form'")
    if os.environ.get("SMARTCITY_SCREENSHOTS") != "1":
        return
    page.wait_for_load_state()  # a click that navigates may not have finished loading the next page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    if size:
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size(
            {"width": size["width"], "height": max(size["height"], min(height, SCREENSHOT_MAX_HEIGHT))}
        )
    page.evaluate("window.scrollTo(0, 0)")
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), type="png", animations="disabled", caret="hide")
    if size:
        page.set_viewport_size(size)
    _shrink(path)


def _shrink(path: Path) -> None:
    """256 colours suit a page's flat colours and text, at about a third of the size in the repository."""
    from PIL import Image

    with Image.open(path) as image:
        quantized = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    quantized.save(path, "PNG", optimize=True)
