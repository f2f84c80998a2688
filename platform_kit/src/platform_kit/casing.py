"""The one casing rule between the APIs: GraphQL names are camelCase, REST and Python names
snake_case. REST models take it as their alias generator; error details are written in
snake_case and camelCased for GraphQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["camel_keys", "snake_keys", "to_camel", "to_snake"]

_CAPITAL = re.compile(r"(?<!^)(?=[A-Z])")


def to_camel(name: str) -> str:
    """product_id -> productId"""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def to_snake(name: str) -> str:
    """productId -> product_id"""
    return _CAPITAL.sub("_", name).lower()


def camel_keys(value: Any) -> Any:
    """The same data with every mapping's keys camelCased, at any depth (values unchanged)."""
    return _renamed(value, to_camel)


def snake_keys(value: Any) -> Any:
    """The same data with every mapping's keys snake_cased, at any depth (values unchanged)."""
    return _renamed(value, to_snake)


def _renamed(value: Any, rename: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {rename(key): _renamed(item, rename) for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item, rename) for item in value]
    return value
