"""``/metrics``: what the process did, in Prometheus text, by family, engine, status, route
template and reason, read back with prometheus-client's own parser."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.engines import FailingEngine, GatedEngine
from tests.support.api import Api
from tests.support.helpers import image_b64

PATH = "/v1/videos/image2video"


Found = dict[tuple[str, tuple[tuple[str, str], ...]], float]
HTTP = "openreel_http_requests_total"
FINISHED = "openreel_tasks_finished_total"


def samples(api: Api) -> Found:
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_done(api: Api, headers: dict[str, str], task_id: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        status = api.client.get(f"{PATH}/{task_id}", headers=headers).json()["data"]["task_status"]
        if status in ("succeed", "failed"):
            return str(status)
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_tasks_renders_refusals_callbacks_and_routes(api_factory: Callable[..., Api]) -> None:
    good, bad = GatedEngine(name="good"), FailingEngine()
    good.release.set()
    api = api_factory(
        engines={"good": good, "failing": bad},
        routes={"*": "good", "fine": "good", "broken": "failing"},
        callback_retry_schedule=[],  # one attempt: a refused callback is final at once
    )
    headers = api.auth(api.new_key())
    body = {"image": image_b64(640, 400)}
    ok = api.client.post(PATH, json={**body, "model_name": "fine"}, headers=headers)
    failed = api.client.post(
        PATH,
        json={**body, "model_name": "broken", "callback_url": "http://127.0.0.1:9/hook"},
        headers=headers,
    )
    assert wait_done(api, headers, ok.json()["data"]["task_id"]) == "succeed"
    assert wait_done(api, headers, failed.json()["data"]["task_id"]) == "failed"
    refused = api.client.post(PATH, json={"image": "http://10.1.2.3/a.png"}, headers=headers)
    assert refused.status_code == 400
    assert api.client.get("/no/such/path").status_code == 404

    deadline = time.monotonic() + 30
    while True:  # the callback events (submitted, processing, failed) are sent in order
        found = samples(api)
        if value(found, "openreel_callback_deliveries_total", outcome="failed") >= 3:
            break
        assert time.monotonic() < deadline, found
        time.sleep(0.1)

    family = "videos/image2video"
    assert value(found, "openreel_tasks_created_total", family=family, engine="good") == 1
    assert value(found, "openreel_tasks_created_total", family=family, engine="failing") == 1
    assert (
        value(
            found, "openreel_tasks_finished_total", family=family, engine="good", status="succeed"
        )
        == 1
    )
    assert (
        value(
            found, "openreel_tasks_finished_total", family=family, engine="failing", status="failed"
        )
        == 1
    )
    assert value(found, "openreel_render_seconds_count", engine="good", kind="image2video") == 1
    assert value(found, "openreel_fetch_refusals_total", reason="address") == 1
    assert value(found, "openreel_callback_deliveries_total", outcome="delivered") == 0
    route = f"{PATH}/{{task_id}}"
    assert (
        value(found, "openreel_http_requests_total", method="GET", route=route, status="200") >= 2
    )
    assert (
        value(found, "openreel_http_requests_total", method="POST", route=PATH, status="400") == 1
    )
    assert (
        value(found, "openreel_http_requests_total", method="GET", route="unmatched", status="404")
        == 1
    )
    # No raw path (task ids) ever becomes a label.
    assert not any(ok.json()["data"]["task_id"] in str(labels) for _, labels in found)


def test_queue_depth_per_engine(api_factory: Callable[..., Api]) -> None:
    api = api_factory(workers=0)
    headers = api.auth(api.new_key())
    for _ in range(3):
        assert (
            api.client.post(PATH, json={"image": image_b64(640, 400)}, headers=headers).status_code
            == 200
        )
    assert value(samples(api), "openreel_queue_depth", engine="classic") == 3
