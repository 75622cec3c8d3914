"""Raw JSON body -> typed request, with pydantic errors turned into Kling 1200/1201 errors."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from openreel.wire.errors import ErrorCode, KlingError
from openreel.wire.families import FAMILIES, Family, family_entry
from openreel.wire.requests import CreateRequest
from openreel.wire.shapes import json_kind, model_at, models_by_name, shape_of

_CLASS_NAME = re.compile(r"(?:an? )?(?:valid dictionary or )?(?:an? )?instance of (\w+)")


def field_path(loc: Sequence[int | str]) -> str:
    """``("image_list", 0, "image")`` -> ``image_list[0].image``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


@cache
def _wire_models() -> dict[str, type[BaseModel]]:
    return models_by_name(model for entry in FAMILIES for model in entry.models)


def _named_model(name: str) -> type[BaseModel] | None:
    return _wire_models().get(name)


def _without_class_names(message: str) -> str:
    """A safety net: any "instance of SomeModel" left in pydantic's text becomes the shape."""

    def shape(match: re.Match[str]) -> str:
        model = _named_model(match.group(1))
        return f"an object {shape_of(model)}" if model is not None else "an object"

    return _CLASS_NAME.sub(shape, message)


def _shape_message(
    kind: str, loc: Sequence[int | str], first: Any, root: type[BaseModel] | None
) -> str | None:
    """The message for errors about a model-typed field, in JSON terms (or None)."""
    if kind == "model_type":
        ctx = first.get("ctx") or {}
        found = model_at(root, loc) if root is not None else None
        model = found or _named_model(str(ctx.get("class_name", "")))
        expected = f"an object {shape_of(model)}" if model is not None else "an object"
        return f"expected {expected}, got {json_kind(first.get('input'))}"
    if kind == "extra_forbidden":
        parent = model_at(root, loc[:-1]) if root is not None else None
        if parent is None:
            return "unknown field"
        return f"unknown field; expected an object {shape_of(parent)}"
    return None


def error_from_pydantic(errors: Sequence[Any], model: type[BaseModel] | None = None) -> KlingError:
    """The Kling error for the first pydantic error; ``model`` (the validated request model)
    lets model-typed fields be described by the JSON shape they expect."""
    first = errors[0]
    loc = [p for p in first.get("loc", ()) if p not in ("body",)]
    message = str(first.get("msg", "invalid value"))
    message = _without_class_names(message.removeprefix("Value error, "))
    path = field_path(loc)
    kind = first.get("type", "")
    shaped = _shape_message(kind, loc, first, model) if path else None
    if shaped is not None:
        return KlingError(ErrorCode.ILLEGAL_VALUE, f"{path}: {shaped}")
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
        raise error_from_pydantic(exc.errors(include_url=False), model) from None
    return cast(CreateRequest, parsed)  # every model of the family table is one
