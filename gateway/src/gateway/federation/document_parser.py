"""A request's document parsed into the syntax tree graphql-core's `parse` makes, node for
node and location for location, in a third of the time.

graphql-core reads the text a character at a time in Python, makes a linked `Token` per
token and a `Location` holding two of them per node; the prepared-operation cache then lets
go of the tokens again (prepared_cache.settle). Here one regular expression cuts the text
into tokens, the tree is made from them with nodes filled in directly (without the
dataclass `__init__`'s keyword arguments and defaults, but through `object.__setattr__`
as it does: that keeps a node's attributes inline, where filling its `__dict__` would make
a dict per node, one more object for each garbage collection to walk), and each location
points at one shared released token from the start: what settle leaves, without the
tokens. The nodes are counted on the way (settle's count).

Only the common grammar of executable documents is read here: names, punctuation,
numbers, strings without escapes. Anything else (a comment, an escape, a block string, a
description, type system definitions, a syntax error, a document over the token limit or
nested deeper than graphql-core allows) is handed to graphql-core as it is, so every error
and every rare form stays graphql-core's own."""

from __future__ import annotations

import re
from typing import Any, NoReturn

from graphql import parse
from graphql.language import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListTypeNode,
    ListValueNode,
    Location,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    Source,
    StringValueNode,
    TypeNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
)
from graphql.language.parser import MAX_NESTING_DEPTH

from gateway.federation.prepared_cache import RELEASED, settle

__all__ = ["parse_request"]

# the ignored characters before a token (no comments: those go to graphql-core), then the
# token: a name, a punctuator, a number not run on into a name or another number, or a
# string without escapes, control characters or surrogates (and not a block string)
_TOKEN = re.compile(
    r"([ \t\n\r,\ufeff]*)(?:"
    r"([_A-Za-z][_0-9A-Za-z]*)"
    r"|(\.\.\.|[!$&():=@\[\]{|}])"
    r"|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![._A-Za-z0-9])"
    r'|(?!""")"([^"\\\x00-\x1f\ud800-\udfff]*)"'
    r")"
)
_IGNORED = " \t\n\r,\ufeff"
_END = ""  # the kind after the last token
_OPERATIONS = {
    "query": OperationType.QUERY,
    "mutation": OperationType.MUTATION,
    "subscription": OperationType.SUBSCRIPTION,
}


_new = object.__new__
_set = object.__setattr__


class _Unsupported(Exception):
    """Not read here: graphql-core parses it (and raises its own error, if any)."""


def parse_request(text: str, max_tokens: int | None = None) -> tuple[DocumentNode, int]:
    """graphql-core's `parse(text, max_tokens=max_tokens)`, settled, and its node count.
    Raises what graphql-core's parse raises."""
    try:
        if "#" in text or "\\" in text:  # a comment or an escape: not worth cutting first
            _unsupported()
        return _Parser(text, max_tokens).document()
    except (_Unsupported, RecursionError):
        document = parse(text, max_tokens=max_tokens)
        return document, settle(document)


def _unsupported() -> NoReturn:
    raise _Unsupported


class _Parser:
    """Recursive descent over the token list, as graphql-core's Parser goes (same nodes,
    same fields, same locations: a node spans its first token to the last it consumed)."""

    def __init__(self, text: str, max_tokens: int | None) -> None:
        kinds: list[str] = []  # a punctuator's own text, else "n", "i", "f" or "s"
        values: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        kind, value, start, end = kinds.append, values.append, starts.append, ends.append
        # findall passes over a character no token starts with: the offsets added up then
        # fall short of the text, and the check after the loop finds a token's character
        # left over (every token has one) and hands the text over
        position = 0
        for ignored, name, punctuator, number, string in _TOKEN.findall(text):
            position += len(ignored)
            start(position)
            if name:
                kind("n")
                value(name)
                position += len(name)
            elif punctuator:
                kind(punctuator)
                value(punctuator)
                position += len(punctuator)
            elif number:
                kind("i" if number.isdigit() or number[1:].isdigit() else "f")
                value(number)
                position += len(number)
            else:  # the quotes are the token's, not the value's
                kind("s")
                value(string)
                position += len(string) + 2
            end(position)
        if text[position:].strip(_IGNORED):  # a comment, or a character no token starts
            _unsupported()
        if max_tokens is not None and len(kinds) > max_tokens:
            _unsupported()  # graphql-core's error, at the token it stops at
        self.token_count = len(kinds)
        kinds.append(_END)
        values.append("")
        starts.append(len(text))
        ends.append(len(text))
        self.kinds, self.values, self.starts, self.ends = kinds, values, starts, ends
        self.at = 0  # the current token
        self.source = Source(text)
        self.nodes = 0
        self.depth = 0  # graphql-core's nesting depth

    # -- making nodes --------------------------------------------------------------------
    def _node(self, cls: type[Any], first: int, **fields: Any) -> Any:
        """A node of `cls` spanning token `first` to the last one consumed."""
        node = _new(cls)
        for name, value in fields.items():
            _set(node, name, value)
        _set(node, "loc", self._location(first))
        self.nodes += 1
        return node

    def _expect(self, kind: str) -> None:
        if self.kinds[self.at] != kind:
            _unsupported()
        self.at += 1

    def _location(self, first: int) -> Location:
        location = _new(Location)
        location.start = self.starts[first]
        location.end = self.ends[self.at - 1]
        location.start_token = location.end_token = RELEASED
        location.source = self.source
        return location

    # names and fields are most of a document: made without _node's keyword arguments
    def _name(self) -> NameNode:
        at = self.at
        if self.kinds[at] != "n":
            _unsupported()
        self.at = at + 1
        node = _new(NameNode)
        _set(node, "value", self.values[at])
        _set(node, "loc", self._location(at))
        self.nodes += 1
        return node

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING_DEPTH:
            _unsupported()

    # -- definitions ---------------------------------------------------------------------
    def document(self) -> tuple[DocumentNode, int]:
        definitions = []
        if self.kinds[0] == _END:
            _unsupported()  # graphql-core's error for an empty document
        while self.kinds[self.at] != _END:
            definitions.append(self._definition())
        document: DocumentNode = self._node(DocumentNode, 0, definitions=tuple(definitions))
        # the whole text, as graphql-core's document spans its start and end of file
        assert document.loc is not None
        document.loc.start, document.loc.end = 0, len(self.source.body)
        object.__setattr__(document, "token_count", self.token_count)
        return document, self.nodes

    def _definition(self) -> OperationDefinitionNode | FragmentDefinitionNode:
        kind, value = self.kinds[self.at], self.values[self.at]
        if kind == "{":
            first = self.at
            selection_set = self._selection_set()
            node: OperationDefinitionNode = self._node(
                OperationDefinitionNode,
                first,
                operation=OperationType.QUERY,
                description=None,
                name=None,
                variable_definitions=None,
                directives=None,
                selection_set=selection_set,
            )
            return node
        if kind != "n":
            _unsupported()  # a description, or an error
        if value in _OPERATIONS:
            return self._operation()
        if value == "fragment":
            return self._fragment_definition()
        _unsupported()  # type system definitions and extensions, or an error

    def _operation(self) -> OperationDefinitionNode:
        first = self.at
        operation = _OPERATIONS[self.values[first]]
        self.at += 1
        name = self._name() if self.kinds[self.at] == "n" else None
        variable_definitions = None
        if self.kinds[self.at] == "(":
            self.at += 1
            found = [self._variable_definition()]
            while self.kinds[self.at] != ")":
                found.append(self._variable_definition())
            self.at += 1
            variable_definitions = tuple(found)
        directives = self._directives(False)
        selection_set = self._selection_set()
        node: OperationDefinitionNode = self._node(
            OperationDefinitionNode,
            first,
            operation=operation,
            description=None,
            name=name,
            variable_definitions=variable_definitions,
            directives=directives,
            selection_set=selection_set,
        )
        return node

    def _variable_definition(self) -> VariableDefinitionNode:
        first = self.at
        variable = self._variable()
        self._expect(":")
        type_ = self._type()
        default_value = None
        if self.kinds[self.at] == "=":
            self.at += 1
            default_value = self._value(True)
        directives = self._directives(True)
        node: VariableDefinitionNode = self._node(
            VariableDefinitionNode,
            first,
            description=None,
            variable=variable,
            type=type_,
            default_value=default_value,
            directives=directives,
        )
        return node

    def _variable(self) -> VariableNode:
        first = self.at
        self._expect("$")
        name = self._name()
        node: VariableNode = self._node(VariableNode, first, name=name)
        return node

    def _type(self) -> TypeNode:
        first = self.at
        type_: TypeNode
        if self.kinds[first] == "[":
            self.at += 1
            self._enter()
            inner = self._type()
            self.depth -= 1
            self._expect("]")
            type_ = self._node(ListTypeNode, first, type=inner)
        else:
            type_ = self._named_type()
        if self.kinds[self.at] == "!":
            self.at += 1
            type_ = self._node(NonNullTypeNode, first, type=type_)
        return type_

    def _named_type(self) -> NamedTypeNode:
        first = self.at
        name = self._name()
        node: NamedTypeNode = self._node(NamedTypeNode, first, name=name)
        return node

    def _fragment_definition(self) -> FragmentDefinitionNode:
        first = self.at
        self.at += 1  # `fragment`
        if self.values[self.at] == "on":
            _unsupported()
        name = self._name()
        if self.kinds[self.at] != "n" or self.values[self.at] != "on":
            _unsupported()
        self.at += 1
        type_condition = self._named_type()
        directives = self._directives(False)
        selection_set = self._selection_set()
        node: FragmentDefinitionNode = self._node(
            FragmentDefinitionNode,
            first,
            description=None,
            name=name,
            variable_definitions=(),
            type_condition=type_condition,
            directives=directives,
            selection_set=selection_set,
        )
        return node

    # -- selections ----------------------------------------------------------------------
    def _selection_set(self) -> SelectionSetNode:
        self._enter()
        first = self.at
        self._expect("{")
        selections: list[SelectionNode] = []
        kinds = self.kinds
        while kinds[self.at] != "}":
            if kinds[self.at] == "...":
                selections.append(self._fragment())
            else:
                selections.append(self._field())
        self.at += 1
        node: SelectionSetNode = self._node(SelectionSetNode, first, selections=tuple(selections))
        self.depth -= 1
        return node

    def _field(self) -> FieldNode:
        first = self.at
        name = self._name()
        alias = None
        if self.kinds[self.at] == ":":
            self.at += 1
            alias, name = name, self._name()
        arguments = self._arguments(False) if self.kinds[self.at] == "(" else None
        directives = self._directives(False) if self.kinds[self.at] == "@" else None
        selection_set = self._selection_set() if self.kinds[self.at] == "{" else None
        node = _new(FieldNode)
        _set(node, "directives", directives)
        _set(node, "name", name)
        _set(node, "alias", alias)
        _set(node, "arguments", arguments)
        _set(node, "selection_set", selection_set)
        _set(node, "loc", self._location(first))
        self.nodes += 1
        return node

    def _fragment(self) -> FragmentSpreadNode | InlineFragmentNode:
        first = self.at
        self.at += 1  # `...`
        kind, value = self.kinds[self.at], self.values[self.at]
        if kind == "n" and value != "on":
            name = self._name()
            spread: FragmentSpreadNode = self._node(
                FragmentSpreadNode,
                first,
                name=name,
                directives=self._directives(False),
                arguments=None,
            )
            return spread
        type_condition = None
        if kind == "n":  # `on`
            self.at += 1
            type_condition = self._named_type()
        directives = self._directives(False)
        selection_set = self._selection_set()
        inline: InlineFragmentNode = self._node(
            InlineFragmentNode,
            first,
            type_condition=type_condition,
            directives=directives,
            selection_set=selection_set,
        )
        return inline

    def _arguments(self, const: bool) -> tuple[ArgumentNode, ...] | None:
        if self.kinds[self.at] != "(":
            return None
        self.at += 1
        found = [self._argument(const)]
        while self.kinds[self.at] != ")":
            found.append(self._argument(const))
        self.at += 1
        return tuple(found)

    def _argument(self, const: bool) -> ArgumentNode:
        first = self.at
        name = self._name()
        self._expect(":")
        value = self._value(const)
        node: ArgumentNode = self._node(ArgumentNode, first, name=name, value=value)
        return node

    def _directives(self, const: bool) -> tuple[DirectiveNode, ...] | None:
        found = []
        while self.kinds[self.at] == "@":
            first = self.at
            self.at += 1
            name = self._name()
            arguments = self._arguments(const)
            found.append(self._node(DirectiveNode, first, name=name, arguments=arguments))
        return tuple(found) if found else None

    # -- values --------------------------------------------------------------------------
    def _value(self, const: bool) -> ValueNode:
        first = self.at
        kind, value = self.kinds[first], self.values[first]
        node: ValueNode
        if kind == "$":
            if const:
                _unsupported()  # graphql-core's error
            return self._variable()
        if kind == "[":
            self._enter()
            self.at += 1
            values = []
            while self.kinds[self.at] != "]":
                values.append(self._value(const))
            self.at += 1
            node = self._node(ListValueNode, first, values=tuple(values))
            self.depth -= 1
            return node
        if kind == "{":
            self._enter()
            self.at += 1
            fields = []
            while self.kinds[self.at] != "}":
                field_first = self.at
                name = self._name()
                self._expect(":")
                field_value = self._value(const)
                fields.append(
                    self._node(ObjectFieldNode, field_first, name=name, value=field_value)
                )
            self.at += 1
            node = self._node(ObjectValueNode, first, fields=tuple(fields))
            self.depth -= 1
            return node
        self.at += 1
        if kind == "i":
            node = self._node(IntValueNode, first, value=value)
        elif kind == "f":
            node = self._node(FloatValueNode, first, value=value)
        elif kind == "s":
            node = self._node(StringValueNode, first, value=value, block=False)
        elif kind == "n":
            if value == "true":
                node = self._node(BooleanValueNode, first, value=True)
            elif value == "false":
                node = self._node(BooleanValueNode, first, value=False)
            elif value == "null":
                node = self._node(NullValueNode, first)
            else:
                node = self._node(EnumValueNode, first, value=value)
        else:
            _unsupported()
        return node
