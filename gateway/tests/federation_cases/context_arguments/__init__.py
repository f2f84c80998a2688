"""@context / @fromContext: an invoice shows its amount in its buyer's currency, an argument
that billing takes from the nearest `Customer` above the invoice in the operation. The two
customers use different currencies, so their invoices go in two calls, each with its value."""

from __future__ import annotations

from typing import Any

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "context_arguments"
CUSTOMERS = {"c1": ("Ada", "EUR"), "c2": ("Bob", "USD")}
INVOICES = {"i1": ("c1", 10), "i2": ("c1", 20), "i3": ("c2", 5)}


def _customer(customer_id: str) -> dict[str, Any]:
    name, currency = CUSTOMERS[customer_id]
    return {"id": customer_id, "name": name, "currency": currency}


def _invoice(invoice_id: str) -> dict[str, Any]:
    return {"id": invoice_id, "amount": INVOICES[invoice_id][1]}


def build() -> Case:
    customers = SdlSubgraph(
        "customers",
        subgraph_sdl(NAME, "customers"),
        resolvers={"Query": {"customers": lambda _: [_customer(c) for c in CUSTOMERS]}},
        references={"Customer": lambda rep: _customer(rep["id"])},
    )
    billing = SdlSubgraph(
        "billing",
        subgraph_sdl(NAME, "billing"),
        resolvers={
            "Customer": {
                "invoices": lambda customer: [
                    _invoice(i) for i, (owner, _) in INVOICES.items() if owner == customer["id"]
                ]
            },
            "Invoice": {"display": lambda invoice, currency: f"{invoice['amount']} {currency}"},
        },
        references={
            "Customer": lambda rep: _customer(rep["id"]),
            "Invoice": lambda rep: _invoice(rep["id"]),
        },
    )
    return Case(NAME, {"customers": customers, "billing": billing})
