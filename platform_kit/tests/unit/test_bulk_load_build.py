"""An index build after a load is asked again when the driver gives up on the connection (the
server goes on building); other errors, and a third loss, are raised."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import IndexModel
from pymongo.errors import AutoReconnect, OperationFailure

from platform_kit.bulk_load import BUILD_ATTEMPTS, _build


class Collection:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.asked = 0

    async def create_indexes(self, models: list[IndexModel]) -> list[str]:
        self.asked += 1
        if self.failures:
            raise self.failures.pop(0)
        return [model.document["name"] for model in models]


MODEL = IndexModel([("key", 1)], name="key")


async def test_a_build_cancelled_with_its_connection_is_asked_again() -> None:
    collection = Collection([AutoReconnect("operation cancelled")])
    await _build(collection, MODEL)  # type: ignore[arg-type]
    assert collection.asked == 2


@pytest.mark.parametrize(
    "failures",
    [[OperationFailure("bad spec")], [AutoReconnect("gone")] * BUILD_ATTEMPTS],
)
async def test_other_errors_and_a_lasting_loss_are_raised(failures: list[Any]) -> None:
    collection = Collection(list(failures))
    with pytest.raises(type(failures[0])):
        await _build(collection, MODEL)  # type: ignore[arg-type]
    assert collection.asked == len(failures)
