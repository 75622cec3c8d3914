"""``openreel keys create|list|revoke`` against the same database the server uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import image_b64
from tests.server import running_server


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "openreel", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_keys_lifecycle_against_a_running_server(tmp_path: Path, database_url: str | None) -> None:
    env = {"OPENREEL_DATA_DIR": str(tmp_path / "d")}
    if database_url:
        env["OPENREEL_DATABASE_URL"] = database_url
    created = cli("keys", "create", "--name", "ci", env=env)
    assert created.returncode == 0, created.stderr
    api_key = created.stdout.split("API key:")[1].split()[0]
    key_id = created.stdout.split("id:")[1].split()[0]
    assert api_key.startswith("or_")

    with running_server(tmp_path / "d", env) as server:
        assert "API key:" not in "".join(server.output)  # a key existed: none printed
        headers = {"Authorization": f"Bearer {api_key}"}
        response = httpx.post(
            f"{server.url}/v1/videos/image2video",
            headers=headers,
            json={"image": image_b64()},
            timeout=30,
        )
        assert response.status_code == 200, response.text

        listed = cli("keys", "list", env=env)
        assert listed.returncode == 0 and "ci" in listed.stdout and "active" in listed.stdout
        assert api_key not in listed.stdout

        revoked = cli("keys", "revoke", key_id, env=env)
        assert revoked.returncode == 0, revoked.stderr
        response = httpx.get(f"{server.url}/v1/videos/image2video", headers=headers, timeout=30)
        assert response.status_code == 401 and response.json()["code"] == 1002
        assert "revoked" in cli("keys", "list", env=env).stdout

    assert cli("keys", "revoke", "nope", env=env).returncode == 1
