"""The web playground in a real browser (headless Chromium + Playwright) against a real server.

The motion-brush test paints through the page with the mouse, then checks on the server side
that the stored masks cover what was painted and that the trajectory arrived in Kling's
bottom-left pixel coordinates; it then runs the page's curl command and Python SDK call and
checks that they make the same request (the server answers with the same task).
Screenshots of every step are kept under test-artifacts/playground/.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from openreel.store.db import Database
from openreel.store.tasks import TaskRecord, TaskRepository
from tests.support.browser import FLAGS, Steps, chromium_path
from tests.support.helpers import b64, encode, textured
from tests.support.server import ServerProcess, running_server

WIDTH, HEIGHT = 640, 400
RENDER_TIMEOUT_MS = 240_000


@pytest.fixture
def server(server_dir: Path, server_env: dict[str, str]) -> Iterator[ServerProcess]:
    with running_server(server_dir, server_env) as server:
        yield server


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
def artifact_name(request: pytest.FixtureRequest, database_url: str | None) -> str:
    return f"{request.node.name}-{'postgresql' if database_url else 'sqlite'}"


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(encode(textured(WIDTH, HEIGHT, seed=21)))
    return path


def open_page(browser: Browser, server: ServerProcess, width: int, height: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#api-key", server.printed_key())
    return page


def set_range(page: Page, selector: str, value: float) -> None:
    page.locator(selector).evaluate(
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input')); }",
        value,
    )


def to_page(page: Page, x: float, y: float) -> tuple[float, float]:
    """Image pixel coordinates (top-left origin) -> page coordinates over the brush canvas."""
    canvas = page.locator("#brush-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    return box["x"] + x * box["width"] / WIDTH, box["y"] + y * box["height"] / HEIGHT


def drag(page: Page, a: tuple[float, float], b: tuple[float, float]) -> None:
    start, end = to_page(page, *a), to_page(page, *b)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    page.mouse.up()


def stored_task(database_url: str | None, server_dir: Path, task_id: str) -> TaskRecord:
    """The task row as the server stored it (read in a thread: Playwright's sync API owns
    this thread's event loop)."""
    url = database_url or f"sqlite:///{server_dir / 'openreel.db'}"

    async def read() -> TaskRecord:
        db = Database(url)
        try:
            row = await TaskRepository(db).get(task_id)
        finally:
            await db.dispose()
        assert row is not None
        return row

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def segment_distance(a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    """Distance of every pixel centre of the image to the segment a-b (top-left origin)."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH] + 0.5
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / (dx * dx + dy * dy), 0, 1)
    distance: np.ndarray = np.hypot(ax + t * dx - xs, ay + t * dy - ys)
    return distance


def assert_mask(
    mask_path: Path,
    r: float,
    painted: tuple[tuple[float, float], tuple[float, float]],
    erased: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> None:
    """The stored mask is white exactly where the ``painted`` stroke (radius ``r``) minus
    the ``erased`` one covers pixel centres (1.5 px of slack at the edges)."""
    mask = np.array(Image.open(mask_path).convert("L"))
    assert mask.shape == (HEIGHT, WIDTH)
    assert set(np.unique(mask)) == {0, 255}  # crisp: no anti-aliased grey
    inside = segment_distance(*painted)
    rubbed = segment_distance(*erased) if erased else np.full(mask.shape, np.inf)
    white = (inside <= r - 1.5) & (rubbed > r + 1.5)
    black = (inside > r + 1.5) | (rubbed <= r - 1.5)
    assert (mask[white] == 255).all(), "painted pixels missing from the mask"
    assert (mask[black] == 0).all(), "mask has pixels that were not painted or were erased"


def wait_succeed(page: Page, task_id: str) -> None:
    item = page.locator(f'li.task[data-task-id="{task_id}"]')
    page.wait_for_function(
        "el => ['succeed', 'failed'].includes(el.dataset.status)",
        arg=item.element_handle(),
        timeout=RENDER_TIMEOUT_MS,
    )
    assert item.get_attribute("data-status") == "succeed", item.inner_text()


def download_all(page: Page, task_id: str, into: Path) -> list[str]:
    item = page.locator(f'li.task[data-task-id="{task_id}"]')
    item.locator("details.snippets summary").click()
    names = []
    for link in item.locator("ul.downloads a").all():
        with page.expect_download() as info:
            link.click()
        download = info.value
        download.save_as(into / download.suggested_filename)
        names.append(download.suggested_filename)
    return names


def run_python_snippet(page: Page, task_id: str, work: Path, key: str) -> str:
    """Run the task's Python SDK snippet in ``work`` (which holds the files it names); return
    the task id it printed."""
    python = page.locator(f'li.task[data-task-id="{task_id}"] .snippet-python').text_content()
    assert python
    run = subprocess.run(
        [sys.executable, "-c", python],
        cwd=work,
        env={**os.environ, "OPENREEL_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    # The last line: "<task_id> [PosixPath('result.mp4')]" (progress lines come first).
    return run.stdout.strip().splitlines()[-1].split()[0]


def test_motion_brush_through_the_page(
    browser: Browser,
    server: ServerProcess,
    server_dir: Path,
    database_url: str | None,
    photo: Path,
    artifact_name: str,
    tmp_path: Path,
) -> None:
    page = open_page(browser, server, 1280, 900)
    steps = Steps(page, artifact_name)
    steps.shot("loaded")

    page.set_input_files("#i2v-image", str(photo))
    page.wait_for_function(
        "document.querySelector('#i2v-image-info').textContent.includes('640x400')"
    )
    page.check('input[name="i2v-control"][value="brush"]')
    page.fill("#i2v-prompt", "the square drifts up and to the right")
    steps.shot("image-picked")

    radius = 15.0
    set_range(page, "#brush-size", int(radius * 2))
    static_stroke = ((60.5, 60.5), (60.5, 330.5))
    drag(page, *static_stroke)  # the static brush is selected first
    drag(page, (200.5, 300.5), (300.5, 300.5))  # a slip ...
    page.click("#brush-undo")  # ... undone
    page.check('input[name="brush-tool"][value="erase"]')
    erased = ((40.5, 200.5), (80.5, 200.5))
    drag(page, *erased)  # a gap rubbed out of the static stroke
    page.check('input[name="brush-tool"][value="paint"]')
    page.click('#brush-list button[data-index="1"]')
    dynamic_stroke = ((420.5, 200.5), (480.5, 200.5))
    drag(page, *dynamic_stroke)
    page.check('input[name="brush-tool"][value="path"]')
    clicks = [(450.5, 200.5), (520.5, 150.5), (590.5, 110.5)]
    for x, y in clicks:
        page.mouse.click(*to_page(page, x, y))
    assert "3 pts" in page.inner_text('#brush-list button[data-index="1"]')
    steps.shot("painted")

    page.click("#submit")
    page.wait_for_selector("li.task")
    task_id = page.locator("li.task").first.get_attribute("data-task-id")
    assert task_id, page.inner_text("#form-error")
    wait_succeed(page, task_id)
    steps.shot("succeed")

    video = page.locator(f'li.task[data-task-id="{task_id}"] video')
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 0.5", arg=video.element_handle(), timeout=20_000)
    steps.shot("playing")
    link = page.locator(f'li.task[data-task-id="{task_id}"] a.download')
    assert link.get_attribute("href") == video.get_attribute("src")
    assert link.get_attribute("download") == f"{task_id}.mp4"

    # Server side: what was drawn is what was stored.
    row = stored_task(database_url, server_dir, task_id)
    params = dict(row.params)
    assert params["model_name"] == "kling-v1" and params["duration"] == "5"
    [group] = params["dynamic_masks"]
    # Pixel (column, row from the top) -> Kling (x, height - 1 - row), origin bottom-left.
    assert group["trajectories"] == [{"x": int(x), "y": HEIGHT - 1 - int(y)} for x, y in clicks]
    blobs = server_dir / "blobs"
    inputs = row.plan["inputs"]
    assert_mask(blobs / inputs["static_mask"], radius, static_stroke, erased)
    assert_mask(blobs / inputs["dynamic_masks[0].mask"], radius, dynamic_stroke)
    assert page.errors == []  # type: ignore[attr-defined]

    # The page's curl command and Python call make the same request: same task back.
    work = tmp_path / "snippets"
    work.mkdir()
    names = download_all(page, task_id, work)
    assert any(name.startswith("request_") for name in names)
    assert sum(name.startswith(("static_mask_", "dynamic_mask_1_")) for name in names) == 2
    shutil.copy(photo, work / "photo.png")
    item = page.locator(f'li.task[data-task-id="{task_id}"]')
    curl = item.locator(".snippet-curl").inner_text()
    assert "client.image2video(" in item.locator(".snippet-python").inner_text()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    item.get_by_role("button", name="Copy curl").click()
    assert page.evaluate("navigator.clipboard.readText()") == curl
    steps.shot("snippets")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # long lines scroll
    env = {**os.environ, "OPENREEL_API_KEY": server.printed_key()}
    assert f"{server.url}/v1/videos/image2video" in curl
    if shutil.which("curl"):
        out = subprocess.run(
            ["bash", "-c", curl], cwd=work, env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        answer = json.loads(out.stdout)
    else:  # the same request without the curl binary
        request_file = next(name for name in names if name.startswith("request_"))
        answer = httpx.post(
            f"{server.url}/v1/videos/image2video",
            content=(work / request_file).read_bytes(),
            headers={"Authorization": f"Bearer {env['OPENREEL_API_KEY']}"},
        ).json()
    assert answer["data"]["task_id"] == task_id, answer

    assert run_python_snippet(page, task_id, work, server.printed_key()) == task_id
    assert (work / "result.mp4").stat().st_size > 1000


def test_rules_are_checked_in_the_page(
    browser: Browser, server: ServerProcess, artifact_name: str, tmp_path: Path
) -> None:
    page = open_page(browser, server, 1280, 900)
    steps = Steps(page, artifact_name)
    small = tmp_path / "small.png"
    small.write_bytes(encode(textured(200, 200)))
    page.set_input_files("#i2v-image", str(small))
    error = page.locator("#err-i2v-image")
    error.wait_for()
    assert error.inner_text() == "image: image is 200x200; each side must be at least 300 px"
    assert page.locator("#i2v-image").get_attribute("aria-invalid") == "true"
    steps.shot("small-image-refused")

    wide = tmp_path / "wide.png"
    wide.write_bytes(encode(textured(800, 300)))
    page.set_input_files("#i2v-image", str(wide))
    page.wait_for_function(
        "document.querySelector('#err-i2v-image').textContent.includes('800:300')"
    )
    assert "outside 1:2.5 to 2.5:1" in error.inner_text()
    steps.shot("wide-image-refused")

    # Nothing valid was picked: submitting names the field and sends nothing.
    page.click("#submit")
    assert error.inner_text() == "image: pick the first-frame image"
    assert page.locator("li.task").count() == 0
    tasks = httpx.get(
        f"{server.url}/v1/videos/image2video",
        headers={"Authorization": f"Bearer {server.printed_key()}"},
    ).json()["data"]
    assert tasks == []
    assert page.errors == []  # type: ignore[attr-defined]


def test_server_errors_are_shown_next_to_their_field(
    browser: Browser, server: ServerProcess, photo: Path, artifact_name: str
) -> None:
    page = open_page(browser, server, 1280, 900)
    steps = Steps(page, artifact_name)
    page.set_input_files("#i2v-image", str(photo))
    page.wait_for_function("document.querySelector('#i2v-image-info').textContent !== ''")
    # Camera control is not in kling-v1's capability map: the server refuses it (1201).
    page.check('input[name="i2v-control"][value="camera"]')
    set_range(page, "#camera-zoom", 5)
    page.click("#submit")
    camera_error = page.locator("#err-camera")
    camera_error.wait_for()
    assert camera_error.inner_text().startswith("camera_control: not supported by kling-v1")
    steps.shot("camera-refused-by-server")

    page.fill("#api-key", "")
    page.click("#submit")
    key_error = page.locator("#err-api-key")
    key_error.wait_for()
    assert "enter the API key the server printed" in key_error.inner_text()
    page.fill("#api-key", "or_not-a-key")
    page.click("#submit")
    page.wait_for_function(
        "(t => t && !t.includes('enter the API key'))"
        "(document.querySelector('#err-api-key').textContent)"
    )
    assert key_error.inner_text() != ""
    assert page.locator("#api-key").get_attribute("aria-invalid") == "true"
    steps.shot("bad-key")
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_missing_key_met_by_the_task_list_says_where_keys_come_from(
    browser: Browser, server: ServerProcess
) -> None:
    # Emptying the key and leaving the field refreshes the task list, which meets 1001 on its
    # own (no create involved): the hint must be there too. Before, a create's answer and
    # this refresh's raced for the same slot, and the refresh's had no hint.
    page = open_page(browser, server, 1280, 900)
    page.click("h1")  # leave the field holding the key: the next edit is a change
    page.fill("#api-key", "")
    page.press("#api-key", "Tab")
    key_error = page.locator("#err-api-key")
    key_error.wait_for()
    assert "enter the API key the server printed" in key_error.inner_text()
    assert page.errors == []  # type: ignore[attr-defined]


def test_narrow_screen_and_keyboard_only(
    browser: Browser,
    server: ServerProcess,
    server_dir: Path,
    database_url: str | None,
    photo: Path,
    artifact_name: str,
) -> None:
    page = open_page(browser, server, 375, 740)
    steps = Steps(page, artifact_name)
    # Nothing is wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.set_input_files("#i2v-image", str(photo))
    page.wait_for_function("document.querySelector('#i2v-image-info').textContent !== ''")
    page.focus('input[name="i2v-control"][value="none"]')
    for _ in range(2):  # None -> Tail -> Motion brush, with the arrow keys of a radio group
        page.keyboard.press("ArrowRight")
    assert page.is_visible("#brush-canvas")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    steps.shot("narrow-brush")

    # The canvas is in the tab order, right after the brush buttons.
    page.focus("#brush-clear-path")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "brush-canvas"
    page.keyboard.press("Digit1")  # dynamic brush 1
    page.keyboard.press("b")  # paint tool
    # The cursor starts at the image centre (320, 200); one arrow press moves it 1/100 of the
    # longer side (6 px).
    page.keyboard.down(" ")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.up(" ")
    page.keyboard.press("t")
    page.keyboard.press("Enter")  # (338, 200)
    for _ in range(2):
        page.keyboard.press("Shift+ArrowUp")  # 60 px up each
    page.keyboard.press("Enter")  # (338, 80)
    status = page.inner_text("#brush-status")
    assert "2 trajectory points" in status and "nothing painted" not in status
    steps.shot("keyboard-painted")

    page.focus("#submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("li.task")
    task_id = page.locator("li.task").first.get_attribute("data-task-id")
    assert task_id
    wait_succeed(page, task_id)
    page.click(f'li.task[data-task-id="{task_id}"] details.snippets summary')
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    steps.shot("narrow-succeed")

    row = stored_task(database_url, server_dir, task_id)
    [group] = row.params["dynamic_masks"]
    assert group["trajectories"] == [
        {"x": 338, "y": HEIGHT - 1 - 200},
        {"x": 338, "y": HEIGHT - 1 - 80},
    ]
    assert "static_mask" not in row.params  # the static brush was never painted
    assert page.errors == []  # type: ignore[attr-defined]


def test_multi_image_to_image_gallery(
    browser: Browser, server: ServerProcess, artifact_name: str, tmp_path: Path
) -> None:
    page = open_page(browser, server, 1280, 900)
    steps = Steps(page, artifact_name)
    page.check('input[name="endpoint"][value="multi_image2image"]')
    subjects = []
    for i in range(2):
        path = tmp_path / f"subject{i}.png"
        path.write_bytes(encode(textured(400, 400, seed=i)))
        subjects.append(str(path))
    page.set_input_files("#mi2i-subjects", subjects)
    page.wait_for_function("document.querySelectorAll('#mi2i-list li').length === 2")
    page.fill("#mi2i-prompt", "two friends on a beach")
    set_n = page.locator("#mi2i-n")
    set_n.fill("2")
    page.select_option("#mi2i-aspect", "1:1")
    steps.shot("subjects-picked")
    page.click("#submit")
    page.wait_for_selector("li.task")
    task_id = page.locator("li.task").first.get_attribute("data-task-id")
    assert task_id
    wait_succeed(page, task_id)
    images = page.locator(f'li.task[data-task-id="{task_id}"] .gallery img')
    assert images.count() == 2
    for i in range(2):
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=images.nth(i).element_handle()
        )
    assert images.first.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1024, 1024]
    python = page.locator(f'li.task[data-task-id="{task_id}"] .snippet-python').text_content()
    assert python and '["subject0.png", "subject1.png"]' in python
    steps.shot("gallery")
    # The SDK call builds the same body from the same files: the server returns this task.
    work = tmp_path / "snippets"
    work.mkdir()
    download_all(page, task_id, work)
    for subject in subjects:
        shutil.copy(subject, work)
    assert run_python_snippet(page, task_id, work, server.printed_key()) == task_id
    assert sorted(p.name for p in (work / "results").iterdir()) == [
        f"{task_id}-0.png",
        f"{task_id}-1.png",
    ]
    assert page.errors == []  # type: ignore[attr-defined]


DROP_FILES = """([selector, files]) => {
    const transfer = new DataTransfer();
    for (const [name, b64] of files) {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], name, {type: "image/png"}));
    }
    const zone = document.querySelector(selector);
    zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true}));
    zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
}"""


def test_multi_image2video_with_dropped_images(
    browser: Browser, server: ServerProcess, artifact_name: str, tmp_path: Path
) -> None:
    page = open_page(browser, server, 1280, 900)
    steps = Steps(page, artifact_name)
    page.check('input[name="endpoint"][value="multi_image2video"]')
    names = ["first.png", "second.png", "tiny.png"]
    images = [encode(textured(480, 360, seed=1)), encode(textured(480, 360, seed=2))]
    images.append(encode(textured(200, 200, seed=3)))
    for name, data in zip(names, images, strict=True):
        (tmp_path / name).write_bytes(data)
    page.evaluate(
        DROP_FILES,
        [
            '.drop[data-drop-for="mi2v-images"]',
            [[n, b64(d)] for n, d in zip(names, images, strict=True)],
        ],
    )
    page.wait_for_function("document.querySelectorAll('#mi2v-list li').length === 2")
    # The third file breaks the side rule and is named with its list position.
    refused = page.inner_text("#err-mi2v-images")
    assert (
        "tiny.png: image_list[2].image: image is 200x200; each side must be at least 300 px"
        in refused
    )
    steps.shot("dropped")
    page.click("#submit")  # no prompt yet: refused in the page
    assert page.inner_text("#err-mi2v-prompt") == "prompt: is required for multi-image2video"
    page.fill("#mi2v-prompt", "the two scenes blend")
    page.select_option("#mi2v-aspect", "1:1")
    page.click("#submit")
    page.wait_for_selector("li.task")
    task_id = page.locator("li.task").first.get_attribute("data-task-id")
    assert task_id
    wait_succeed(page, task_id)
    video = page.locator(f'li.task[data-task-id="{task_id}"] video')
    page.wait_for_function(
        "v => v.readyState >= 1 && v.videoWidth === v.videoHeight", arg=video.element_handle()
    )
    steps.shot("succeed")
    work = tmp_path / "snippets"
    work.mkdir()
    download_all(page, task_id, work)
    for name in names[:2]:
        shutil.copy(tmp_path / name, work)
    assert run_python_snippet(page, task_id, work, server.printed_key()) == task_id
    assert page.errors == []  # type: ignore[attr-defined]


def test_tail_frame_and_camera_requests(
    browser: Browser,
    server: ServerProcess,
    server_dir: Path,
    database_url: str | None,
    photo: Path,
    artifact_name: str,
    tmp_path: Path,
) -> None:
    page = open_page(browser, server, 1280, 900)
    steps = Steps(page, artifact_name)
    page.set_input_files("#i2v-image", str(photo))
    page.wait_for_function("document.querySelector('#i2v-image-info').textContent !== ''")
    tail = tmp_path / "tail.png"
    tail.write_bytes(encode(textured(WIDTH, HEIGHT, seed=99)))
    page.check('input[name="i2v-control"][value="tail"]')
    page.set_input_files("#i2v-tail", str(tail))
    page.wait_for_function("document.querySelector('#i2v-tail-info').textContent !== ''")
    page.click("#submit")
    first = page.locator("li.task").first
    first.wait_for()
    tail_task = first.get_attribute("data-task-id")
    assert tail_task
    steps.shot("tail-frame")

    # Camera control: Kling allows it on kling-v1-5 pro 5 s; one slider moves at a time.
    page.check('input[name="i2v-control"][value="camera"]')
    page.click("#control-fix")  # kling-v1 has no camera control: the page offers a switch
    assert page.input_value("#i2v-model") == "kling-v1-5"
    assert page.input_value("#i2v-mode") == "pro"
    assert page.is_hidden("#control-fix")
    set_range(page, "#camera-pan", 4)
    set_range(page, "#camera-zoom", -2.5)
    assert page.input_value("#camera-pan") == "0"  # simple: the other axis went back to 0
    page.click("#submit")
    page.wait_for_function("document.querySelectorAll('li.task').length === 2")
    camera_task = page.locator("li.task").first.get_attribute("data-task-id")
    assert camera_task and camera_task != tail_task
    steps.shot("camera")

    inputs = stored_task(database_url, server_dir, tail_task).plan["inputs"]
    assert set(inputs) == {"image", "image_tail"}
    tail_blob = server_dir / "blobs" / inputs["image_tail"]
    assert tail_blob.read_bytes() == tail.read_bytes()  # the picked file, byte for byte
    params = stored_task(database_url, server_dir, camera_task).params
    assert params["camera_control"] == {
        "type": "simple",
        "config": {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": -2.5},
    }
    assert (params["model_name"], params["mode"]) == ("kling-v1-5", "pro")
    assert page.errors == []  # type: ignore[attr-defined]


def test_no_key_needed_on_a_server_without_auth(
    browser: Browser, server_dir: Path, server_env: dict[str, str], photo: Path
) -> None:
    with running_server(server_dir, server_env, ["--no-auth"]) as server:
        page = browser.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector("body[data-ready=true]")
        assert page.input_value("#api-key") == ""
        page.set_input_files("#i2v-image", str(photo))
        page.wait_for_function("document.querySelector('#i2v-image-info').textContent !== ''")
        page.click("#submit")
        page.wait_for_selector("li.task")
        assert page.inner_text("#err-api-key") == ""
        task_id = page.locator("li.task").first.get_attribute("data-task-id")
        assert task_id
        wait_succeed(page, task_id)
