"""OpenAPI document that describes Kling's error body instead of FastAPI's 422, and the
real request models of the create endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from openreel.wire.families import Family, family_entry


def _add_schema(components: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for path, operations in doc.get("paths", {}).items():
            for method, operation in operations.items():
                operation.get("responses", {}).pop("422", None)
                if method != "post":
                    continue
                family = next((f for f in Family if path.endswith("/" + f.value)), None)
                if family is None:
                    continue
                refs = [_add_schema(components, m) for m in family_entry(family).models]
                schema: dict[str, Any] = refs[0] if len(refs) == 1 else {"oneOf": refs}
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": schema}},
                }
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
