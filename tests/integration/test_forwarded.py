"""Proxy headers (X-Forwarded-Proto/-Host/-For) shape result links only when the peer is a
listed proxy (OPENREEL_FORWARDED_ALLOW_IPS); nothing is trusted by default, not even
loopback. The flags that configure TLS and proxies refuse bad values with one line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from openreel.app import create_app
from openreel.cli import app as cli
from openreel.config import Settings
from tests.fakes.engines import GatedEngine
from tests.support.api import Api
from tests.support.helpers import image_b64
from tests.support.polling import wait_task

PATH = "/v1/videos/image2video"
PROXY_HEADERS = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "media.example.com",
    "X-Forwarded-For": "198.51.100.7",
}

Start = Callable[..., Api]


@pytest.fixture
def start(make_settings: Callable[..., Settings]) -> Iterator[Start]:
    """An app whose requests come from ``peer``, rendering with an engine that ends at once."""
    clients: list[TestClient] = []

    def run(peer: str, **overrides: Any) -> Api:
        engine = GatedEngine()
        engine.release.set()
        settings = make_settings(routes={"fake": engine.name}, **overrides)
        client = TestClient(create_app(settings, engines={engine.name: engine}), client=(peer, 4))
        client.__enter__()
        clients.append(client)
        return Api(client)

    yield run
    for client in clients:
        client.__exit__(None, None, None)


def result_url(api: Api, headers: dict[str, str]) -> str:
    auth = api.auth(api.new_key())
    body = {"image": image_b64(), "model_name": "fake"}
    created = api.client.post(PATH, json=body, headers={**auth, **headers})
    assert created.status_code == 200, created.text
    data = wait_task(api.client, PATH, created.json()["data"]["task_id"], {**auth, **headers})
    assert data["task_status"] == "succeed", data
    return str(data["task_result"]["videos"][0]["url"])


def test_a_listed_proxy_sets_scheme_and_host(start: Start) -> None:
    api = start("10.1.2.3", forwarded_allow_ips=["10.0.0.0/8"])
    assert result_url(api, PROXY_HEADERS).startswith("https://media.example.com/files/")


def test_an_unlisted_peer_is_ignored(start: Start) -> None:
    api = start("192.0.2.7", forwarded_allow_ips=["10.0.0.0/8"])
    assert result_url(api, PROXY_HEADERS).startswith("http://testserver/files/")


def test_nothing_is_trusted_by_default_not_even_loopback(start: Start) -> None:
    api = start("127.0.0.1")
    assert result_url(api, PROXY_HEADERS).startswith("http://testserver/files/")


def test_a_host_that_is_not_a_host_is_ignored(start: Start) -> None:
    api = start("10.1.2.3", forwarded_allow_ips=["10.1.2.3"])
    headers = {**PROXY_HEADERS, "X-Forwarded-Host": "evil.example/x?y=@z"}
    assert result_url(api, headers).startswith("https://testserver/files/")


def test_the_public_url_setting_wins(start: Start) -> None:
    api = start("10.1.2.3", forwarded_allow_ips=["*"], public_url="https://cdn.example.org")
    assert result_url(api, PROXY_HEADERS).startswith("https://cdn.example.org/files/")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--forwarded-allow-ips", "10.0.0.1,proxy"], "'proxy' is not an IP address, a CIDR or *"),
        (["--ssl-certfile", "cert.pem"], "--ssl-certfile and --ssl-keyfile go together"),
        (
            ["--ssl-certfile", "missing.pem", "--ssl-keyfile", "missing.key"],
            "OPENREEL_SSL_CERTFILE: 'missing.pem' is not a file",
        ),
        (["--log-format", "xml"], "OPENREEL_LOG_FORMAT: Input should be 'plain' or 'json'"),
    ],
)
def test_serve_refuses_bad_flags_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
