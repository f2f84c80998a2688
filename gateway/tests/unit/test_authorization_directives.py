"""The gateway over the authorization_directives federation case, in-process: what a caller
may not see is null with its coded error, null goes up from a non-null field as the spec
says, and no subgraph is asked for it (the subgraphs' call lists)."""

from __future__ import annotations

from typing import Any

from gateway.federation.authorization import ANONYMOUS, Access

from ..federation_cases import authorization_directives
from ..federation_cases.harness import Case

CUSTOMER = Access.signed_in("customer")
READER = Access.signed_in("customer", {"read:users", "read:email"})
BILLING = Access.signed_in("customer", {"read:users", "billing"})


async def _run(case: Case, query: str, access: Access) -> dict[str, Any]:
    case.reset_calls()
    return await case.gateway().execute(query, access=access)


def _codes(answer: dict[str, Any]) -> list[tuple[tuple[object, ...], str]]:
    return sorted(
        (tuple(error["path"]), error["extensions"]["code"]) for error in answer.get("errors", ())
    )


async def test_an_anonymous_field_is_null_with_unauthenticated_and_not_asked_for() -> None:
    case = authorization_directives.build()
    answer = await _run(case, "{ notice me { name } }", ANONYMOUS)
    assert answer["data"] == {"notice": "open today", "me": None}
    assert _codes(answer) == [(("me",), "UNAUTHENTICATED")]
    assert case.calls() == {"accounts": 1, "billing": 0}
    assert "me" not in case.subgraphs["accounts"].calls[0]["query"]


async def test_an_operation_with_nothing_the_caller_may_see_calls_no_subgraph() -> None:
    case = authorization_directives.build()
    answer = await _run(case, "{ me { name } }", ANONYMOUS)
    assert answer["data"] == {"me": None}
    assert case.calls() == {"accounts": 0, "billing": 0}


async def test_a_signed_in_caller_without_the_scope_gets_forbidden_at_the_field() -> None:
    case = authorization_directives.build()
    answer = await _run(case, "{ me { name email } }", CUSTOMER)
    assert answer["data"] == {"me": {"name": "Ada", "email": None}}
    assert _codes(answer) == [(("me", "email"), "FORBIDDEN")]
    assert "email" not in case.subgraphs["accounts"].calls[0]["query"]
    assert answer["errors"][0]["locations"]  # where in the client's operation


async def test_one_of_the_scope_sets_is_enough() -> None:
    case = authorization_directives.build()
    answer = await _run(case, "{ me { email } users { name email } }", READER)
    assert answer == {
        "data": {
            "me": {"email": "ada@example.com"},
            "users": [
                {"name": "Ada", "email": "ada@example.com"},
                {"name": "Bob", "email": "bob@example.com"},
            ],
        }
    }


async def test_a_refused_non_null_field_nulls_its_parent_and_skips_the_entity_call() -> None:
    case = authorization_directives.build()
    # Card needs the billing scope; User.card is non-null, so each user is null instead
    answer = await _run(case, "{ users { name card { last4 } } }", READER)
    assert answer["data"] == {"users": [None, None]}
    assert _codes(answer) == [
        (("users", 0, "card"), "FORBIDDEN"),
        (("users", 1, "card"), "FORBIDDEN"),
    ]
    assert case.calls() == {"accounts": 1, "billing": 0}
    allowed = await _run(case, "{ users { name card { last4 } } }", BILLING)
    assert allowed == {
        "data": {
            "users": [
                {"name": "Ada", "card": {"last4": "4u1"}},
                {"name": "Bob", "card": {"last4": "4u2"}},
            ]
        }
    }
    assert case.calls() == {"accounts": 1, "billing": 1}


async def test_a_refused_non_null_root_field_nulls_the_data() -> None:
    case = authorization_directives.build()
    answer = await _run(case, "{ invoices { id total } }", ANONYMOUS)
    assert answer["data"] is None
    assert _codes(answer) == [(("invoices",), "UNAUTHENTICATED")]
    assert case.calls() == {"accounts": 0, "billing": 0}


async def test_a_fragment_on_a_type_the_caller_may_not_see_is_left_out() -> None:
    case = authorization_directives.build()
    query = "{ search { __typename ... on User { name } ... on Invoice { total } } }"
    answer = await _run(case, query, CUSTOMER)
    assert answer["data"] == {
        "search": [{"__typename": "User", "name": "Ada"}, {"__typename": "Invoice", "total": None}]
    }
    assert _codes(answer) == [(("search", 1, "total"), "FORBIDDEN")]
    assert case.calls() == {"accounts": 1, "billing": 0}
    allowed = await _run(case, query, BILLING)
    assert allowed["data"]["search"][1] == {"__typename": "Invoice", "total": 30}


async def test_named_fragments_are_checked_where_they_are_spread() -> None:
    case = authorization_directives.build()
    query = "{ me { ...Who } } fragment Who on User { name email }"
    answer = await _run(case, query, CUSTOMER)
    assert answer["data"] == {"me": {"name": "Ada", "email": None}}
    assert _codes(answer) == [(("me", "email"), "FORBIDDEN")]


async def test_a_plan_filtered_for_one_caller_is_never_served_to_another() -> None:
    case = authorization_directives.build()
    gateway = case.gateway()
    query = "{ me { name email } }"
    anonymous = await gateway.execute(query, access=ANONYMOUS)
    reader = await gateway.execute(query, access=READER)
    customer = await gateway.execute(query, access=CUSTOMER)
    again = await gateway.execute(query, access=ANONYMOUS)
    assert anonymous == again
    assert anonymous["data"] == {"me": None}
    assert reader == {"data": {"me": {"name": "Ada", "email": "ada@example.com"}}}
    assert customer["data"] == {"me": {"name": "Ada", "email": None}}
    # one plan per set of failed requirements: anonymous, customer, reader (none failed)
    assert len(gateway.prepare(query, None).plans) == 3


async def test_skipped_refused_fields_raise_no_error() -> None:
    case = authorization_directives.build()
    answer = await _run(case, "{ notice me @skip(if: true) { name } }", ANONYMOUS)
    assert answer == {"data": {"notice": "open today"}}
