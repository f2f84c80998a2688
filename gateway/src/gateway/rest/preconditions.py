"""`If-Match` (RFC 9110, 13.1.1) against the ETags the REST routes send: a product's version
as a quoted decimal, `"7"`.

The field is `*` or a comma-separated list of entity-tags. A tag matches by strong
comparison: it is not weak and its opaque string is exactly the one we send. So `W/"7"`,
`"07"` and a tag of four thousand digits match no version, and are dropped by their text,
before any of them is turned into a number."""

from __future__ import annotations

import re

__all__ = ["IF_MATCH_PATTERN", "MAX_VERSION", "versions_matched_by"]

# a version travels as a GraphQL Int (32 bits signed): no tag above it names one we sent
MAX_VERSION = 2**31 - 1
_TAG = r'(W/)?"([^"]*)"'
IF_MATCH_PATTERN = rf"^\s*(\*|{_TAG}(\s*,\s*{_TAG})*)\s*$"
_FIELD = re.compile(IF_MATCH_PATTERN, re.ASCII)
_ENTITY_TAG = re.compile(_TAG, re.ASCII)
_VERSION_TEXT = re.compile(r"0|[1-9][0-9]{0,9}", re.ASCII)  # as str(version) writes it


def versions_matched_by(if_match: str | None) -> frozenset[int] | None:
    """The versions whose ETag the field matches; None for no field or `*` (any version).
    An empty set: no version can match (412), as for a field that is not `*` or a list of
    entity-tags (no tag in it is one we sent)."""
    if if_match is None:
        return None
    if _FIELD.match(if_match) is None:
        return frozenset()
    if if_match.strip() == "*":
        return None
    return frozenset(
        int(opaque)
        for weak, opaque in _ENTITY_TAG.findall(if_match)
        if not weak and _VERSION_TEXT.fullmatch(opaque) and int(opaque) <= MAX_VERSION
    )
