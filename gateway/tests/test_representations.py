"""Representations built from merged objects: null keys fetch nothing, nullable requirements
travel as null."""

from __future__ import annotations

from gateway.federation.executor import _objects_at, _path_to, _representation
from gateway.federation.plan import KeyField

KEY = KeyField("id", "_fed_id")
NESTED = KeyField("variation", "_fed_variation", (KeyField("id", "id"),))
WEIGHT = KeyField("weight", "_fed_weight", nullable=True)


def test_a_representation_maps_internal_aliases_back_to_field_names() -> None:
    obj = {
        "__typename": "Product",
        "_fed_id": "p1",
        "_fed_variation": {"id": "v1"},
        "_fed_weight": None,
        "name": "Table",
    }
    assert _representation("Product", obj, (KEY, NESTED, WEIGHT)) == {
        "__typename": "Product",
        "id": "p1",
        "variation": {"id": "v1"},
        "weight": None,
    }


def test_a_null_key_names_no_entity() -> None:
    assert _representation("Product", {"_fed_id": None}, (KEY,)) is None
    assert _representation("Product", {}, (KEY,)) is None


def test_objects_are_found_through_lists_and_nulls_with_their_paths() -> None:
    data = {"a": [{"b": {"x": 1}}, None, {"b": None}, {"b": [{"x": 2}]}]}
    found = _objects_at(data, ("a", "b"))
    assert found == [{"x": 1}, {"x": 2}]
    assert [_path_to(data, ("a", "b"), obj) for obj in found] == [["a", 0, "b"], ["a", 3, "b", 0]]
