"""A second federation, "library", built to make the planner work harder than our own two
subgraphs ever do:

- `Query.shelf` is shared by catalog and loans and `Shelf` is no entity: fields of one shelf
  come from two root fetches (the walk goes back to the root to change subgraph);
- ratings knows a book only by `isbn`, which only registry can tell from the `id` catalog
  has: catalog -> registry -> ratings, and a book without an isbn gets no rating;
- `Book.readingMinutes` in ratings @requires `format { pages ... on Ebook { megabytes } }`,
  an abstract field with a type condition, which catalog answers;
- in catalog `Paper.code` is `String!` and `Ebook.code` is `String` (the supergraph says
  `String` for both): selected side by side they conflict in a catalog query unless the
  gateway keeps them apart.
"""

from __future__ import annotations

from typing import Any

import strawberry
from fastapi import FastAPI

from .subgraphs import app_serving

BOOKS: dict[str, dict[str, Any]] = {
    "b1": {"title": "Dune", "format": ("paper", 600, "P-1"), "isbn": "978-1"},
    "b2": {"title": "Emma", "format": ("ebook", 300, 4), "isbn": "978-2"},
    "b3": {"title": "Lost Scroll", "format": ("paper", 10, "P-3"), "isbn": None},
}
STARS = {"978-1": 5, "978-2": 3}
LOANED = 2


# -- catalog -----------------------------------------------------------------------------
@strawberry.federation.interface(name="Format")
class Format:
    pages: int


@strawberry.federation.type(name="Paper", shareable=True)
class Paper(Format):
    code: str


@strawberry.federation.type(name="Ebook", shareable=True)
class Ebook(Format):
    megabytes: int
    code: str | None = None


def _format(book_id: str) -> Format:
    kind, pages, extra = BOOKS[book_id]["format"]
    if kind == "paper":
        return Paper(pages=pages, code=str(extra))
    return Ebook(pages=pages, megabytes=int(extra), code=None)


@strawberry.federation.type(keys=["id"], name="Book")
class CatalogBook:
    id: strawberry.ID
    title: str

    @strawberry.field
    def format(self) -> Format | None:
        return _format(str(self.id))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> CatalogBook:
        return CatalogBook(id=id, title=BOOKS[str(id)]["title"])


@strawberry.federation.type(name="Shelf", shareable=True)
class CatalogShelf:
    label: str

    @strawberry.federation.field(shareable=False)
    def books(self) -> list[CatalogBook]:
        return [CatalogBook(id=strawberry.ID(b), title=BOOKS[b]["title"]) for b in BOOKS]


@strawberry.type(name="Query")
class CatalogQuery:
    @strawberry.federation.field(shareable=True)
    def shelf(self) -> CatalogShelf:
        return CatalogShelf(label="New arrivals")


def create_catalog() -> FastAPI:
    return app_serving(
        strawberry.federation.Schema(
            query=CatalogQuery, types=[CatalogBook, Paper, Ebook], federation_version="2.7"
        )
    )


# -- loans -------------------------------------------------------------------------------
@strawberry.federation.type(name="Shelf", shareable=True)
class LoansShelf:
    label: str

    @strawberry.federation.field(shareable=False)
    def on_loan(self) -> int:
        return LOANED


@strawberry.type(name="Query")
class LoansQuery:
    @strawberry.federation.field(shareable=True)
    def shelf(self) -> LoansShelf:
        return LoansShelf(label="New arrivals")


def create_loans() -> FastAPI:
    return app_serving(strawberry.federation.Schema(query=LoansQuery, federation_version="2.7"))


# -- registry ----------------------------------------------------------------------------
@strawberry.federation.type(keys=["id", "isbn"], name="Book")
class RegistryBook:
    id: strawberry.ID
    isbn: str | None = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, **key: Any) -> RegistryBook | None:
        book_id = key.get("id") or next(
            (b for b, v in BOOKS.items() if v["isbn"] == key.get("isbn")), None
        )
        if book_id is None:
            return None
        return RegistryBook(id=strawberry.ID(book_id), isbn=BOOKS[str(book_id)]["isbn"])


@strawberry.type(name="Query")
class RegistryQuery:
    @strawberry.field
    def registered(self) -> int:
        return len(BOOKS)


def create_registry() -> FastAPI:
    return app_serving(
        strawberry.federation.Schema(
            query=RegistryQuery, types=[RegistryBook], federation_version="2.7"
        )
    )


# -- ratings -----------------------------------------------------------------------------
@strawberry.federation.interface(name="Format")
class RatingsFormat:
    pages: int


@strawberry.federation.type(name="Ebook", shareable=True)
class RatingsEbook(RatingsFormat):
    megabytes: int


@strawberry.federation.type(name="Paper", shareable=True)
class RatingsPaper(RatingsFormat):
    """Nullable here, `String!` in catalog: the supergraph says `String` for both types."""

    code: str | None


@strawberry.federation.type(keys=["isbn"], name="Book")
class RatingsBook:
    isbn: str = strawberry.federation.field(shareable=True)
    format: RatingsFormat | None = strawberry.federation.field(external=True, default=None)
    required_format: strawberry.Private[dict[str, Any] | None] = None

    @strawberry.field
    def stars(self) -> int | None:
        return STARS.get(self.isbn)

    @strawberry.federation.field(requires=["format { pages ... on Ebook { megabytes } }"])
    def reading_minutes(self) -> int | None:
        """A page is two minutes; an ebook also takes a minute a megabyte to download."""
        required = self.required_format or {}
        return int(required["pages"]) * 2 + int(required.get("megabytes", 0))

    @classmethod
    def resolve_reference(cls, isbn: str, **required: Any) -> RatingsBook:
        return RatingsBook(isbn=isbn, required_format=required.get("format"))


@strawberry.type(name="Query")
class RatingsQuery:
    @strawberry.field
    def top_stars(self) -> int:
        return max(STARS.values())


def create_ratings() -> FastAPI:
    return app_serving(
        strawberry.federation.Schema(
            query=RatingsQuery,
            types=[RatingsBook, RatingsEbook, RatingsPaper],
            federation_version="2.7",
        )
    )
