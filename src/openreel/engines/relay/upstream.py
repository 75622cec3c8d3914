"""The client for one Kling-wire upstream (Kling itself, CometAPI, another openreel).

The style picks the path prefix (``/v1`` or ``/kling/v1``) and the caller picks the key (a
bearer key, or an AK/SK pair signing short-lived JWTs). Every answer is classified:

- ``Transient``: 429 / 1302 / 1303, 5xx, a network error or timeout: try again later;
- ``AuthRefused``: 401 / codes 1000-1004, or an account problem (1100-1103): the key is bad;
- ``Rejected``: the upstream refused the request itself (1200-1203, 1300/1301 moderation);
- ``NotFound``: no such task (a query by ``external_task_id`` before the first create).

No message of this module carries a key or a token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from openreel.engines.relay.config import UpstreamConfig, UpstreamKey
from openreel.wire.jwt_signing import JwtSigner

__all__ = [
    "AuthRefused",
    "NotFound",
    "Rejected",
    "Transient",
    "UpstreamClient",
    "UpstreamError",
    "UpstreamTask",
]

_RATE_LIMITED = frozenset({1302, 1303})
_AUTH = frozenset(range(1000, 1100)) | frozenset({1100, 1101, 1102, 1103})


class UpstreamError(Exception):
    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Transient(UpstreamError):
    def __init__(
        self, message: str, *, code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after

    @property
    def rate_limited(self) -> bool:
        return self.code in _RATE_LIMITED


class AuthRefused(UpstreamError):
    pass


class Rejected(UpstreamError):
    pass


class NotFound(UpstreamError):
    pass


@dataclass(frozen=True)
class UpstreamTask:
    """The ``data`` of an upstream task, as far as the relay needs it."""

    task_id: str
    status: str
    status_msg: str
    progress: int | None
    videos: list[dict[str, Any]]
    images: list[dict[str, Any]]
    final_unit_deduction: str | None
    external_task_id: str | None

    @classmethod
    def from_data(cls, data: Any) -> UpstreamTask:
        if not isinstance(data, dict) or not data.get("task_id"):
            raise Transient("answer without a task")
        result = data.get("task_result") or {}
        info = data.get("task_info") or {}
        progress = data.get("progress")
        units = data.get("final_unit_deduction")
        return cls(
            task_id=str(data["task_id"]),
            status=str(data.get("task_status") or ""),
            status_msg=str(data.get("task_status_msg") or ""),
            progress=progress if isinstance(progress, int) else None,
            videos=list(result.get("videos") or []) if isinstance(result, dict) else [],
            images=list(result.get("images") or []) if isinstance(result, dict) else [],
            final_unit_deduction=None if units is None else str(units),
            external_task_id=info.get("external_task_id") if isinstance(info, dict) else None,
        )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class UpstreamClient:
    """Create, query (by task id or ``external_task_id``) and cancel on one upstream."""

    def __init__(self, name: str, config: UpstreamConfig, http: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self.http = http
        self._signers: dict[str, JwtSigner] = {}

    def _auth(self, key: UpstreamKey) -> dict[str, str]:
        if key.api_key is not None:
            return {"Authorization": f"Bearer {key.api_key.get_secret_value()}"}
        signer = self._signers.get(key.fingerprint)
        if signer is None:
            if key.access_key is None or key.secret_key is None:
                raise AuthRefused(f"upstream '{self.name}': a key has no credentials")
            signer = JwtSigner(key.access_key, key.secret_key.get_secret_value())
            self._signers[key.fingerprint] = signer
        return {"Authorization": f"Bearer {signer.token()}"}

    def url(self, family: str, suffix: str = "") -> str:
        return f"{self.config.base_url}{self.config.prefix}/{family}{suffix}"

    async def _call(
        self,
        method: str,
        url: str,
        key: UpstreamKey,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        what = f"upstream '{self.name}'"
        try:
            response = await self.http.request(
                method,
                url,
                json=json,
                params=params,
                headers=self._auth(key),
                timeout=self.config.request_timeout,
            )
        except httpx.TimeoutException:
            raise Transient(f"{what} timed out") from None
        except httpx.HTTPError as exc:
            raise Transient(f"{what} unreachable ({type(exc).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        code, message = _code_and_message(body)
        status = response.status_code
        described = f"{what}: {message or f'HTTP {status}'}" + (
            f" (code {code})" if code is not None else ""
        )
        retry_after = _retry_after(response.headers.get("retry-after"))
        if status == 429 or code in _RATE_LIMITED:
            raise Transient(described, code=code or 1302, retry_after=retry_after)
        if status >= 500 or code in (5000, 5001, 5002):
            raise Transient(described, code=code, retry_after=retry_after)
        if status in (401, 403) or code in _AUTH:
            raise AuthRefused(f"{what} refused the credentials: {message or f'HTTP {status}'}")
        if status == 404 and (code in (None, 1203) or method == "GET"):
            raise NotFound(described, code=code)
        if status >= 400 or (code is not None and code != 0):
            raise Rejected(message or f"HTTP {status}", code=code)
        if not isinstance(body, dict) or "data" not in body:
            raise Transient(f"{what}: answer is not a Kling envelope (HTTP {status})")
        return body["data"]

    async def create(self, family: str, body: dict[str, Any], key: UpstreamKey) -> UpstreamTask:
        return UpstreamTask.from_data(await self._call("POST", self.url(family), key, json=body))

    async def get(self, family: str, task_id: str, key: UpstreamKey) -> UpstreamTask:
        return UpstreamTask.from_data(await self._call("GET", self.url(family, f"/{task_id}"), key))

    async def cancel(self, family: str, task_id: str, key: UpstreamKey) -> None:
        """openreel's extension ``POST /{family}/{task_id}/cancel`` (Kling has none)."""
        await self._call("POST", self.url(family, f"/{task_id}/cancel"), key)

    async def find(self, family: str, external_task_id: str, key: UpstreamKey) -> UpstreamTask:
        """The task created with ``external_task_id``; ``NotFound`` if there is none.

        Asked as ``GET /{family}?external_task_id=...`` (docs/compat.md); a list answer is
        searched for the id.
        """
        data = await self._call(
            "GET", self.url(family), key, params={"external_task_id": external_task_id}
        )
        if isinstance(data, list):
            for item in data:
                task = UpstreamTask.from_data(item)
                if task.external_task_id == external_task_id:
                    return task
            raise NotFound(f"upstream '{self.name}' has no task {external_task_id}")
        return UpstreamTask.from_data(data)


def _code_and_message(body: Any) -> tuple[int | None, str]:
    """Kling's ``{code, message}``, or CometAPI's gateway ``{error: {message, code}}``."""
    if not isinstance(body, dict):
        return None, ""
    if isinstance(body.get("error"), dict):
        error = body["error"]
        return None, str(error.get("message") or "")
    code = body.get("code")
    return (code if isinstance(code, int) else None), str(body.get("message") or "")
