"""Relay settings: validated at start-up with one line naming the setting; secrets hidden."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from openreel.config import Settings
from openreel.engines.registry import build_engines

ROOT = Path(__file__).resolve().parents[2]
SECRET = "SK-very-secret-value"


def upstream(**fields: object) -> dict[str, object]:
    return {"base_url": "https://api.example.com", "style": "kling", **fields}


def test_relay_routes_build_one_engine_per_upstream() -> None:
    settings = Settings.model_validate(
        {
            "routes": {"*": "relay:kling", "cheap": "relay:comet"},
            "relay_upstreams": {
                "kling": upstream(access_key="AK1", secret_key=SECRET),
                "comet": upstream(style="cometapi", api_key=SECRET, keys=[{"api_key": "k2"}]),
            },
        }
    )
    engines = build_engines({}, relay_upstreams=settings.relay_upstreams)
    assert {"classic", "relay:kling", "relay:comet"} <= set(engines)
    assert settings.relay_upstreams["comet"].prefix == "/kling/v1"
    assert len(settings.relay_upstreams["comet"].pool) == 2
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (upstream(), "needs api_key, access_key + secret_key, or keys"),
        (upstream(access_key="AK"), "access_key and secret_key go together"),
        (upstream(api_key=SECRET, secret_key=SECRET), "not both"),
        (upstream(base_url="ftp://x", api_key=SECRET), "is not an http(s) URL"),
        (upstream(style="openai", api_key=SECRET), "'kling' or 'cometapi'"),
    ],
)
def test_bad_upstreams_are_refused_without_showing_secrets(
    config: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"relay_upstreams": {"up": config}})
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)


def test_route_to_an_unknown_upstream_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"OPENREEL_ROUTES: '\*' -> 'relay:nope'"):
        Settings(routes={"*": "relay:nope"})


def test_serve_stops_with_one_line_naming_the_setting(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OPENREEL_RELAY_UPSTREAMS": json.dumps({"up": upstream(api_key=SECRET, access_key="A")}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "openreel", "serve", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "openreel: OPENREEL_RELAY_UPSTREAMS: up: give api_key or access_key + secret_key, not both"
    ], done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_deploy_guide_example_is_valid(tmp_path: Path) -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    section = guide.split("## Relay in front of Kling/CometAPI", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.S)
    assert example is not None
    values = tomllib.loads(example.group(1))
    values["data_dir"] = str(tmp_path)
    settings = Settings(**values)
    assert settings.routes["*"] == "relay:kling"
    assert settings.relay_upstreams["kling"].style == "kling"
    assert len(settings.relay_upstreams["kling"].pool) == 2


@pytest.mark.parametrize("selected", [["relay"], ["relay:a"], ["classic", "relay:b"]])
def test_a_relay_worker_runs_every_upstream(selected: list[str]) -> None:
    """Relayed jobs share the Procrastinate queue ``relay``: a worker taking it must be able to
    run any upstream's task."""
    from openreel.wiring import job_settings, worker_engines

    settings = Settings.model_validate(
        {
            "relay_upstreams": {
                "a": upstream(api_key="k1"),
                "b": upstream(api_key="k2", style="cometapi"),
            },
            "worker_engines": selected,
        }
    )
    engines = build_engines({}, relay_upstreams=settings.relay_upstreams)
    mine = worker_engines(settings, engines)
    assert {"relay:a", "relay:b"} <= set(mine)
    assert ("classic" in mine) == ("classic" in selected)
    queues = job_settings(settings, mine).queues
    assert queues.count("relay") == 1 and {"relay:a", "relay:b"} <= set(queues)  # old jobs
    with pytest.raises(ValueError, match="relay:c"):
        worker_engines(settings.model_copy(update={"worker_engines": ["relay:c"]}), engines)
