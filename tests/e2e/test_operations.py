"""What people running a server see: JSON logs of ``openreel serve`` and ``openreel worker``
(no secret in them), TLS straight from uvicorn, and proxy headers trusted only when listed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.helpers import image_b64, pg_admin_url
from tests.support.http_stub import HttpStub
from tests.support.logs import events, json_lines
from tests.support.server import ServerProcess, WorkerProcess, running_server
from tests.support.tls import self_signed

PATH = "/v1/videos/image2video"
BODY = {"image": image_b64(640, 400), "prompt": "zoom in", "model_name": "kling-v1"}


def wait_done(client: httpx.Client, task_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{PATH}/{task_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        if data["task_status"] in ("succeed", "failed"):
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.2)


def first_key(server: ServerProcess) -> dict[str, str]:
    """The fields of the first-key file (id, API key, access key, secret key)."""
    text = (server.data_dir / "first-key.txt").read_text()
    return {
        name.strip(): value.strip()
        for name, _, value in (line.partition(":") for line in text.splitlines())
    }


def assert_no_secrets(output: str, key: dict[str, str]) -> None:
    for secret in (key["API key"], key["secret key"]):
        assert secret not in output
    assert "API key:" not in output and "secret key:" not in output


def test_json_logs_of_a_server(server_dir: Path, server_env: dict[str, str]) -> None:
    receiver = HttpStub()
    try:
        with running_server(server_dir, server_env, ["--log-format", "json"]) as server:
            key = first_key(server)
            assert (server.data_dir / "first-key.txt").stat().st_mode & 0o777 == 0o600
            with httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {key['API key']}"},
                timeout=30,
            ) as client:
                created = client.post(
                    PATH,
                    json={**BODY, "callback_url": f"{receiver.url}/hook"},
                    # From 127.0.0.1, which is not a trusted proxy by default: ignored.
                    headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
                )
                assert created.status_code == 200, created.text
                task_id = created.json()["data"]["task_id"]
                data = wait_done(client, task_id)
                assert data["task_status"] == "succeed", data
                assert data["task_result"]["videos"][0]["url"].startswith(server.url)
                deadline = time.monotonic() + 30
                while '"task_status":"succeed"' not in server.text():
                    assert time.monotonic() < deadline, "no callback attempt for succeed logged"
                    time.sleep(0.1)
        output = server.text()
    finally:
        receiver.close()

    assert_no_secrets(output, key)
    records = json_lines(output)  # every line the process wrote is one JSON object
    assert any(r["logger"].startswith("uvicorn") for r in records)  # uvicorn's own, as JSON
    (first,) = events(records, "key.first_created")
    assert first["key_id"] == key["id"] and first["level"] == "warning"

    (create_line,) = [r for r in events(records, "http.request") if r["method"] == "POST"]
    assert create_line["route"] == PATH and create_line["status"] == 200
    assert create_line["request_id"] == created.json()["request_id"]
    assert create_line["key_id"] == key["id"]
    assert create_line["client"] == "127.0.0.1"  # X-Forwarded-For was not trusted
    assert isinstance(create_line["duration_ms"], int | float)
    requests = events(records, "http.request")
    assert {r["route"] for r in requests if r["method"] == "GET"} == {
        "/healthz",  # the test's wait for the server
        PATH + "/{task_id}",  # never the path a client typed
    }
    polls = [r for r in requests if r["route"] == PATH + "/{task_id}"]
    assert all(r["key_id"] == key["id"] for r in polls)
    assert len({r["request_id"] for r in polls}) == len(polls)

    (task_created,) = events(records, "task.created")
    assert task_created["task_id"] == task_id and task_created["engine"] == "classic"
    assert task_created["request_id"] == create_line["request_id"]
    assert task_created["key_id"] == key["id"]
    (started,) = events(records, "render.started")
    (finished,) = events(records, "render.finished")
    for line in (started, finished):
        assert line["task_id"] == task_id and line["engine"] == "classic"
        assert line["key_id"] == key["id"]
    assert finished["status"] == "succeed" and finished["duration_ms"] > 0
    attempts = events(records, "callback.attempt")
    assert {a["task_status"] for a in attempts} >= {"submitted", "succeed"}
    for attempt in attempts:
        assert attempt["task_id"] == task_id and attempt["outcome"] == "delivered"
        assert attempt["http_status"] == 200 and attempt["duration_ms"] >= 0


def test_plain_logs_stay_the_default(server_dir: Path, server_env: dict[str, str]) -> None:
    with running_server(server_dir, server_env) as server:
        key = server.printed_key()  # printed once, as before
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            task_id = client.post(PATH, json=BODY).json()["data"]["task_id"]
            url = wait_done(client, task_id)["task_result"]["videos"][0]["url"]
            assert client.get(url).status_code == 200
    output = server.text()
    assert not (server_dir / "first-key.txt").exists()
    assert f'POST {PATH} HTTP/1.1" 200' in output  # uvicorn's access line
    assert not any(line.startswith("{") for line in output.splitlines())
    # The link's signature is a capability: masked in the access line.
    signature = httpx.URL(url).params["sig"]
    assert signature not in output and 'sig=*** HTTP/1.1" 200' in output
    # openreel's own records, with their fields.
    assert any(
        "task created" in line and f"task_id={task_id}" in line for line in output.splitlines()
    )
    assert any("render finished: succeed" in line for line in output.splitlines())


@pytest.mark.db
@pytest.mark.skipif(pg_admin_url() is None, reason="openreel worker runs on PostgreSQL only")
def test_json_logs_of_a_worker(server_dir: Path, server_env: dict[str, str]) -> None:
    env = {**server_env, "OPENREEL_QUEUE": "procrastinate", "OPENREEL_LOG_FORMAT": "json"}
    with running_server(server_dir, env, ["--no-workers"]) as server:
        key = first_key(server)
        worker = WorkerProcess(server_dir, env, ["--engines", "classic"])
        try:
            worker.wait_for("worker on queues classic")
            with httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {key['API key']}"},
                timeout=30,
            ) as client:
                created = client.post(PATH, json=BODY)
                assert created.status_code == 200, created.text
                task_id = created.json()["data"]["task_id"]
                assert wait_done(client, task_id)["task_status"] == "succeed"
        finally:
            worker.stop()
    output = worker.text()
    assert_no_secrets(output + server.text(), key)
    records = json_lines(output)
    (finished,) = events(records, "render.finished")
    assert finished["task_id"] == task_id and finished["engine"] == "classic"
    assert finished["key_id"] == key["id"] and finished["logger"] == "openreel.render"
    assert finished["status"] == "succeed" and finished["duration_ms"] > 0
    assert [r["task_id"] for r in events(records, "render.started")] == [task_id]
    json_lines(server.text())


def test_tls_straight_from_uvicorn(
    tmp_path: Path, server_dir: Path, server_env: dict[str, str]
) -> None:
    cert, private_key = self_signed(tmp_path / "tls")
    args = ["--ssl-certfile", str(cert), "--ssl-keyfile", str(private_key)]
    with running_server(server_dir, server_env, args, cafile=cert) as server:
        assert server.url.startswith("https://127.0.0.1:")
        with httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {server.printed_key()}"},
            verify=server.verify,  # the test's own certificate, verified
            timeout=30,
        ) as client:
            created = client.post(PATH, json=BODY)
            assert created.status_code == 200, created.text
            data = wait_done(client, created.json()["data"]["task_id"])
            assert data["task_status"] == "succeed", data
            url = data["task_result"]["videos"][0]["url"]
            assert url.startswith(f"{server.url}/files/")
            video = client.get(url)
            assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
            with pytest.raises(httpx.ConnectError):  # not the certificate a client trusts
                httpx.get(f"{server.url}/healthz", timeout=5)


def test_a_listed_proxy_makes_https_links_with_the_public_host(
    server_dir: Path, server_env: dict[str, str]
) -> None:
    args = ["--forwarded-allow-ips", "127.0.0.1", "--log-format", "json"]
    with running_server(server_dir, server_env, args) as server:
        with httpx.Client(
            base_url=server.url,
            headers={
                "Authorization": f"Bearer {server.saved_key()}",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "media.example.com",
                "X-Forwarded-For": "198.51.100.7",
            },
            timeout=30,
        ) as client:
            created = client.post(PATH, json=BODY)
            assert created.status_code == 200, created.text
            data = wait_done(client, created.json()["data"]["task_id"])
            url = data["task_result"]["videos"][0]["url"]
            assert url.startswith("https://media.example.com/files/")
    requests = events(json_lines(server.text()), "http.request")
    # The client is the address the proxy saw; the test's own /healthz sent no headers.
    assert {r["client"] for r in requests if r["route"].startswith(PATH)} == {"198.51.100.7"}
    assert {r["client"] for r in requests if r["route"] == "/healthz"} == {"127.0.0.1"}
