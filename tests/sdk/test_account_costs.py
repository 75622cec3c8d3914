"""``Client.account_costs`` / ``AsyncClient.account_costs`` offline: the request they send and
the typed answer they return; a 1102 is not retried."""

from __future__ import annotations

import httpx
import pytest

from openreel import AccountError, AsyncClient, Client
from openreel.wire.account import ResourcePackStatus, ResourcePackType

COSTS = {
    "code": 0,
    "msg": "SUCCEED",
    "resource_pack_subscribe_infos": [
        {
            "resource_pack_name": "Video Generation - 10,000 entries",
            "resource_pack_id": "509f3fd3d4ab4a3f9eec5db27aa44f27",
            "resource_pack_type": "decreasing_total",
            "total_quantity": 200.0,
            "remaining_quantity": 118.0,
            "purchase_time": 1726124664368,
            "effective_time": 1726124664368,
            "invalid_time": 1727366400000,
            "status": "expired",
        }
    ],
}


def answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"code": 0, "message": "SUCCEED", "request_id": "r", "data": COSTS}
    )


def test_account_costs_sends_kling_query_and_returns_typed_packs() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    transport = httpx.MockTransport(handler)
    client = Client(
        "https://api.cometapi.com", "sk-x", http_client=httpx.Client(transport=transport)
    )
    costs = client.account_costs(start_time=1, end_time=2, resource_pack_name="Video")
    url = seen[0].url
    assert url.path == "/kling/v1/account/costs"
    assert dict(url.params) == {"start_time": "1", "end_time": "2", "resource_pack_name": "Video"}
    assert seen[0].headers["authorization"] == "Bearer sk-x"
    assert costs.code == 0
    pack = costs.resource_pack_subscribe_infos[0]
    assert pack.resource_pack_type is ResourcePackType.DECREASING_TOTAL
    assert pack.status is ResourcePackStatus.EXPIRED
    assert (pack.total_quantity, pack.remaining_quantity) == (200.0, 118.0)

    client = Client("http://x.test", "k", http_client=httpx.Client(transport=transport))
    client.account_costs()  # defaults: from 0 to now
    params = seen[1].url.params
    assert seen[1].url.path == "/v1/account/costs"
    assert params["start_time"] == "0" and int(params["end_time"]) > 1_700_000_000_000
    assert "resource_pack_name" not in params


async def test_async_account_costs() -> None:
    transport = httpx.MockTransport(answer)
    async with AsyncClient(
        "http://x.test", "k", http_client=httpx.AsyncClient(transport=transport)
    ) as client:
        costs = await client.account_costs(start_time=0, end_time=10)
    assert costs.resource_pack_subscribe_infos[0].resource_pack_id.startswith("509f")


def test_an_exhausted_pack_is_not_retried() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            429, json={"code": 1102, "message": "resource pack 'p' is exhausted", "request_id": "r"}
        )

    client = Client(
        "http://x.test", "k", http_client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    with pytest.raises(AccountError, match="exhausted"):
        client.account_costs(start_time=0, end_time=1)
    assert len(seen) == 1
