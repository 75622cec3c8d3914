"""The client commands of the ``openreel`` CLI against a live server (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from tests.support.helpers import encode, image_bytes, textured
from tests.support.live import Live


def openreel(live: Live, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OPENREEL_BASE_URL": live.url,
        "OPENREEL_API_KEY": key or live.api_key,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "openreel", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pictures")
    files = {
        "photo": (root / "photo.png", image_bytes(640, 400, seed=31)),
        "other": (root / "other.png", image_bytes(500, 500, seed=32)),
        "small": (root / "small.png", image_bytes(200, 200)),
        "subject": (root / "subject.png", encode(textured(400, 400, seed=33))),
    }
    for path, data in files.values():
        path.write_bytes(data)
    mask = np.zeros((400, 640), np.uint8)
    cv2.circle(mask, (200, 200), 60, 255, -1)
    Image.fromarray(mask).save(root / "mask.png")
    return {name: path for name, (path, _) in files.items()} | {"mask": root / "mask.png"}


def test_image2video_waits_and_saves(live: Live, pictures: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    done = openreel(
        live, "image2video", str(pictures["photo"]), "--prompt", "zoom in", "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "succeed" in done.stdout and f"saved {out}" in done.stdout
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.width == 1152  # 720p at 640:400


def test_json_output_and_the_task_commands(
    live: Live, pictures: dict[str, Path], tmp_path: Path
) -> None:
    created = as_json(
        openreel(
            live, "image2video", str(pictures["photo"]), "--external-task-id", "cli-1", "--json"
        )
    )
    task_id = created["task_id"]
    assert created["task_status"] in ("submitted", "processing")

    waited = as_json(openreel(live, "wait", task_id, "--json", "-o", str(tmp_path / "w.mp4")))
    assert waited["task_status"] == "succeed" and waited["files"] == [str(tmp_path / "w.mp4")]
    got = as_json(openreel(live, "get", "cli-1", "--json"))  # by external_task_id, any endpoint
    assert got["task_id"] == task_id
    listed = as_json(openreel(live, "list", "--json", "--page-size", "100"))
    assert task_id in [t["task_id"] for t in listed]
    saved = as_json(openreel(live, "download", task_id, "-o", str(tmp_path / "d"), "--json"))
    assert saved["files"] == [str(tmp_path / "d" / f"{task_id}.mp4")]
    assert (tmp_path / "d" / f"{task_id}.mp4").read_bytes() == (tmp_path / "w.mp4").read_bytes()
    table = openreel(live, "list")
    assert table.returncode == 0 and task_id in table.stdout


def test_masks_and_camera_options_reach_the_server(
    live: Live, pictures: dict[str, Path], tmp_path: Path
) -> None:
    brushed = openreel(
        live, "image2video", str(pictures["photo"]), "--model", "kling-v1", "--mode", "pro",
        "--static-mask", str(pictures["mask"]),
        "--dynamic-mask", f"{pictures['mask']}:200,200;260,220;330,240",
        "--json", "-o", str(tmp_path / "brush.mp4"),
    )  # fmt: skip
    assert as_json(brushed)["task_status"] == "succeed"
    camera = openreel(
        live, "image2video", str(pictures["photo"]), "--model", "kling-v1-5", "--mode", "pro",
        "--camera", "zoom=5", "--json", "--wait",
    )  # fmt: skip
    assert as_json(camera)["task_status"] == "succeed"


def test_multi_image2video_and_multi_image2image(
    live: Live, pictures: dict[str, Path], tmp_path: Path
) -> None:
    video = openreel(
        live, "multi-image2video", str(pictures["subject"]), str(pictures["other"]),
        "--prompt", "they meet", "--aspect-ratio", "1:1", "-o", str(tmp_path / "m.mp4"), "--json",
    )  # fmt: skip
    assert as_json(video)["task_status"] == "succeed"
    with av.open(str(tmp_path / "m.mp4")) as container:
        context = container.streams.video[0].codec_context
        assert context.width == context.height

    out = tmp_path / "imgs"
    images = openreel(
        live, "multi-image2image", str(pictures["subject"]), "--scene", str(pictures["photo"]),
        "-n", "2", "--aspect-ratio", "4:3", "-o", str(out), "--json",
    )  # fmt: skip
    files = [Path(f) for f in as_json(images)["files"]]
    assert len(files) == 2 and all(f.parent == out for f in files)
    for file in files:
        with Image.open(file) as image:
            assert image.width * 3 == image.height * 4


def test_text2video_and_images_on_the_default_engine(live: Live, tmp_path: Path) -> None:
    # The classic engine answers both with test cards: real files of the asked geometry.
    clip = tmp_path / "t2v.mp4"
    video = openreel(
        live, "text2video", "a lighthouse at dusk", "--aspect-ratio", "1:1",
        "-o", str(clip), "--json",
    )  # fmt: skip
    assert as_json(video)["task_status"] == "succeed"
    with av.open(str(clip)) as container:
        context = container.streams.video[0].codec_context
        assert context.width == context.height

    out = tmp_path / "t2i"
    images = openreel(
        live, "images", "a red fox in snow", "-n", "2", "--aspect-ratio", "16:9",
        "-o", str(out), "--json",
    )  # fmt: skip
    files = [Path(f) for f in as_json(images)["files"]]
    assert len(files) == 2
    for file in files:
        with Image.open(file) as image:
            assert image.width * 9 == image.height * 16


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["image2video", "{small}"],
            2,
            "image: image is 200x200; each side must be at least 300 px",
        ),
        (["image2video", "{photo}", "--camera", "spin=3"], 2, "--camera"),
        (["image2video", "{photo}", "--dynamic-mask", "m.png:1,2;x"], 2, "--dynamic-mask"),
        (["image2video", "{photo}", "--duration", "7"], 2, "duration"),
        (["get", "999999"], 2, "no task '999999' on any endpoint"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    live: Live, pictures: dict[str, Path], args: list[str], code: int, message: str
) -> None:
    done = openreel(live, *[a.format(**pictures) for a in args])
    assert done.returncode == code, done.stdout + done.stderr
    assert message in done.stderr


def test_exit_codes_for_auth_failure_and_timeout(live: Live, pictures: dict[str, Path]) -> None:
    denied = openreel(live, "list", key="or_not-a-key")
    assert denied.returncode == 3 and "1002" in denied.stderr

    failing = openreel(live, "image2video", f"{live.url}/nothing-here.png", "--wait")
    assert failing.returncode == 4, failing.stderr
    assert "failed" in failing.stderr and "image: " in failing.stderr

    slow = openreel(
        live, "image2video", str(pictures["photo"]), "--model", "kling-v2-1",
        "--mode", "pro", "--duration", "10", "--wait", "--timeout", "0.5",
    )  # fmt: skip
    assert slow.returncode == 5 and "after 0.5 s" in slow.stderr
    # The 10 s 1080p render is not needed past this point: free the shared server of it.
    slow_id = slow.stderr.split("task ")[1].split()[0]
    assert openreel(live, "cancel", slow_id).returncode == 0


@pytest.mark.parametrize(
    "command",
    [
        "image2video", "text2video", "multi-image2video", "images", "multi-image2image",
        "get", "list", "wait", "cancel", "download",
    ],
)  # fmt: skip
def test_every_command_has_help_with_an_example(live: Live, command: str) -> None:
    done = openreel(live, command, "--help")
    assert done.returncode == 0
    assert "Example" in done.stdout and "openreel " in done.stdout
