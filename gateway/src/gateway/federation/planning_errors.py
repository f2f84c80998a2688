"""Why an operation cannot be planned on this supergraph. The pipeline answers any of them
with an error naming the reason; the types say which stage refused and on what."""

from __future__ import annotations

__all__ = [
    "AbstractFieldUnanswerable",
    "ConcreteTypeUnknown",
    "ContextNotSet",
    "ContextSelectionInvalid",
    "NoKeyPath",
    "NoResolver",
    "NotAnEntity",
    "PlanningError",
    "UnknownField",
]


class PlanningError(Exception):
    """The operation is valid for the API schema, but no plan over the subgraphs answers it."""


class UnknownField(PlanningError):
    def __init__(self, type_name: str, field_name: str) -> None:
        super().__init__(f"unknown field {type_name}.{field_name}")


class NoResolver(PlanningError):
    """No subgraph resolves the field at all (route choice)."""

    def __init__(self, type_name: str, field_name: str) -> None:
        super().__init__(f"no subgraph resolves {type_name}.{field_name}")


class NotAnEntity(PlanningError):
    """The route needs an entity call into a subgraph where the type has no resolvable key."""

    def __init__(self, type_name: str, graph: str) -> None:
        super().__init__(f"{type_name} is not an entity in {graph}")


class NoKeyPath(PlanningError):
    """No key of the target subgraph can be selected or gathered from where the walk is."""

    def __init__(self, type_name: str, from_graph: str, to_graph: str) -> None:
        super().__init__(f"{from_graph} cannot provide a key of {type_name} for {to_graph}")


class AbstractFieldUnanswerable(PlanningError):
    """The subgraph chosen for an abstract field cannot answer it for any type it returns."""

    def __init__(self, graph: str, type_name: str, field_name: str) -> None:
        super().__init__(
            f"{graph} cannot resolve {type_name}.{field_name}: none of the types it may "
            "return there has it"
        )


class ConcreteTypeUnknown(PlanningError):
    """An @interfaceObject answer needs its concrete type and no subgraph can tell it."""

    def __init__(self, graph: str, interface: str) -> None:
        super().__init__(
            f"{graph} knows {interface} only as an @interfaceObject, and no subgraph can "
            "tell the concrete type of its objects"
        )


class ContextNotSet(PlanningError):
    def __init__(self, type_name: str, field_name: str, argument: str, context: str) -> None:
        super().__init__(
            f"{type_name}.{field_name} takes {argument} from the context {context}, which no "
            "ancestor in this operation sets"
        )


class ContextSelectionInvalid(PlanningError):
    def __init__(self, selection: str) -> None:
        super().__init__(f"the context selection {selection!r} must select one field")
