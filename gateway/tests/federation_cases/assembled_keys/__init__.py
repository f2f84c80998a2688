"""Keys no one subgraph can give: the shelves subgraph knows a shelf's books by `id` only,
but the picks subgraph keys a shelf by `books { id isbn }` and the prices subgraph by
`books { id isbn genre { id tag } } pick { id }`. The `isbn` of each book comes from the
isbns subgraph (a book by `id`) and `pick` from picks, so each key is assembled from several
fetches before the entity call it feeds."""

from __future__ import annotations

from typing import Any

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "assembled_keys"
BOOKS = {
    "1": {"isbn": "i1", "genre": "g1", "amount": 10.5},
    "2": {"isbn": "i2", "genre": "g2", "amount": 20.0},
}
GENRES = {"g1": {"tag": "t1", "flagship": "1"}, "g2": {"tag": "t2", "flagship": "2"}}


def _genre(genre_id: str) -> dict[str, Any]:
    return {"id": genre_id, "tag": GENRES[genre_id]["tag"]}


def _shelves_book(book_id: str) -> dict[str, Any]:
    genre_id = BOOKS[book_id]["genre"]
    return {"id": book_id, "genre": {**_genre(genre_id), "flagship": {"id": book_id}}}


def _full_book(book_id: str) -> dict[str, Any]:
    row = BOOKS[book_id]
    return {
        "id": book_id,
        "isbn": row["isbn"],
        "genre": _genre(row["genre"]),
        "price": {"amount": row["amount"]},
    }


def _matching(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The books a key's `books` list names, checking every field the key carries."""
    found = []
    for key in keys:
        book = _full_book(key["id"])
        if key.get("isbn") != book["isbn"]:
            continue
        if "genre" in key and key["genre"] != book["genre"]:
            continue
        found.append(book)
    return found


def build() -> Case:
    shelves = SdlSubgraph(
        "shelves",
        subgraph_sdl(NAME, "shelves"),
        resolvers={"Query": {"topShelf": lambda _: {"books": [_shelves_book(i) for i in BOOKS]}}},
        references={
            "Book": lambda rep: _shelves_book(rep["id"]),
            "Genre": lambda rep: {**_genre(rep["id"]), "flagship": {"id": "1"}},
        },
    )
    isbns = SdlSubgraph(
        "isbns",
        subgraph_sdl(NAME, "isbns"),
        references={"Book": lambda rep: {"id": rep["id"], "isbn": BOOKS[rep["id"]]["isbn"]}},
    )

    def shelf(rep: dict[str, Any]) -> dict[str, Any]:
        books = _matching(rep["books"])
        return {"books": books, "first": books[0], "pick": books[1]}

    picks = SdlSubgraph("picks", subgraph_sdl(NAME, "picks"), references={"Shelf": shelf})
    prices = SdlSubgraph(
        "prices",
        subgraph_sdl(NAME, "prices"),
        references={
            "Shelf": shelf,
            "Book": lambda rep: _matching([rep])[0] if _matching([rep]) else None,
            "Genre": lambda rep: _genre(rep["id"]),
        },
    )
    return Case(NAME, {"shelves": shelves, "isbns": isbns, "picks": picks, "prices": prices})
