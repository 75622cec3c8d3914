"""Usage accounting through the API: ``/account/costs`` at Kling's root path and on both
prefixes, resource packs and
the 1102 refusal (nothing stored), units charged by tasks that really ran, unknown routes
that authenticate first, and ``openreel keys quota``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from openreel.auth.keys import IssuedKey
from openreel.cli import app as cli_app
from openreel.config import Settings
from openreel.store.pack_period import PackPeriod
from tests.support.api import Api, Response
from tests.support.helpers import image_b64, pg_admin_url
from tests.support.polling import wait_task

pytestmark = pytest.mark.db

PREFIXES = ("/v1", "/kling/v1")
# "": Kling documents /account/costs at the root of its host (no /v1); both prefixes serve it too.
COSTS_PREFIXES = ("", *PREFIXES)


@pytest.fixture
def api(stand_in_factory: Callable[..., Api]) -> Api:
    """Charges follow the model, mode and duration, not the pixels: tasks finish on the
    stand-in engine instead of 720p and 1080p renders."""
    return stand_in_factory()


QUEUES = [
    "local",
    pytest.param(
        "procrastinate",
        marks=pytest.mark.skipif(pg_admin_url() is None, reason="Procrastinate needs PostgreSQL"),
    ),
]
# Nothing listens there: callback events stay pending in the outbox.
CALLBACK = "http://127.0.0.1:9/hook"
I2V = "/v1/videos/image2video"
DAY_MS = 86_400_000


def jwt_headers(key: IssuedKey, *, exp_in: float = 600) -> dict[str, str]:
    now = time.time()
    token = jwt.encode(
        {"iss": key.access_key, "exp": int(now + exp_in), "nbf": int(now - 5)},
        key.secret_key,
        headers={"alg": "HS256", "typ": "JWT"},
    )
    return {"Authorization": f"Bearer {token}"}


def costs(api: Api, headers: dict[str, str], prefix: str = "/v1", **query: Any) -> Response:
    params = {"start_time": 0, "end_time": 4_102_444_800_000, **query}
    params = {k: v for k, v in params.items() if v is not None}
    return api.client.get(f"{prefix}/account/costs", params=params, headers=headers)


def packs(api: Api, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    response = costs(api, headers, **query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 0 and body["data"]["code"] == 0
    infos: list[dict[str, Any]] = body["data"]["resource_pack_subscribe_infos"]
    return infos


def give_pack(api: Api, key: IssuedKey, units: float, period: PackPeriod = PackPeriod.ONCE) -> None:
    now = int(time.time() * 1000)
    assert api.client.portal is not None
    owner = api.client.portal.call(
        lambda: api.services.usage.set_pack(
            key.id,
            pack_id=f"pack-{key.id[:8]}",
            name=f"{units} units",
            period=period,
            total_milli=int(units * 1000),
            now=now,
            invalid_time=now + 30 * DAY_MS if period == PackPeriod.ONCE else None,
        )
    )
    assert owner == key.id


def create(api: Api, headers: dict[str, str], path: str = I2V, **body: Any) -> Response:
    return api.client.post(path, json={"image": image_b64(), **body}, headers=headers)


def scalar(api: Api, sql: str, **params: Any) -> Any:
    assert api.client.portal is not None
    return api.client.portal.call(
        api.services.db.read, lambda conn: conn.execute(sa.text(sql), params).scalar_one()
    )


def test_account_costs_answers_kling_shape_on_its_root_path_and_both_prefixes(
    api: Api, key: IssuedKey, headers: dict[str, str]
) -> None:
    for prefix in COSTS_PREFIXES:
        for auth in (headers, jwt_headers(key)):
            response = costs(api, auth, prefix)
            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == {"code", "message", "request_id", "data"}
            assert body["data"] == {
                "code": 0,
                "msg": "SUCCEED",
                "resource_pack_subscribe_infos": [],
            }
        assert costs(api, {}, prefix).json()["code"] == 1001
        assert costs(api, {}, prefix).status_code == 401
        wrong = {"Authorization": "Bearer or_wrong"}
        assert (
            costs(api, wrong, prefix).status_code,
            costs(api, wrong, prefix).json()["code"],
        ) == (
            401,
            1002,
        )


@pytest.mark.parametrize(
    ("query", "field", "rule"),
    [
        ({"start_time": None}, "start_time", "is required"),
        ({"end_time": None}, "end_time", "is required"),
        ({"start_time": "yesterday"}, "start_time", "must be an integer"),
        ({"end_time": "1.5"}, "end_time", "must be an integer"),
        ({"start_time": -1}, "start_time", "must be >= 0"),
        ({"start_time": 10, "end_time": 5}, "end_time", "must not be before start_time"),
    ],
)
def test_start_and_end_time_are_required_ms_integers(
    api: Api, headers: dict[str, str], query: dict[str, Any], field: str, rule: str
) -> None:
    for prefix in COSTS_PREFIXES:
        response = costs(api, headers, prefix, **query)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["code"] == 1201
        assert body["message"].startswith(f"{field}: {rule}")


def test_unknown_routes_authenticate_first(
    api: Api, key: IssuedKey, headers: dict[str, str]
) -> None:
    for prefix in PREFIXES:
        for path in (f"{prefix}/no/such/route", f"{prefix}/videos/text2image"):
            answers = {
                "missing": api.client.get(path),
                "wrong": api.client.get(path, headers={"Authorization": "Bearer or_wrong"}),
                "bad jwt": api.client.get(path, headers={"Authorization": "Bearer a.b.c"}),
                "expired": api.client.get(path, headers=jwt_headers(key, exp_in=-600)),
                "key": api.client.get(path, headers=headers),
                "jwt": api.client.get(path, headers=jwt_headers(key)),
            }
            seen = {name: (r.status_code, r.json()["code"]) for name, r in answers.items()}
            assert seen == {
                "missing": (401, 1001),
                "wrong": (401, 1002),
                "bad jwt": (401, 1002),
                "expired": (401, 1004),
                "key": (404, 1202),
                "jwt": (404, 1202),
            }
        # A known path with a wrong method authenticates first too.
        assert api.client.delete(f"{prefix}/account/costs").status_code == 401
        assert api.client.delete(f"{prefix}/account/costs", headers=headers).status_code == 404
    # Outside the API prefixes nothing asks for a key.
    assert api.client.get("/no/such/route").json()["code"] == 1202


def test_units_charged_by_real_tasks_show_in_account_costs(
    api: Api, key: IssuedKey, headers: dict[str, str]
) -> None:
    give_pack(api, key, 10)
    ids = [
        create(api, headers).json()["data"]["task_id"],  # kling-v1 std 5 s: 1 unit
        create(api, headers, "/kling/v1/videos/image2video", mode="pro").json()["data"]["task_id"],
    ]
    done = [
        wait_task(api.client, I2V, ids[0], headers),
        wait_task(api.client, "/kling/v1/videos/image2video", ids[1], headers),
    ]
    assert [d["task_status"] for d in done] == ["succeed", "succeed"]
    assert [d["final_unit_deduction"] for d in done] == ["1", "3.5"]
    listed = api.client.get(I2V, headers=headers).json()["data"]
    charged = {t["task_id"]: t["final_unit_deduction"] for t in listed}
    assert charged == {ids[0]: "1", ids[1]: "3.5"}
    assert (
        scalar(api, "select sum(units_milli) from task_usage where owner_id = :o", o=key.id) == 4500
    )

    (pack,) = packs(api, headers)
    for prefix in COSTS_PREFIXES:
        response = costs(api, headers, prefix)
        assert response.json()["data"]["resource_pack_subscribe_infos"] == [pack]
    assert pack["resource_pack_type"] == "decreasing_total"
    assert pack["status"] == "online"
    assert (pack["total_quantity"], pack["remaining_quantity"]) == (10.0, 5.5)
    assert pack["invalid_time"] - pack["effective_time"] == 30 * DAY_MS
    assert pack["purchase_time"] == pack["effective_time"]

    # Another key's usage is its own.
    other = api.new_key("other")
    assert packs(api, api.auth(other)) == []


def test_cancelled_tasks_charge_nothing_and_free_their_reservation(
    api_factory: Callable[..., Api],
) -> None:
    api = api_factory(workers=0)  # tasks stay submitted until cancelled
    key = api.new_key()
    headers = api.auth(key)
    give_pack(api, key, 2)
    task_id = create(api, headers).json()["data"]["task_id"]
    (pack,) = packs(api, headers)
    assert pack["remaining_quantity"] == 1.0  # reserved by the submitted task
    assert (
        "final_unit_deduction"
        not in api.client.get(f"{I2V}/{task_id}", headers=headers).json()["data"]
    )
    cancelled = api.client.post(f"{I2V}/{task_id}/cancel", headers=headers).json()["data"]
    assert cancelled["task_status"] == "failed" and cancelled["final_unit_deduction"] == "0"
    (pack,) = packs(api, headers)
    assert pack["remaining_quantity"] == 2.0
    assert scalar(api, "select count(*) from task_usage") == 0


@pytest.mark.parametrize("queue", QUEUES)
def test_a_create_past_the_pack_is_refused_and_nothing_is_stored(
    api_factory: Callable[..., Api], make_settings: Callable[..., Settings], queue: str
) -> None:
    api = api_factory(workers=0, queue=queue, callback_retry_schedule=[60])
    key = api.new_key()
    headers = api.auth(key)
    give_pack(api, key, 1.5)
    first = create(api, headers, external_task_id="first", callback_url=CALLBACK)
    assert first.status_code == 200, first.text
    for prefix in PREFIXES:
        refused = create(api, headers, f"{prefix}/videos/image2video", callback_url=CALLBACK)
        assert refused.status_code == 429, refused.text
        body = refused.json()
        assert body["code"] == 1102 and "data" not in body
        assert "exhausted" in body["message"] and "0.5 units left" in body["message"]
    # An idempotent retry of the accepted create is not a new charge.
    again = create(api, headers, external_task_id="first", callback_url=CALLBACK)
    assert again.json()["data"]["task_id"] == first.json()["data"]["task_id"]
    assert scalar(api, "select count(*) from tasks where owner_id = :o", o=key.id) == 1
    assert scalar(api, "select count(*) from webhook_deliveries") == 1  # the first's event
    if queue == "procrastinate":
        assert scalar(api, "select count(*) from procrastinate_jobs") == 1
    inputs = make_settings().data_dir / "blobs" / "inputs"
    assert [p.name for p in inputs.iterdir()] == [first.json()["data"]["task_id"]]
    (pack,) = packs(api, headers)
    assert pack["remaining_quantity"] == 0.5 and pack["status"] == "online"

    # A key without a pack is not limited.
    free = api.new_key("free")
    assert create(api, api.auth(free)).status_code == 200


def test_concurrent_creates_cannot_overshoot_a_pack(api_factory: Callable[..., Api]) -> None:
    api = api_factory(workers=0)
    key = api.new_key()
    headers = api.auth(key)
    give_pack(api, key, 3)
    image = image_b64()
    results: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def one() -> None:
        start.wait()
        response = api.client.post(I2V, json={"image": image}, headers=headers)
        with lock:
            results.append(response.json()["code"])

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 1102, 1102, 1102, 1102, 1102]
    assert scalar(api, "select count(*) from tasks where owner_id = :o", o=key.id) == 3
    (pack,) = packs(api, headers)
    assert pack["remaining_quantity"] == 0.0 and pack["status"] == "runOut"


def test_monthly_pack_window_and_name_filters(
    api: Api, key: IssuedKey, headers: dict[str, str]
) -> None:
    give_pack(api, key, 5, PackPeriod.MONTHLY)
    (pack,) = packs(api, headers)
    assert pack["resource_pack_type"] == "constant_period"
    now = datetime.now(UTC)
    month = now.year * 12 + now.month  # the next month, 0-based
    next_month = datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)
    assert pack["invalid_time"] == int(next_month.timestamp() * 1000)
    assert pack["effective_time"] == pack["purchase_time"]  # created this month
    assert (pack["total_quantity"], pack["remaining_quantity"], pack["status"]) == (
        5.0,
        5.0,
        "online",
    )
    assert packs(api, headers, resource_pack_name="5 units") == [pack]
    assert packs(api, headers, resource_pack_name="another") == []
    before = pack["purchase_time"] - 1
    assert packs(api, headers, start_time=0, end_time=before) == []


def test_prices_override_changes_what_tasks_charge(
    stand_in_factory: Callable[..., Api],
) -> None:
    api = stand_in_factory(prices='{"kling-v1": {"per_second": {"std": "0.5"}}}')
    key = api.new_key()
    headers = api.auth(key)
    task_id = create(api, headers).json()["data"]["task_id"]
    done = wait_task(api.client, I2V, task_id, headers)
    assert done["task_status"] == "succeed" and done["final_unit_deduction"] == "2.5"


def test_keys_quota_command(
    api: Api, key: IssuedKey, headers: dict[str, str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    env = {"OPENREEL_DATA_DIR": str(settings.data_dir)}
    if not settings.is_sqlite:
        env["OPENREEL_DATABASE_URL"] = settings.resolved_database_url
    runner = CliRunner()

    def quota(*args: str) -> Any:
        return runner.invoke(cli_app, ["keys", "quota", *args], env=env)

    done = quota(key.id, "--units", "2.5", "--name", "ci pack")
    assert done.exit_code == 0, done.output
    (pack,) = packs(api, headers)
    assert (pack["resource_pack_name"], pack["total_quantity"]) == ("ci pack", 2.5)
    assert pack["resource_pack_type"] == "decreasing_total"
    assert pack["invalid_time"] - pack["effective_time"] == 365 * DAY_MS

    done = quota(key.access_key, "--units", "100", "--period", "monthly")
    assert done.exit_code == 0, done.output
    (pack,) = packs(api, headers)
    assert pack["resource_pack_type"] == "constant_period" and pack["total_quantity"] == 100.0

    assert quota(key.id, "--remove").exit_code == 0
    assert packs(api, headers) == []
    assert quota("nope", "--units", "1").exit_code == 1
    assert quota(key.id).exit_code == 2
    assert quota(key.id, "--units", "0").exit_code == 2
