"""The supergraph model: join directives read once into typed records (field sets parsed,
override labels, context arguments), and a field set that does not parse refused at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.federation.supergraph import Supergraph, SupergraphError

CASES = Path(__file__).resolve().parents[1] / "federation_cases"


def _case(name: str) -> str:
    return (CASES / name / "supergraph.graphql").read_text()


def test_keys_and_requirements_are_parsed_field_sets() -> None:
    supergraph = Supergraph.parse(_case("requires_arguments"))
    item = supergraph.types["Item"]
    assert [key.text for key in item.keys["SHIPPING"]] == ["id"]
    requires = item.fields["costInEuros"].requires["SHIPPING"]
    (price, weight) = requires.fields
    assert (price.name.value, weight.name.value) == ("price", "weight")
    assert price.arguments[0].name.value == "currency"


def test_override_labels_and_context_arguments_are_read() -> None:
    labelled = Supergraph.parse(_case("progressive_override"))
    assert labelled.override_labels == {"percent(30)", "stock-from-modern"}
    assert labelled.types["Product"].fields["price"].labels == {
        "LEGACY": ("percent(30)", False),
        "MODERN": ("percent(30)", True),
    }
    contextual = Supergraph.parse(_case("context_arguments"))
    (argument,) = contextual.types["Invoice"].fields["display"].context_arguments["BILLING"]
    assert (argument.name, argument.context) == ("currency", "billing__buyer")
    assert [f.name.value for f in argument.selection.fields] == ["currency"]
    assert contextual.sets_context("Customer", "billing__buyer")


def test_a_key_that_does_not_parse_is_refused_at_load() -> None:
    broken = _case("requires_arguments").replace('key: "id"', 'key: "id {"', 1)
    with pytest.raises(SupergraphError, match="not a field set"):
        Supergraph.parse(broken)
