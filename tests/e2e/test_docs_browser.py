"""The API reference rendered by a real browser: Debian's Chromium, headless, loads /docs
from a real server and must show every operation of /openapi.json.

The browser reaches no other host (background networking off, and the page names none),
so this also shows that the reference works offline. Skipped, with the reason, where
Chromium is not installed (CI installs it: .ci/run).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from adapters.contract.openapi import HTTP_METHODS, openapi_document
from tests.e2e.harness import start_server

if TYPE_CHECKING:
    from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RENDER_TIMEOUT = 180.0  # seconds: the browser starts, loads 1.5 MB of script, renders
VIRTUAL_TIME_MS = 30_000  # the page's own clock: time enough to fetch and render

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
)


def rendered_dom(url: str, profile: Path) -> str:
    """The page's DOM once its scripts have run (or the virtual time budget is spent)."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_MS}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        timeout=RENDER_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode()


def test_the_reference_renders_every_operation_of_the_document(tmp_path: Path) -> None:
    server = start_server(tmp_path / "docs.db", tmp_path, workers=1)
    try:
        dom = rendered_dom(f"http://127.0.0.1:{server.port}/docs", tmp_path / "profile")
    finally:
        server.stop()
    # Swagger UI gives each operation's block the id "operations-<tag>-<operationId>".
    rendered = set(re.findall(r'id="operations-[^"-]+-([A-Za-z0-9]+)"', dom))
    document = openapi_document()
    expected = {
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    assert expected - rendered == set(), "operations the page does not show"
    assert html.escape(document["info"]["title"]) in dom
