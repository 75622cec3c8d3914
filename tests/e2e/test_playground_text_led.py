"""The playground's text2video and text-to-image forms in headless Chromium, against an app
whose stand-in engine serves every kind (the classic engine's test cards are tested with the
engine): the placeholder note, a task from submit to result, and server errors next to their
field."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from openreel.app import create_app
from openreel.config import Settings
from tests.fakes.engines import StandInEngine
from tests.support.app_server import ServedApp, serving
from tests.support.browser import FLAGS, Steps, chromium_path
from tests.support.helpers import encode, textured

TIMEOUT_MS = 60_000


@pytest.fixture
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> Iterator[ServedApp]:
    engine = StandInEngine()
    settings = make_settings(routes={"*": engine.name})
    with serving(create_app(settings, engines={engine.name: engine})) as served:
        yield served


@pytest.fixture
def page(browser: Browser, app: ServedApp) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#api-key", app.api_key)
    yield page
    assert errors == []


def submit_and_finish(page: Page) -> str:
    before = page.locator("li.task").count()
    page.click("#submit")
    page.wait_for_function(f"document.querySelectorAll('li.task').length > {before}")
    task_id = page.locator("li.task").first.get_attribute("data-task-id")
    assert task_id
    item = page.locator(f'li.task[data-task-id="{task_id}"]')
    page.wait_for_function(
        "el => ['succeed', 'failed'].includes(el.dataset.status)",
        arg=item.element_handle(),
        timeout=TIMEOUT_MS,
    )
    assert item.get_attribute("data-status") == "succeed", item.inner_text()
    return task_id


def run_snippet(python: str, work: Path, key: str) -> str:
    """Run a task's Python SDK snippet in ``work``; the task id it printed (last line)."""
    run = subprocess.run(
        [sys.executable, "-c", python],
        cwd=work,
        env={**os.environ, "OPENREEL_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()[-1].split()[0]


def test_text2video_form(
    page: Page, app: ServedApp, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    steps = Steps(page, request.node.name)
    page.check('input[name="endpoint"][value="text2video"]')
    note = page.locator("#form-text2video .placeholder-note")
    assert note.is_visible() and "Placeholders, not generations" in note.inner_text()
    assert "test card" in note.inner_text()

    # The page's own check: a prompt is required.
    page.click("#submit")
    assert page.locator("#err-t2v-prompt").inner_text() == "prompt: is required for text2video"

    # A rule only the server knows: kling-v1 moves the camera in std 5 s only.
    page.fill("#t2v-prompt", "a lighthouse at dusk")
    page.fill("#t2v-model", "kling-v1")
    page.select_option("#t2v-mode", "pro")
    page.select_option("#t2v-camera-type", "simple")
    page.select_option("#t2v-camera-axis", "zoom")
    page.click("#submit")
    camera = page.locator("#err-t2v-camera")
    camera.wait_for()
    assert camera.inner_text().startswith("camera_control: not supported by kling-v1 with mode pro")
    assert page.locator("#t2v-camera-type").get_attribute("aria-invalid") == "true"
    steps.shot("camera-refused-by-server")

    page.select_option("#t2v-mode", "std")
    page.select_option("#t2v-aspect", "9:16")
    task_id = submit_and_finish(page)
    item = page.locator(f'li.task[data-task-id="{task_id}"]')
    assert "text2video" in item.inner_text()
    assert item.locator("video").count() == 1
    python = item.locator(".snippet-python").text_content() or ""
    assert 'client.text2video(\n    "a lighthouse at dusk",' in python
    assert 'camera_control={"type": "simple", "config": {"zoom": 5}}' in python
    steps.shot("video-result")
    # The SDK call makes the same request: the server answers with this task.
    assert run_snippet(python, tmp_path, app.api_key) == task_id
    assert (tmp_path / "result.mp4").stat().st_size > 0


def test_text_to_image_form(page: Page, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    steps = Steps(page, request.node.name)
    page.check('input[name="endpoint"][value="image_generation"]')
    assert page.locator("#form-image_generation .placeholder-note").is_visible()

    # image_reference on a model without it: the server's refusal lands next to the field.
    reference = tmp_path / "face.png"
    reference.write_bytes(encode(textured(500, 600, seed=4)))
    page.set_input_files("#t2i-image", str(reference))
    page.wait_for_function("document.querySelector('#t2i-image-info').textContent !== ''")
    page.fill("#t2i-prompt", "the same face, as an astronaut")
    page.fill("#t2i-model", "kling-v1")
    page.select_option("#t2i-reference", "face")
    page.click("#submit")
    error = page.locator("#err-t2i-reference")
    error.wait_for()
    assert error.inner_text().startswith("image_reference: not supported by kling-v1")
    steps.shot("reference-refused-by-server")

    # The page's own check on n, then text-to-image alone: two square images.
    page.fill("#t2i-n", "12")
    page.click("#submit")
    assert page.locator("#err-t2i-n").inner_text() == "n: must be a whole number from 1 to 9"
    page.set_input_files("#t2i-image", [])
    page.select_option("#t2i-reference", "none")
    page.fill("#t2i-n", "2")
    page.select_option("#t2i-aspect", "1:1")
    task_id = submit_and_finish(page)
    item = page.locator(f'li.task[data-task-id="{task_id}"]')
    assert "text-to-image" in item.inner_text()
    images = item.locator(".gallery img")
    assert images.count() == 2
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=images.first.element_handle()
    )
    width, height = images.first.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert width == height
    python = item.locator(".snippet-python").text_content() or ""
    assert "client.images(" in python and "n=2," in python
    steps.shot("image-results")
