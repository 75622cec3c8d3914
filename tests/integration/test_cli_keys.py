"""``openreel keys create|list|revoke|webhook-secret`` against the same database the server uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from openreel.cli import app
from tests.support.helpers import image_b64
from tests.support.http_stub import HttpStub, Recorded
from tests.support.server import running_server

pytestmark = pytest.mark.db


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``openreel ARGS`` in this process (Typer's runner, ``env`` set while it runs): a Python
    start-up per command would cost more than the commands; ``cli_process`` runs the real one."""
    result = CliRunner().invoke(app, list(args), env=env)
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def cli_process(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
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
    created = cli_process("keys", "create", "--name", "ci", env=env)
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


def test_webhook_secret_set_rotate_and_end(tmp_path: Path, database_url: str | None) -> None:
    env = {
        "OPENREEL_DATA_DIR": str(tmp_path / "d"),
        "OPENREEL_ALLOWED_NETWORKS": "127.0.0.1/32",
        "OPENREEL_POLL_INTERVAL": "0.1",
    }
    if database_url:
        env["OPENREEL_DATABASE_URL"] = database_url
    created = cli("keys", "create", "--name", "hooks", env=env)
    api_key = created.stdout.split("API key:")[1].split()[0]
    key_id = created.stdout.split("id:")[1].split()[0]

    first = cli("keys", "webhook-secret", key_id, env=env)
    assert first.returncode == 0, first.stderr
    secret_1 = first.stdout.split("webhook secret:")[1].split()[0]
    assert secret_1.startswith("whsec_")
    assert "signed" in cli("keys", "list", env=env).stdout
    rotated = cli("keys", "webhook-secret", key_id, "--rotate", env=env)
    secret_2 = rotated.stdout.split("webhook secret:")[1].split()[0]
    assert "rotating" in cli("keys", "list", env=env).stdout

    receiver = HttpStub()
    try:
        with running_server(tmp_path / "d", env) as server:
            headers = {"Authorization": f"Bearer {api_key}"}

            def callback() -> Recorded:
                """The first callback of a new task. An earlier task's later callbacks may
                still arrive, signed before the change under test, so match the task id."""
                before = len(receiver.requests)
                response = httpx.post(
                    f"{server.url}/v1/videos/image2video",
                    headers=headers,
                    json={"image": image_b64(), "callback_url": f"{receiver.url}/h"},
                    timeout=30,
                )
                assert response.status_code == 200, response.text
                task_id = response.json()["data"]["task_id"]
                count = before + 1
                while True:
                    arrived = receiver.wait_for(count)[before:]
                    ours = [r for r in arrived if json.loads(r.body)["task_id"] == task_id]
                    if ours:
                        return ours[0]
                    count += 1

            both = callback()
            assert len(both.headers["webhook-signature"].split()) == 2
            for secret in (secret_1, secret_2):
                assert Webhook(secret).verify(both.body, both.headers) is not None

            assert cli("keys", "webhook-secret", key_id, "--end-rotation", env=env).returncode == 0
            only_new = callback()
            assert len(only_new.headers["webhook-signature"].split()) == 1
            assert Webhook(secret_2).verify(only_new.body, only_new.headers) is not None

            assert cli("keys", "webhook-secret", key_id, "--remove", env=env).returncode == 0
            assert "webhook-signature" not in callback().headers
    finally:
        receiver.close()

    bad = cli("keys", "webhook-secret", key_id, "--secret", "whsec_c2hvcnQ=", env=env)
    assert bad.returncode == 2 and "at least 24 bytes" in bad.stdout
    assert cli("keys", "webhook-secret", "nope", env=env).returncode == 1
