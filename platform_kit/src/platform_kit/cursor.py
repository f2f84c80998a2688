"""Opaque page cursors: base64url JSON that clients pass back unchanged."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> dict[str, Any]:
    """Raises ValueError for anything this module did not make."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not a cursor") from None
    if not isinstance(data, dict):
        raise ValueError("not a cursor")
    return data
