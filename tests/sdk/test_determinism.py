"""Identical requests render identical outputs: the seed hashes what is rendered, not the
``external_task_id`` the SDK adds to every create, nor the host the request came through, nor
where its callbacks go (docs/engines.md, "Determinism")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from openreel import Client
from tests.support.helpers import encode, image_bytes, textured
from tests.support.live import Live


def pixels(files: list[Path]) -> list[np.ndarray]:
    out = []
    for file in files:
        with Image.open(file) as image:
            out.append(np.asarray(image.convert("RGB")))
    return out


def test_identical_requests_give_identical_pictures_through_any_host(
    live: Live, tmp_path: Path
) -> None:
    subjects = [encode(textured(400, 400, seed=11)), encode(textured(400, 400, seed=12))]
    scene = image_bytes(800, 500, fmt="JPEG", seed=13)
    request: dict[str, Any] = {
        "scene": scene,
        "n": 2,
        "aspect_ratio": "16:9",
        "prompt": "two friends",
    }
    # The same server seen under another name (as behind a proxy): only the Host differs.
    other_host = httpx.Client(headers={"Host": "openreel.example.com"}, timeout=60)
    with (
        Client(live.url, live.api_key) as plain,
        Client(live.url, live.api_key, http_client=other_host) as renamed,
    ):
        created = [
            plain.multi_image2image(subjects, **request),  # a random external_task_id each
            plain.multi_image2image(subjects, **request),
            renamed.multi_image2image(subjects, callback_url="http://127.0.0.1:9/hook", **request),
            plain.multi_image2image(subjects, external_task_id="mine-1", **request),
        ]
        assert len({task.task_id for task in created}) == 4
        renders = []
        for number, task in enumerate(created):
            done = plain.wait(plain.get(task.task_id, "multi_image2image"))
            assert done.task_status == "succeed", done.task_status_msg
            renders.append(pixels(plain.download(done, tmp_path / str(number))))
        different = plain.wait(
            plain.multi_image2image(subjects, **{**request, "prompt": "two strangers"})
        )
        changed = pixels(plain.download(different, tmp_path / "different"))
    other_host.close()
    first = renders[0]
    assert len(first) == 2 and not np.array_equal(first[0], first[1])
    for other in renders[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    # A change in what is rendered (the prompt) does change the seed, hence the layout.
    assert not all(np.array_equal(a, b) for a, b in zip(first, changed, strict=True))
