"""The wheel as users get it: built from this tree, installed with its locked base dependencies
into a fresh virtualenv, and run from a folder with no source tree in sight.

Slow (a venv and ~40 locked packages from pip's cache), so it runs once per ``make test``
(SQLite pass; it uses no database of the suite).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import httpx
import pytest

from tests.support.helpers import image_b64, pg_admin_url
from tests.support.server import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        pg_admin_url() is not None, reason="no database involved: runs in the SQLite pass only"
    ),
]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path
    home: Path  # an empty working directory, away from the source tree

    def env(self, **extra: str) -> dict[str, str]:
        # Nothing of the test process's environment may point back at the source tree.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENREEL_", "PYTHON"))}
        env.update(extra)
        return env


def _run(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", dist, ROOT)  # fmt: skip
    (wheel,) = dist.glob("openreel-*.whl")
    venv = base / "venv"
    # This pip installs into the venv (--python): the venv needs no pip of its own, and
    # without byte-compiling every file of every package the install costs half the CPU.
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    pip: list[str | Path] = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python"]
    _run(*pip, "install", "--quiet", "--no-compile", "--require-hashes", "--no-deps",
         "-r", ROOT / "requirements" / "base.txt")  # fmt: skip
    _run(*pip, "install", "--quiet", "--no-compile", "--no-deps", wheel)
    _run(*pip, "check")
    home = base / "home"
    home.mkdir()
    return Installed(wheel=wheel, bin=venv / "bin", home=home)


def test_wheel_carries_web_files_migrations_types_and_license(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = {
        "openreel/py.typed",
        "openreel/web/static/index.html",
        "openreel/web/static/js/app.js",
        "openreel/store/migrations/env.py",
        "openreel/store/migrations/script.py.mako",
        "openreel/store/migrations/versions/0001_initial.py",
    }
    assert expected <= names, expected - names
    licenses = [n for n in names if n.endswith("/licenses/LICENSE")]
    assert licenses, sorted(n for n in names if ".dist-info/" in n)
    text = zipfile.ZipFile(installed.wheel).read(licenses[0]).decode()
    assert "Apache License" in text and "Version 2.0" in text
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


@pytest.fixture
def server(installed: Installed, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "data",
        free_port(),
        installed.env(),
        [],
        command=[str(installed.bin / "openreel")],
        cwd=installed.home,
    )
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def test_installed_server_renders_a_classic_video_and_serves_the_playground(
    server: ServerProcess, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {server.printed_key()}"}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        page = client.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        script = client.get("/playground/js/app.js")
        assert script.status_code == 200 and "import" in script.text

        created = client.post(
            "/kling/v1/videos/image2video",
            headers=headers,
            json={"model_name": "kling-v1", "image": image_b64(640, 400), "prompt": "pan"},
        )
        assert created.status_code == 200, created.text
        task_id = created.json()["data"]["task_id"]
        deadline = time.monotonic() + 180
        while True:
            data = client.get(f"/kling/v1/videos/image2video/{task_id}", headers=headers).json()[
                "data"
            ]
            if data["task_status"] in ("succeed", "failed"):
                break
            assert time.monotonic() < deadline, data
            time.sleep(0.3)
        assert data["task_status"] == "succeed", data
        video = client.get(data["task_result"]["videos"][0]["url"])
        assert video.status_code == 200
    mp4 = tmp_path / "result.mp4"
    mp4.write_bytes(video.content)
    with av.open(str(mp4)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) >= 24 and frames[0].ndim == 3


CASES = {
    "procrastinate queue": (
        ["serve"],
        {
            "OPENREEL_QUEUE": "procrastinate",
            "OPENREEL_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        },
        "OPENREEL_QUEUE=procrastinate",
        "openreel[scale]",
    ),
    "procrastinate worker": (
        ["worker"],
        {
            "OPENREEL_QUEUE": "procrastinate",
            "OPENREEL_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        },
        "OPENREEL_QUEUE=procrastinate",
        "openreel[scale]",
    ),
    "s3 blobs": (["serve"], {"OPENREEL_BLOBS": "s3://bucket"}, "OPENREEL_BLOBS", "openreel[scale]"),
    "postgres database": (
        ["keys", "list"],
        {"OPENREEL_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
        "OPENREEL_DATABASE_URL",
        "openreel[postgres]",
    ),
    "diffusers models": (
        ["serve"],
        {"OPENREEL_DIFFUSERS_MODELS": json.dumps({"wan": {"adapter": "wan_i2v", "weights": "/w"}})},
        "OPENREEL_DIFFUSERS_MODELS",
        "openreel[gpu]",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_missing_extra_stops_start_up_with_one_line(
    installed: Installed, tmp_path: Path, case: str
) -> None:
    args, env, setting, extra = CASES[case]
    result = subprocess.run(
        [str(installed.bin / "openreel"), *args],
        env=installed.env(OPENREEL_DATA_DIR=str(tmp_path / "data"), **env),
        cwd=installed.home,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert setting in lines[0] and f"pip install '{extra}'" in lines[0], lines[0]
    assert "Traceback" not in result.stdout + result.stderr
