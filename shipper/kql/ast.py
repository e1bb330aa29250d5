"""KQL's syntax tree: what parser.py builds and dsl.py and evaluate.py read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Value:
    """A value as written: `quoted` values are phrases; unquoted ones may hold `*` wildcards (`wildcard`)."""

    text: str
    quoted: bool = False
    wildcard: bool = False


@dataclass(frozen=True)
class Is:
    """`field: value` (field None: any field, Kibana's free text); value None with field: `field:*` exists."""

    field: str | None
    value: Value | None


@dataclass(frozen=True)
class Range:
    field: str
    operator: str  # < <= > >=
    value: Value


@dataclass(frozen=True)
class Nested:
    path: str
    query: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class MatchAll:
    pass


Node = Is | Range | Nested | And | Or | Not | MatchAll
