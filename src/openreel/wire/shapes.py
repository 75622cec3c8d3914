"""What a request model looks like on the wire, in words a client understands.

Pydantic names its classes in errors ("Input should be a valid dictionary or instance of
TrajectoryPoint"); a Kling client knows JSON, not our classes. ``shape_of`` writes a model as
the JSON it expects: ``{"x": int, "y": int}``.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["json_kind", "model_at", "models_by_name", "shape_of"]

_SCALARS: dict[Any, str] = {int: "int", float: "number", str: "string", bool: "bool"}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds (through Optional, unions, lists and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _type_text(annotation: Any) -> str:
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return shape_of(annotation)
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _type_text(args[0])
    if origin is Literal:
        return " | ".join(json.dumps(value) for value in args)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_text(arg) for arg in args if arg is not type(None))
    if origin is list:
        return f"[{_type_text(args[0])}, ...]" if args else "[...]"
    if origin is dict:
        return "object"
    return "value"


def shape_of(model: type[BaseModel]) -> str:
    """``{"x": int, "y": int}``: the model's fields and their JSON types."""
    fields = (
        f"{json.dumps(name)}: {_type_text(info.annotation)}"
        for name, info in model.model_fields.items()
    )
    return "{" + ", ".join(fields) + "}"


def model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model found at ``loc`` (field names and list indexes) inside ``root``; None when
    the path leads to something that is not a model."""
    current = root
    for part in loc:
        if isinstance(part, int):
            continue  # a list item: the list's model is already current
        info = current.model_fields.get(part)
        models = _models_in(info.annotation) if info is not None else []
        if not models:
            return None
        current = models[0]
    return current


def models_by_name(roots: Iterable[type[BaseModel]]) -> dict[str, type[BaseModel]]:
    """Every model reachable from ``roots``, by class name (how pydantic errors name them)."""
    found: dict[str, type[BaseModel]] = {}
    pending = list(roots)
    while pending:
        model = pending.pop()
        if model.__name__ in found:
            continue
        found[model.__name__] = model
        for info in model.model_fields.values():
            pending.extend(_models_in(info.annotation))
    return found


def json_kind(value: object) -> str:
    """How JSON calls ``value``'s type: "a string", "a list"..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
