"""Headless Chromium for the playground tests: Debian's browser driven by Playwright.

Playwright cannot download its own browser build here, so it drives the system Chromium
(``apt-get install chromium``; ``scripts/install-browser`` does it for ``make test``). When
the browser is missing the tests skip, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "playground"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    """The Chromium binary, or skip (fail in CI) when it is not installed."""
    path = os.environ.get("OPENREEL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if Path(path).is_file():
        return path
    message = (
        f"Chromium not found at {path}: run scripts/install-browser (apt-get install chromium)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class Steps:
    """Numbered full-page screenshots of one test, kept as artifacts."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.dir = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.count = 0
        print(f"screenshots: {self.dir}")

    def shot(self, step: str) -> Path:
        self.count += 1
        path = self.dir / f"{self.count:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
