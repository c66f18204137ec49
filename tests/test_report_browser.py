"""report.html as a person sees it: rendered by headless Chromium, with no console error.

Needs the ``playwright`` package and a Chromium on PATH (Debian's ``chromium``; playwright's
own browser download is not used). Without them the test is skipped, unless
CONFORMANCE_REQUIRE_BROWSER=1 (tox env report-browser, CI), where it fails instead.
A screenshot of the page is kept in pytest's temporary folder, or in
CONFORMANCE_SCREENSHOT_DIR when set.
"""

import os
import shutil
from pathlib import Path

import pytest

from conformance.report.writer import write

REQUIRED = os.environ.get("CONFORMANCE_REQUIRE_BROWSER") == "1"
# Headless Chromium on a closed network: no background connections, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "no chromium on PATH (apt-get install chromium)"
        pytest.fail(message) if REQUIRED else pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser():
    if REQUIRED:
        import playwright.sync_api as playwright_api
    else:
        playwright_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_report_page_renders_its_clause_table_without_console_errors(browser, report_from_recordings, tmp_path):
    _, html_path = write(report_from_recordings, tmp_path / "report")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, requests = [], []
    page.on(
        "console",
        lambda message: message.type in ("error", "warning") and problems.append(f"{message.type}: {message.text}"),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(html_path.as_uri())

    rows = page.locator("details.clause")
    assert rows.count() == len(report_from_recordings["clauses"])
    assert page.locator("h1").inner_text().endswith("Airflow 3.3.2")
    assert page.locator("#summary [data-verdict=pass] strong").inner_text() == str(
        report_from_recordings["summary"]["pass"]
    )

    screenshots = Path(os.environ.get("CONFORMANCE_SCREENSHOT_DIR") or tmp_path)
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=screenshots / "report.png")

    clause = page.locator("details.clause[data-clause='RESULT-NONE-1']")
    lines = clause.locator("table.lines").first
    assert not lines.is_visible()  # closed until asked for
    clause.locator("> summary").click()
    assert lines.is_visible()
    assert clause.locator("> summary .badge").inner_text() == "expected divergence"
    assert clause.locator(".divergence").inner_text().startswith("A result task returning None")

    clause.screenshot(path=screenshots / "report-clause.png")
    page.close()

    assert problems == []
    assert requests == [html_path.as_uri()]  # nothing but the page itself
