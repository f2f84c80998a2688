"""The text pieces a product's name is found by (product_queries.name_grams): every piece of
any text the name holds is among the name's, so the products holding a text's rarest piece
are all the products holding the text."""

from __future__ import annotations

import random

from inventory.adapters.product_queries import name_grams


def test_pieces_are_taken_within_words_only() -> None:
    assert name_grams("Cast IRON pot 12") == ["ast", "cas", "iro", "pot", "ron"]
    assert name_grams("a b c  de") == []


def test_every_piece_of_a_text_in_the_name_is_a_piece_of_the_name() -> None:
    rng = random.Random(7)
    alphabet = "abcXYZ 12\tÉé ß"
    for _ in range(2_000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))
        start = rng.randrange(len(name))
        text = name[start : rng.randrange(start, len(name)) + 1]
        # what the listing's filter asks: the text in the name, case-insensitive
        if text.casefold() in name.casefold():
            assert set(name_grams(text)) <= set(name_grams(name)), (text, name)
