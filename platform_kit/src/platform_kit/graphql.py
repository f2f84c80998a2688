"""GraphQL pieces both subgraphs share, so the composed schema sees one definition of each.

Needs the kit's `graphql` extra (Strawberry): only the subgraphs install it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, NewType, Self, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.federation.schema import FederationAny
from strawberry.types import ExecutionContext, Info

from platform_kit import paging
from platform_kit.casing import camel_keys
from platform_kit.errors import Classifier, ErrorCode
from platform_kit.money import format_money, parse_money

__all__ = ["Money", "Page", "SubgraphSchema", "error_translation"]

T = TypeVar("T")


if TYPE_CHECKING:
    Money = Decimal
else:
    Money = strawberry.scalar(
        NewType("Money", Decimal),
        name="Money",
        description='An exact amount of money: a decimal string with two decimals, e.g. "19.99".',
        serialize=format_money,
        parse_value=parse_money,
    )


@strawberry.type
class Page(Generic[T]):
    """A page of a listing; `Page[ProductType]` is the SDL type `ProductPage`."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None

    @classmethod
    def of(cls, page: paging.Page[Any], item: Callable[[Any], T]) -> Self:
        return cls(
            items=[item(found) for found in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            next_cursor=page.next_cursor,
        )


_log = logging.getLogger("graphql.errors")


def error_translation(classify: Classifier) -> type[SchemaExtension]:
    """A schema extension giving every error an `extensions.code` from the service's own
    `classify` (its one mapping of domain errors) and its details in camelCase, and hiding
    unexpected internals."""

    def translate(error: GraphQLError) -> GraphQLError:
        if error.extensions and "code" in error.extensions:
            return error
        original = error.original_error
        extra: dict[str, Any] = {}
        # Errors of the request itself (syntax, validation, variables) have no path.
        if original is None or error.path is None:
            code, message = ErrorCode.BAD_USER_INPUT, error.message
        else:
            code, message, details = classify(original)
            extra = camel_keys(details)
            if code is ErrorCode.INTERNAL_SERVER_ERROR:
                _log.error("unexpected error in resolver", exc_info=original)
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=original,
            extensions={**(error.extensions or {}), "code": code.value, **extra},
        )

    class TranslateErrors(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            yield
            result = self.execution_context.result
            if result is not None and result.errors:
                result.errors = [translate(error) for error in result.errors]

    return TranslateErrors


# What one request may ask a subgraph, in defence behind the gateway's own limits: higher
# than the gateway's client limits, since the gateway adds aliases and `_entities` levels of
# its own, yet low enough that a request sent straight to a subgraph cannot run for minutes.
SUBGRAPH_MAX_TOKENS = 50_000
SUBGRAPH_MAX_DEPTH = 40
SUBGRAPH_MAX_ALIASES = 2_000
MAX_REPRESENTATIONS = 10_000  # entity references in one `_entities` field


class SubgraphSchema(strawberry.federation.Schema):
    """A federation schema with operation limits, checked entity references, and no
    logging of expected errors as incidents (the error translation logs the unexpected)."""

    def __init__(self, *, extensions: Sequence[Any] = (), **kwargs: Any) -> None:
        limits: list[Callable[[], SchemaExtension]] = [
            partial(MaxTokensLimiter, max_token_count=SUBGRAPH_MAX_TOKENS),
            partial(QueryDepthLimiter, max_depth=SUBGRAPH_MAX_DEPTH),
            partial(MaxAliasesLimiter, max_alias_count=SUBGRAPH_MAX_ALIASES),
        ]
        super().__init__(extensions=[*limits, *extensions], **kwargs)

    # the annotations are Strawberry's own: it builds the `_entities` field from them
    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """Refuses what Strawberry's own resolver would fail on with an internal error."""
        if len(representations) > MAX_REPRESENTATIONS:
            raise _bad_input(
                f"at most {MAX_REPRESENTATIONS} representations in one request",
            )
        type_map = self.schema_converter.type_map
        for index, representation in enumerate(representations):
            typename = (
                representation.get("__typename") if isinstance(representation, dict) else None
            )
            if not isinstance(typename, str) or typename not in type_map:
                raise _bad_input(
                    f"representation {index} is not an object with the __typename of an entity",
                )
        return super().entities_resolver(info, representations)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": ErrorCode.BAD_USER_INPUT.value})
