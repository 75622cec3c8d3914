"""A third-party Kling client, the npm package ``kling-api`` (pinned in package-lock.json),
driven by drive-kling-api.mjs against a real openreel server with only its base URL changed.

The client insists on an https:// base URL and refuses to download from loopback or private
addresses, so the server speaks TLS with a test certificate for ``openreel.test``, Node trusts
that certificate (NODE_EXTRA_CA_CERTS) and resolve-host.mjs maps the name to 127.0.0.1, as a
hosts-file entry would. Everything else is the client's own code: AK/SK JWTs, creating and
querying image2video, text2video, multi-image2video, text-to-image and multi-image2image tasks,
its polling, its downloads and its account query.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.support.helpers import encode, textured
from tests.support.node import node_tools, npm_ci
from tests.support.results import mp4_frames
from tests.support.server import running_server
from tests.support.tls import self_signed

pytestmark = pytest.mark.slow

FOLDER = Path(__file__).resolve().parent
HOST = "openreel.test"
# The script's report of the last run, kept for reading (what the client saw).
REPORT = FOLDER.parents[1] / "test-artifacts" / "thirdparty" / "kling-api.json"


@pytest.fixture(scope="module")
def node() -> str:
    """The node executable, with this folder's node_modules installed from its lock."""
    node, npm = node_tools()
    npm_ci(FOLDER, npm)
    return node


def drive(node: str, env: dict[str, str], timeout: float) -> dict[str, Any]:
    result = subprocess.run(
        [node, "--import", "./resolve-host.mjs", "drive-kling-api.mjs"],
        cwd=FOLDER,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(result.stdout)
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_kling_api_client_renders_polls_and_downloads_through_openreel(
    node: str, tmp_path: Path, database_url: str | None
) -> None:
    cert, private_key = self_signed(tmp_path / "tls", names=(HOST,))
    image = tmp_path / "photo.png"
    image.write_bytes(encode(textured(640, 400, seed=5)))
    second = tmp_path / "second.png"
    second.write_bytes(encode(textured(640, 400, seed=7)))
    small = tmp_path / "small.png"
    small.write_bytes(encode(textured(120, 120, seed=6)))
    env = {"OPENREEL_POLL_INTERVAL": "0.1"}
    if database_url:
        env["OPENREEL_DATABASE_URL"] = database_url
    args = ["--ssl-certfile", str(cert), "--ssl-keyfile", str(private_key)]
    with running_server(tmp_path / "server", env, args, cafile=cert) as server:
        credentials = server.printed_credentials()
        base_url = f"https://{HOST}:{server.port}"
        report = drive(
            node,
            {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": str(tmp_path),  # no ~/.kling/.env of the machine's user
                "NODE_EXTRA_CA_CERTS": str(cert),
                "OPENREEL_HOSTS": f"{HOST}=127.0.0.1",
                "OPENREEL_BASE_URL": base_url,
                "KLING_ACCESS_KEY": credentials["access_key"],
                "KLING_SECRET_KEY": credentials["secret_key"],
                "OPENREEL_IMAGE": str(image),
                "OPENREEL_SECOND_IMAGE": str(second),
                "OPENREEL_SMALL_IMAGE": str(small),
                "OPENREEL_OUT": str(tmp_path / "out"),
            },
            timeout=900,
        )

    # The client's own guards: https only, and no downloads from loopback addresses.
    assert report["http_base_url"]["error"] == "Base URL must use HTTPS protocol", report
    assert "private/local addresses" in report["loopback_download"]["error"], report

    refused = report["too_small_image"]
    assert (refused["http_status"], refused["code"]) == (400, 1201), report
    assert refused["error"].startswith("image") and "300" in refused["error"], report
    assert refused["request_id"], report

    costs = report["account_costs"]
    assert costs["code"] == 0, report
    assert isinstance(costs["data"]["resource_pack_subscribe_infos"], list), report

    videos = ("image2video", "text2video", "multi_image2video")
    images = ("image", "multi_image2image")
    for family in (*videos, *images):
        outcome = report[family]
        assert "error" not in outcome, report
        assert outcome["created_code"] == 0 and outcome["task_status"] == "succeed", outcome
        assert [url.startswith(f"{base_url}/files/") for url in outcome["result_urls"]] == [True]
        assert len(outcome["saved"]) == 1, outcome

    for family in videos:
        frames, rate = mp4_frames(Path(report[family]["saved"][0]).read_bytes())
        assert len(frames) / rate == 5, (family, len(frames), rate)
        assert frames[0].std() > 1  # a picture, not a blank frame
    for family in images:
        with Image.open(report[family]["saved"][0]) as picture:
            picture.load()
            assert picture.format == "PNG" and min(picture.size) > 0, family
