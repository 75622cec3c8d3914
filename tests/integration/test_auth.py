"""Auth: hashed API keys, Kling AK/SK JWTs (codes 1001-1004), revocation, ownership."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import jwt
import pytest
import sqlalchemy as sa

from openreel.auth.keys import IssuedKey
from tests.support.api import Api
from tests.support.helpers import image_b64

pytestmark = pytest.mark.db

PATH = "/v1/videos/image2video"


def token(access_key: str, secret: str, *, exp: float, nbf: float) -> str:
    return jwt.encode(
        {"iss": access_key, "exp": int(exp), "nbf": int(nbf)},
        secret,
        headers={"alg": "HS256", "typ": "JWT"},
    )


def code_of(api: Api, headers: dict[str, str]) -> tuple[int, int]:
    response = api.client.get(PATH, headers=headers)
    return response.status_code, response.json()["code"]


def test_valid_key_is_accepted(api: Api, headers: dict[str, str]) -> None:
    assert code_of(api, headers) == (200, 0)


def test_missing_and_unknown_keys(api: Api) -> None:
    assert code_of(api, {}) == (401, 1001)
    assert code_of(api, {"Authorization": "Bearer or_nope"}) == (401, 1002)
    assert code_of(api, {"Authorization": "Basic abc"}) == (401, 1002)
    assert code_of(api, {"Authorization": "Bearer a.b.c"}) == (401, 1002)


def test_keys_are_stored_hashed(api: Api, key: IssuedKey) -> None:
    def raw(conn: sa.Connection) -> list[tuple[object, ...]]:
        return [tuple(r) for r in conn.execute(sa.text("select * from api_keys"))]

    assert api.client.portal is not None
    rows = api.client.portal.call(api.services.db.read, raw)
    text = repr(rows)
    assert hashlib.sha256(key.api_key.encode()).hexdigest() in text
    assert key.api_key not in text


def test_revoked_key_is_refused(api: Api, key: IssuedKey, headers: dict[str, str]) -> None:
    assert api.client.portal is not None
    api.client.portal.call(api.services.keys.revoke, key.id)
    status, code = code_of(api, headers)
    assert (status, code) == (401, 1002)
    jwt_headers = {
        "Authorization": "Bearer "
        + token(key.access_key, key.secret_key, exp=time.time() + 600, nbf=time.time() - 5)
    }
    assert code_of(api, jwt_headers) == (401, 1002)


def test_jwt_valid_expired_not_yet_valid_bad_signature(api: Api, key: IssuedKey) -> None:
    now = time.time()

    def bearer(t: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {t}"}

    good = token(key.access_key, key.secret_key, exp=now + 1800, nbf=now - 5)
    assert code_of(api, bearer(good)) == (200, 0)
    expired = token(key.access_key, key.secret_key, exp=now - 60, nbf=now - 1800)
    assert code_of(api, bearer(expired)) == (401, 1004)
    early = token(key.access_key, key.secret_key, exp=now + 1800, nbf=now + 600)
    assert code_of(api, bearer(early)) == (401, 1003)
    forged = token(key.access_key, "x" * 43, exp=now + 1800, nbf=now - 5)
    assert code_of(api, bearer(forged)) == (401, 1002)
    stranger = token("ak-unknown", key.secret_key, exp=now + 1800, nbf=now - 5)
    assert code_of(api, bearer(stranger)) == (401, 1002)


def test_jwt_and_api_key_of_one_key_share_tasks(
    api: Api, key: IssuedKey, headers: dict[str, str]
) -> None:
    created = api.client.post(PATH, json={"image": image_b64()}, headers=headers)
    task_id = created.json()["data"]["task_id"]
    now = time.time()
    jwt_headers = {
        "Authorization": "Bearer "
        + token(key.access_key, key.secret_key, exp=now + 600, nbf=now - 5)
    }
    assert api.client.get(f"{PATH}/{task_id}", headers=jwt_headers).status_code == 200


def test_tasks_are_isolated_between_keys(api: Api, headers: dict[str, str]) -> None:
    created = api.client.post(
        PATH, json={"image": image_b64(), "external_task_id": "mine"}, headers=headers
    )
    task_id = created.json()["data"]["task_id"]
    other = api.auth(api.new_key("other"))
    for url in (f"{PATH}/{task_id}", f"{PATH}/mine", f"{PATH}?external_task_id=mine"):
        response = api.client.get(url, headers=other)
        assert response.status_code == 404 and response.json()["code"] == 1203
    assert api.client.get(PATH, headers=other).json()["data"] == []
    assert len(api.client.get(PATH, headers=headers).json()["data"]) == 1


def test_no_auth_mode_accepts_requests_without_a_key(api_factory: Callable[..., Api]) -> None:
    api = api_factory(auth=False)
    response = api.client.post(PATH, json={"image": image_b64()})
    assert response.status_code == 200
    assert api.client.get(PATH).json()["data"][0]["task_id"] == response.json()["data"]["task_id"]


def test_first_start_creates_and_prints_one_key(
    api_factory: Callable[..., Api], capsys: pytest.CaptureFixture[str]
) -> None:
    api = api_factory()
    out = capsys.readouterr().out
    assert "API key:" in out
    printed = out.split("API key:")[1].split()[0]
    assert code_of(api, {"Authorization": f"Bearer {printed}"}) == (200, 0)
    api2 = api_factory()  # same data dir: keys exist, nothing is printed again
    assert "API key:" not in capsys.readouterr().out
    assert code_of(api2, {"Authorization": f"Bearer {printed}"}) == (200, 0)
