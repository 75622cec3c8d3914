"""``openreel text2video``, ``openreel images`` (text-to-image, one reference),
``openreel multi-image2image`` (the former ``images``) and ``openreel cancel``.

In-process (typer's runner): bodies against a recording transport, finished tasks against a
real app whose stand-in engine serves every kind (the classic engine's text-led renders are
tested with the engine)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from openreel import Client
from openreel.cli import app
from tests.fakes.engines import GatedEngine, StandInEngine
from tests.support.api import Api
from tests.support.helpers import encode, image_bytes, textured

ENV = {"OPENREEL_BASE_URL": "http://cli.test", "OPENREEL_API_KEY": "or_test", "COLUMNS": "200"}


class Recording:
    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []

    def answer(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.seen.append(request)
        data = {"task_id": "42", "task_status": "submitted", "created_at": 1, "updated_at": 1}
        return httpx.Response(200, json={"code": 0, "message": "SUCCEED", "data": data})

    def body(self) -> dict[str, Any]:
        (request,) = self.seen
        body: dict[str, Any] = json.loads(request.content)
        body.pop("external_task_id")
        return body


def serve_cli_with(monkeypatch: pytest.MonkeyPatch, http: httpx.Client) -> None:
    """The CLI's clients use ``http`` (kept open across commands)."""

    class Borrowed(Client):
        def close(self) -> None:
            return None

    def make(base_url: str | None, api_key: str | None) -> Client:
        return Borrowed(base_url, api_key, http_client=http)

    monkeypatch.setattr("openreel.client_cli.Client", make)


def cli(*args: str, key: str = "or_test", base_url: str = "http://cli.test") -> Result:
    env = {**ENV, "OPENREEL_API_KEY": key, "OPENREEL_BASE_URL": base_url}
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recording]:
    record = Recording()
    serve_cli_with(monkeypatch, httpx.Client(transport=httpx.MockTransport(record.answer)))
    yield record


def test_text2video_options_become_the_body(recording: Recording) -> None:
    done = cli(
        "text2video", "a lighthouse at dusk", "--negative-prompt", "blur",
        "--aspect-ratio", "9:16", "--duration", "10", "--mode", "pro", "--cfg-scale", "0.3",
        "--camera", "zoom=5", "--model", "kling-v1", "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert str(recording.seen[0].url) == "http://cli.test/v1/videos/text2video"
    assert recording.body() == {
        "prompt": "a lighthouse at dusk",
        "negative_prompt": "blur",
        "aspect_ratio": "9:16",
        "duration": "10",
        "mode": "pro",
        "cfg_scale": 0.3,
        "camera_control": {"type": "simple", "config": {"zoom": 5.0}},
        "model_name": "kling-v1",
    }
    assert json.loads(done.stdout)["task_id"] == "42"


def test_images_prompt_and_one_reference_become_the_body(
    recording: Recording, tmp_path: Path
) -> None:
    face = tmp_path / "me.png"
    face.write_bytes(image_bytes(500, 600, seed=2))
    done = cli(
        "images", "as an astronaut", "--image", str(face), "--image-reference", "face",
        "--image-fidelity", "0.6", "-n", "2", "--aspect-ratio", "3:4", "--resolution", "2k",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert str(recording.seen[0].url) == "http://cli.test/v1/images/generations"
    body = recording.body()
    assert body.pop("image")  # the file, as raw base64
    assert body == {
        "prompt": "as an astronaut",
        "image_reference": "face",
        "image_fidelity": 0.6,
        "n": 2,
        "aspect_ratio": "3:4",
        "resolution": "2k",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["text2video", "x", "--aspect-ratio", "4:3"], "aspect_ratio"),
        (["text2video", "x", "--camera", "spin=3"], "--camera"),
        (["images", "x", "--image-reference", "body"], "image_reference"),
        (["images", "x", "-n", "10"], "n: Input should be less than or equal to 9"),
    ],
)
def test_bad_input_exits_2_before_any_request(
    recording: Recording, args: list[str], message: str
) -> None:
    done = cli(*args)
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert recording.seen == []


def test_images_refuses_image_files_as_a_prompt_and_points_to_multi_image2image(
    recording: Recording, tmp_path: Path
) -> None:
    subject = tmp_path / "cat.png"
    subject.write_bytes(encode(textured(400, 400, seed=1)))
    done = cli("images", str(subject))
    assert done.exit_code == 2
    assert "multi-image2image" in done.output and recording.seen == []

    moved = cli("multi-image2image", str(subject), "-n", "2")
    assert moved.exit_code == 0, moved.output
    assert str(recording.seen[0].url) == "http://cli.test/v1/images/multi-image2image"
    assert recording.body()["n"] == 2 and "subject_image_list" in recording.body()


@pytest.fixture
def stand_in(api_factory: Callable[..., Api], monkeypatch: pytest.MonkeyPatch) -> str:
    engine = StandInEngine()
    api = api_factory(engines={engine.name: engine}, routes={"*": engine.name})
    serve_cli_with(monkeypatch, api.http)
    return api.new_key().api_key


def test_text2video_and_images_wait_and_save(stand_in: str, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    video = cli("text2video", "waves", "-o", str(clip), "--json", key=stand_in)
    assert video.exit_code == 0, video.output
    shown = json.loads(video.stdout)
    assert shown["task_status"] == "succeed" and shown["files"] == [str(clip)]
    with av.open(str(clip)) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0

    out = tmp_path / "foxes"
    made = cli("images", "a red fox", "-n", "2", "--aspect-ratio", "1:1", "-o", str(out),
               key=stand_in)  # fmt: skip
    assert made.exit_code == 0, made.output
    files = sorted(out.iterdir())
    assert len(files) == 2 and "saved" in made.stdout
    for file in files:
        with Image.open(file) as picture:
            assert picture.width == picture.height

    task_id = shown["task_id"]
    found = cli("get", task_id, "--json", key=stand_in)  # found on text2video by the search
    assert found.exit_code == 0 and json.loads(found.stdout)["task_id"] == task_id


def test_cancel_a_running_task(
    api_factory: Callable[..., Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = GatedEngine()
    api = api_factory(engines={engine.name: engine}, routes={"*": engine.name})
    serve_cli_with(monkeypatch, api.http)
    key = api.new_key().api_key
    try:
        created = json.loads(cli("text2video", "slow", "--json", key=key).stdout)
        cancelled = cli("cancel", created["task_id"], "--endpoint", "text2video", "--json", key=key)
        assert cancelled.exit_code == 0, cancelled.output
        assert json.loads(cancelled.stdout)["task_status"] == "failed"
        again = cli("cancel", created["task_id"], key=key)  # found by the search, already ended
        assert again.exit_code == 2 and "1201" in again.output
    finally:
        engine.release.set()
