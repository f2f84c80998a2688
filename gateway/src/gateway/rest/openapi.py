"""The OpenAPI document as a client reads it: a query or header parameter left out is the
absence of a value, and none can be sent as null (a client sending `If-Match: null` sends
the text "null"). So an optional parameter's schema is its value's, without the `null`
branch pydantic writes for `X | None`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

__all__ = ["install_openapi"]


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    choices = schema.get("anyOf")
    if not choices:
        return schema
    kept = [choice for choice in choices if choice.get("type") != "null"]
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


def _optional_parameters_not_null(document: dict[str, Any]) -> None:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if not parameter.get("required") and "schema" in parameter:
                    parameter["schema"] = _without_null(parameter["schema"])


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _optional_parameters_not_null(generate())
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]
