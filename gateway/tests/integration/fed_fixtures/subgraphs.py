"""Three subgraphs, "accounts", "products" and "reviews", over fixed in-memory data."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import strawberry
from fastapi import FastAPI, Request
from fastapi.responses import Response
from strawberry.fastapi import GraphQLRouter
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

COUNTS = {"graphql": 0, "abandoned": 0}
DELAY = {"seconds": 0.0}
HEADERS: dict[str, str] = {}  # the X- headers of the last GraphQL request

USERS = {"1": {"name": "Ada", "username": "@ada"}, "2": {"name": "Alan", "username": "@alan"}}
PRODUCTS = {
    "p1": {"sku": "S1", "variation": "v1", "name": "Table", "price": 100, "weight": 10},
    "p2": {"sku": "S2", "variation": "v2", "name": "Chair", "price": 40, "weight": 3},
    "p3": {"sku": "S3", "variation": "v3", "name": "Lamp", "price": 25, "weight": 1},
}
REVIEWS = [
    {"id": "r1", "body": "Sturdy", "author": "1", "upc": "p1"},
    {"id": "r2", "body": "Wobbly", "author": "2", "upc": "p1"},
    {"id": "r3", "body": "Bright", "author": "1", "upc": "p3"},
]
BOOKS = {"b1": "Dune", "b2": "Emma"}
MOVIES = {"m1": "Alien"}


async def _caller_leaves_within(request: Request, seconds: float) -> bool:
    """Waits `seconds`, or less if the caller closes its connection first (True then)."""
    await request.body()  # read (and kept for the app): what is left to receive is the end
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await request.is_disconnected():
            return True
        await asyncio.sleep(0.02)
    return False


def app_serving(schema: strawberry.federation.Schema) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        if request.url.path == "/graphql" and request.method == "POST":
            COUNTS["graphql"] += 1
            HEADERS.clear()
            HEADERS.update((k, v) for k, v in request.headers.items() if k.startswith("x-"))
            delay = request.headers.get("x-test-delay") or DELAY["seconds"]
            if delay and await _caller_leaves_within(request, float(delay)):
                COUNTS["abandoned"] += 1
                return Response(status_code=499)
        return await call_next(request)

    @app.get("/headers")
    async def get_headers() -> dict[str, str]:
        return HEADERS

    @app.get("/count")
    async def get_count() -> dict[str, int]:
        return COUNTS

    @app.post("/reset")
    async def reset() -> dict[str, int]:
        COUNTS.update(graphql=0, abandoned=0)
        return COUNTS

    @app.post("/delay")
    async def delay(seconds: float) -> dict[str, float]:
        """Every GraphQL answer waits this long from now on: requests overlap in tests."""
        DELAY["seconds"] = seconds
        return DELAY

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(GraphQLRouter(schema), prefix="/graphql")
    return app


# -- accounts ----------------------------------------------------------------------------
@strawberry.federation.type(keys=["id"], name="User")
class AccountsUser:
    id: strawberry.ID
    name: str
    username: str = strawberry.federation.field(shareable=True)
    nickname: str = strawberry.federation.field(shareable=False)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> AccountsUser | None:
        user = USERS.get(str(id))
        return _account(str(id)) if user else None


def _account(user_id: str) -> AccountsUser:
    user = USERS[user_id]
    return AccountsUser(
        id=strawberry.ID(user_id),
        name=user["name"],
        username=user["username"],
        nickname="from-accounts",
    )


@strawberry.type(name="Query")
class AccountsQuery:
    @strawberry.field
    def me(self) -> AccountsUser:
        return _account("1")

    @strawberry.field
    def users(self) -> list[AccountsUser]:
        return [_account(uid) for uid in USERS]


def create_accounts() -> FastAPI:
    return app_serving(
        strawberry.federation.Schema(
            query=AccountsQuery, types=[AccountsUser], federation_version="2.7"
        )
    )


# -- products ----------------------------------------------------------------------------
@strawberry.federation.type(name="Variation", shareable=True)
class Variation:
    id: strawberry.ID


@strawberry.federation.interface(keys=["id"], name="Media")
class Media:
    id: strawberry.ID
    title: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Media | None:
        """An entity interface: a bare `Media` reference resolves to its concrete type."""
        if str(id) in BOOKS:
            return Book(id=id, title=BOOKS[str(id)])
        if str(id) in MOVIES:
            return Movie(id=id, title=MOVIES[str(id)])
        return None


@strawberry.federation.type(keys=["id"], name="Book")
class Book(Media):
    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Book:
        return Book(id=id, title=BOOKS[str(id)])


@strawberry.federation.type(keys=["id"], name="Movie")
class Movie(Media):
    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Movie:
        return Movie(id=id, title=MOVIES[str(id)])


@strawberry.federation.type(keys=["upc", "sku variation { id }"], name="Product")
class ProductsProduct:
    upc: str
    sku: str
    variation: Variation
    name: str
    price: int
    weight: int
    secret: str = strawberry.federation.field(inaccessible=True, default="hidden")

    @strawberry.field
    def price_in(self, currency: str) -> int:
        return self.price * (2 if currency == "EUR" else 1)

    @classmethod
    def resolve_reference(cls, **representation: Any) -> ProductsProduct | None:
        upc = representation.get("upc")
        if upc is None:
            sku = representation.get("sku")
            upc = next((u for u, p in PRODUCTS.items() if p["sku"] == sku), None)
        return _product(str(upc)) if upc in PRODUCTS else None


def _product(upc: str) -> ProductsProduct:
    p = PRODUCTS[upc]
    return ProductsProduct(
        upc=upc,
        sku=p["sku"],
        variation=Variation(id=p["variation"]),
        name=p["name"],
        price=p["price"],
        weight=p["weight"],
    )


SearchResult = Annotated[ProductsProduct | Book | Movie, strawberry.union("SearchResult")]


@strawberry.federation.type(name="Featured", shareable=True)
class ProductsFeatured:
    title: str


@strawberry.type(name="Query")
class ProductsQuery:
    @strawberry.federation.field(shareable=True)
    def featured(self) -> ProductsFeatured:
        return ProductsFeatured(title="Spring sale")

    @strawberry.field
    def top_products(self, first: int = 5) -> list[ProductsProduct]:
        return [_product(upc) for upc in list(PRODUCTS)[:first]]

    @strawberry.field
    def product(self, upc: str) -> ProductsProduct | None:
        return _product(upc) if upc in PRODUCTS else None

    @strawberry.field
    def media(self) -> list[Media]:
        return [
            *(Book(id=strawberry.ID(i), title=t) for i, t in BOOKS.items()),
            *(Movie(id=strawberry.ID(i), title=t) for i, t in MOVIES.items()),
        ]

    @strawberry.field
    def search(self) -> list[SearchResult]:
        return [
            _product("p2"),
            Book(id=strawberry.ID("b1"), title=BOOKS["b1"]),
            Movie(id=strawberry.ID("m1"), title=MOVIES["m1"]),
        ]


def create_products() -> FastAPI:
    return app_serving(
        strawberry.federation.Schema(
            query=ProductsQuery, types=[ProductsProduct, Book, Movie], federation_version="2.7"
        )
    )


# -- reviews -----------------------------------------------------------------------------
@strawberry.federation.type(keys=["id"], name="User")
class ReviewsUser:
    id: strawberry.ID
    username: str = strawberry.federation.field(external=True)
    nickname: str = strawberry.federation.field(override="accounts")

    @strawberry.field
    def reviews(self) -> list[ReviewType]:
        return [_review(r) for r in REVIEWS if r["author"] == str(self.id)]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewsUser:
        return ReviewsUser(id=id, username="", nickname="from-reviews")


@strawberry.type(name="Review")
class ReviewType:
    id: strawberry.ID
    body: str
    upc: strawberry.Private[str]
    author_id: strawberry.Private[str]

    @strawberry.federation.field(provides=["username"])
    def author(self) -> ReviewsUser:
        return ReviewsUser(
            id=strawberry.ID(self.author_id),
            username=USERS[self.author_id]["username"] + " (provided)",
            nickname="from-reviews",
        )

    @strawberry.field
    def product(self) -> ReviewsProduct:
        return ReviewsProduct(upc=self.upc, price=0, weight=0)


def _review(review: dict[str, str]) -> ReviewType:
    return ReviewType(
        id=strawberry.ID(review["id"]),
        body=review["body"],
        upc=review["upc"],
        author_id=review["author"],
    )


@strawberry.federation.type(keys=["upc"], name="Product")
class ReviewsProduct:
    upc: str
    price: int = strawberry.federation.field(external=True)
    weight: int = strawberry.federation.field(external=True)

    @strawberry.field
    def reviews(self) -> list[ReviewType]:
        return [_review(r) for r in REVIEWS if r["upc"] == self.upc]

    euro_price: strawberry.Private[int] = 0

    @strawberry.federation.field(external=True)
    def price_in(self, currency: str) -> int:
        return 0

    @strawberry.federation.field(requires=["price weight"])
    def shipping_estimate(self) -> int:
        return 0 if self.price > 50 else self.weight * 2

    @strawberry.federation.field(requires=['priceIn(currency: "EUR")'])
    def euro_label(self) -> str:
        return f"EUR {self.euro_price}"

    @classmethod
    def resolve_reference(cls, upc: str, **required: Any) -> ReviewsProduct:
        return ReviewsProduct(
            upc=upc,
            price=required.get("price", 0),
            weight=required.get("weight", 0),
            euro_price=required.get("priceIn", 0),
        )


@strawberry.federation.type(keys=["id"], name="Book")
class ReviewsBook:
    id: strawberry.ID

    @strawberry.field
    def review_count(self) -> int:
        return {"b1": 7, "b2": 0}.get(str(self.id), 0)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewsBook:
        return ReviewsBook(id=id)


ADDED: list[str] = []


@strawberry.type(name="Query")
class ReviewsQuery:
    @strawberry.field
    def latest_reviews(self) -> list[ReviewType]:
        return [_review(r) for r in REVIEWS]


@strawberry.type(name="Mutation")
class ReviewsMutation:
    @strawberry.mutation
    def add_review(self, body: str) -> ReviewType:
        ADDED.append(body)
        return ReviewType(
            id=strawberry.ID(f"new{len(ADDED)}"),
            body=f"{len(ADDED)}:{body}",
            upc="p1",
            author_id="1",
        )


def create_reviews() -> FastAPI:
    return app_serving(
        strawberry.federation.Schema(
            query=ReviewsQuery,
            mutation=ReviewsMutation,
            types=[ReviewsUser, ReviewsProduct, ReviewsBook],
            federation_version="2.7",
        )
    )


# -- ratings: sees Media as an object (@interfaceObject) ---------------------------------
RATINGS = {"b1": 4, "b2": 5, "m1": 3}


@strawberry.federation.interface_object(keys=["id"], name="Media")
class RatedMedia:
    id: strawberry.ID
    rating: int

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> RatedMedia:
        return RatedMedia(id=id, rating=RATINGS.get(str(id), 0))


@strawberry.type(name="Query")
class RatingsQuery:
    @strawberry.field
    def top_rated(self) -> list[RatedMedia]:
        return [
            RatedMedia(id=strawberry.ID(i), rating=r)
            for i, r in sorted(RATINGS.items(), key=lambda item: -item[1])
        ]


def create_ratings() -> FastAPI:
    return app_serving(
        strawberry.federation.Schema(
            query=RatingsQuery, types=[RatedMedia], federation_version="2.7"
        )
    )


# -- warehouse: knows products only by their compound, nested key ------------------------
@strawberry.federation.type(name="Variation", shareable=True)
class WarehouseVariation:
    id: strawberry.ID


@strawberry.federation.type(keys=["sku variation { id }"], name="Product")
class WarehouseProduct:
    sku: str
    variation: WarehouseVariation
    stock_level: int
    shipping_estimate: int = strawberry.federation.field(external=True, default=0)

    @strawberry.federation.field(requires=["shippingEstimate"])
    def restock_cost(self) -> int:
        """Needs a field that itself @requires fields of a third subgraph."""
        return self.shipping_estimate * 10 + 1

    @classmethod
    def resolve_reference(
        cls, sku: str, variation: dict[str, Any], shippingEstimate: int = 0
    ) -> WarehouseProduct:
        return WarehouseProduct(
            sku=sku,
            variation=WarehouseVariation(id=variation["id"]),
            stock_level=len(sku) * 10 + int(str(variation["id"])[1:]),
            shipping_estimate=shippingEstimate,
        )


@strawberry.federation.type(name="Featured", shareable=True)
class WarehouseFeatured:
    title: str
    stock_note: str


@strawberry.type(name="Query")
class WarehouseQuery:
    @strawberry.federation.field(shareable=True)
    def featured(self) -> WarehouseFeatured:
        return WarehouseFeatured(title="Spring sale", stock_note="all in stock")

    @strawberry.field
    def restock(self) -> list[WarehouseProduct]:
        return [
            WarehouseProduct(
                sku=p["sku"], variation=WarehouseVariation(id=p["variation"]), stock_level=0
            )
            for upc, p in PRODUCTS.items()
            if upc != "p1"
        ]


def create_warehouse() -> FastAPI:
    return app_serving(
        strawberry.federation.Schema(
            query=WarehouseQuery, types=[WarehouseProduct], federation_version="2.7"
        )
    )


_ = (Key, FieldSet)
