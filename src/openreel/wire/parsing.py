"""Raw JSON body -> typed request, with pydantic errors turned into Kling 1200/1201 errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from openreel.wire.errors import ErrorCode, KlingError
from openreel.wire.families import Family, family_entry
from openreel.wire.requests import CreateRequest


def field_path(loc: Sequence[int | str]) -> str:
    """``("image_list", 0, "image")`` -> ``image_list[0].image``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def error_from_pydantic(errors: Sequence[Any]) -> KlingError:
    first = errors[0]
    loc = [p for p in first.get("loc", ()) if p not in ("body",)]
    message = str(first.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    path = field_path(loc)
    kind = first.get("type", "")
    if kind == "missing":
        return KlingError(ErrorCode.ILLEGAL_VALUE, f"{path}: is required")
    if kind == "model_attributes_type" and not path:
        return KlingError(ErrorCode.INVALID_PARAMS, "request body must be a JSON object")
    if not path:
        # Model-level rules already start with the field they are about.
        return KlingError(ErrorCode.ILLEGAL_VALUE, message)
    return KlingError(ErrorCode.ILLEGAL_VALUE, f"{path}: {message}")


def model_for(family: Family, body: dict[str, Any]) -> type[BaseModel]:
    return family_entry(family).shape_for(body).model


def parse_request(family: Family, body: Any) -> CreateRequest:
    if not isinstance(body, dict):
        raise KlingError(ErrorCode.INVALID_PARAMS, "request body must be a JSON object")
    model = model_for(family, body)
    try:
        parsed = model.model_validate(body)
    except ValidationError as exc:
        raise error_from_pydantic(exc.errors(include_url=False)) from None
    return cast(CreateRequest, parsed)  # every model of the family table is one
