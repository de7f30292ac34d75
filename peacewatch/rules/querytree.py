"""The tree a rule query parses into: Term, And, Or, Not and Near nodes, the terms of a tree in
query order, and a tree's canonical text.

The language these trees come from is described in ``peacewatch.rules.query``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

TermKind = Literal["word", "phrase", "prefix"]


@dataclass(frozen=True, slots=True)
class Term:
    """One term: its text as written (NFKC, no quotes or '*'), its kind and its field."""

    text: str
    kind: TermKind
    field: str | None
    column: int


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class Near:
    """Hits of ``left`` and ``right`` at most ``distance`` words apart in one field.

    Each side is a Term or an Or of Terms (a NEAR group); see ``peacewatch.rules.compiled`` for
    how the distance is counted."""

    left: Node
    right: Node
    distance: int


Node: TypeAlias = Term | And | Or | Not | Near


def terms(node: Node) -> list[Term]:
    """Every Term of the tree, in query order."""
    out: list[Term] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Term):
            out.append(current)
        elif isinstance(current, Near):
            stack.extend((current.right, current.left))
        elif isinstance(current, Not):
            stack.append(current.item)
        else:
            stack.extend(reversed(current.items))
    return out


def _term_text(term: Term) -> str:
    if term.kind == "phrase":
        body = f'"{term.text}"'
    elif term.kind == "prefix":
        body = term.text + "*"
    else:
        body = term.text
    return f"{term.field}:{body}" if term.field else body


def _render(node: Node, top: bool) -> str:
    if isinstance(node, Term):
        return _term_text(node)
    if isinstance(node, Near):
        left, right = _render(node.left, False), _render(node.right, False)
        return f"{left} NEAR/{node.distance} {right}"
    if isinstance(node, Not):
        if isinstance(node.item, Term):
            return "-" + _term_text(node.item)
        return f"-({_render(node.item, True)})"
    if isinstance(node, And):
        return " ".join(_render(item, False) for item in node.items)
    text = " OR ".join(_render(item, False) for item in node.items)
    return text if top else f"({text})"


def to_text(node: Node) -> str:
    """Canonical text of a flattened tree: ``parse(to_text(t))`` equals ``t`` but for columns.

    AND is written as adjacency (``a b``), negation as ``-term`` or ``-(...)``, NEAR always with
    its distance, and parentheses only where an OR sits inside an AND or a NOT. The text can be
    longer than the query it came from (``title:(a OR b)`` becomes ``(title:a OR title:b)``;
    NFKC can lengthen a word), so near MAX_QUERY_LENGTH it may no longer be accepted.
    """
    return _render(node, True)
