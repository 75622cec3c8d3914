"""Every failure leaves as Kling's ``{code, message, request_id}`` with the table's HTTP status.

FastAPI's default 422 body never appears: request validation errors become 1200/1201,
unknown routes and methods 1202, anything unexpected 5000. Under the API prefixes an unknown
route authenticates first, as Kling does: a missing or wrong key is 401 (1001/1002...), never
a 404 that would let a client take a wrong key for a good one.
"""

from __future__ import annotations

import logging
from typing import cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from openreel.api.deps import owner_of, services_of
from openreel.api.request_id import current_request_id
from openreel.wire.errors import HTTP_STATUS, ErrorCode, KlingError
from openreel.wire.families import Prefix
from openreel.wire.parsing import error_from_pydantic

log = logging.getLogger("openreel.api")


def error_response(
    code: ErrorCode,
    message: str,
    status: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    rid = current_request_id()
    return JSONResponse(
        {"code": int(code), "message": message, "request_id": rid},
        status_code=status or HTTP_STATUS[code],
        headers={**(headers or {}), "X-Request-Id": rid},
    )


async def _kling_error(_request: Request, exc: Exception) -> JSONResponse:
    exc = cast(KlingError, exc)  # registered for KlingError only
    return error_response(exc.code, exc.message, headers=exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestValidationError, exc)
    errors = list(exc.errors())
    if errors and errors[0].get("type") == "json_invalid":
        return error_response(ErrorCode.INVALID_PARAMS, "request body is not valid JSON")
    if not errors:
        return error_response(ErrorCode.INVALID_PARAMS, "invalid request")
    error = error_from_pydantic(errors)
    return error_response(error.code, error.message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(StarletteHTTPException, exc)
    if exc.status_code in (404, 405):
        if _under_api_prefix(request.url.path):
            try:
                await owner_of(request, services_of(request))
            except KlingError as refused:
                return error_response(refused.code, refused.message, headers=refused.headers)
        return error_response(
            ErrorCode.INVALID_METHOD,
            f"invalid request method: {request.method} {request.url.path} is not an endpoint",
        )
    code = {401: ErrorCode.AUTH_FAILED, 403: ErrorCode.NO_PERMISSION}.get(
        exc.status_code, ErrorCode.INVALID_PARAMS
    )
    return error_response(code, str(exc.detail), status=exc.status_code)


def _under_api_prefix(path: str) -> bool:
    return any(path == prefix.value or path.startswith(prefix.value + "/") for prefix in Prefix)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(ErrorCode.INTERNAL, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KlingError, _kling_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
