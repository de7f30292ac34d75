"""Queries compiled for speed: a flat query as term-id sets, any other as nested closures,
and a guess of how often a term is found (before any article is seen)."""

from __future__ import annotations

from collections.abc import Callable

from peacewatch.rules.compiled import (
    AllOf,
    AnyOf,
    Context,
    CTerm,
    Node,
    NoneOf,
    TermRef,
    evaluate,
)

Flat = tuple[frozenset[int], tuple[frozenset[int], ...], frozenset[int]]
"""A query as term-id sets: (every one present, of each set at least one, none present)."""


def flat(node: Node, shared: dict[frozenset[int], frozenset[int]] | None = None) -> Flat | None:
    """The term-id sets of a query that is an AND of terms, ORs of terms and NOTs of terms
    (a single term, an OR of terms): it holds when ``all <= present``, each ``any`` meets
    ``present`` and ``none`` does not. None for other queries (fields, NEAR, deeper nesting).
    Sets equal to one in ``shared`` are that one (else added to it)."""
    need: set[int] = set()
    anys: list[frozenset[int]] = []
    nones: set[int] = set()
    items: list[Node] = list(node.items) if isinstance(node, AllOf) else [node]
    while items:
        item = items.pop()
        if isinstance(item, TermRef):
            need.add(item.tid)
        elif isinstance(item, AllOf):
            items.extend(item.items)
        elif isinstance(item, AnyOf) and all(isinstance(i, TermRef) for i in item.items):
            anys.append(frozenset(i.tid for i in item.items if isinstance(i, TermRef)))
        elif isinstance(item, NoneOf) and isinstance(item.item, TermRef):
            nones.add(item.item.tid)
        elif (
            isinstance(item, NoneOf)
            and isinstance(item.item, AnyOf)
            and all(isinstance(i, TermRef) for i in item.item.items)
        ):
            nones.update(i.tid for i in item.item.items if isinstance(i, TermRef))
        else:
            return None
    if shared is None:
        return frozenset(need), tuple(anys), frozenset(nones)
    one = shared.setdefault  # equal sets of many rules are kept once
    sets = tuple(one(group, group) for group in map(frozenset, (need, *anys, nones)))
    return sets[0], sets[1:-1], sets[-1]


def guess_cost(term: CTerm, strings: list[str]) -> float:
    """How often a term is found, guessed from its text before any article is seen: phrases
    and long words are rarer than short words; prefixes are found more than whole words, and
    anything more in the body than in the title."""
    total = 0.0
    for patterns, weight in ((term.words, 1.0), (term.prefixes, 3.0)):
        for index in patterns:
            text = strings[index]
            total += weight * (0.2 if " " in text else 1.0 + 8.0 / max(1, len(text)))
    return total * (0.3 if term.title_only else 1.0)


Check = Callable[[Context], bool]


def build(node: Node) -> Check:
    """``evaluate`` for one query, built once as nested closures: no type dispatch per article."""
    if isinstance(node, TermRef):
        tid = node.tid

        def term(ctx: Context) -> bool:
            flags = ctx.flags
            if flags is not None:
                return flags[tid] == 1
            found = ctx.found
            return tid in found if found is not None else ctx.present(tid)

        return term
    if isinstance(node, AllOf):
        parts = tuple(build(item) for item in node.items)

        def all_of(ctx: Context) -> bool:
            for part in parts:  # noqa: SIM110 - a plain loop is faster than all() of a generator
                if not part(ctx):
                    return False
            return True

        return all_of
    if isinstance(node, AnyOf):
        options = tuple(build(item) for item in node.items)

        def any_of(ctx: Context) -> bool:
            for option in options:  # noqa: SIM110 - a plain loop is faster than any()
                if option(ctx):
                    return True
            return False

        return any_of
    if isinstance(node, NoneOf):
        inner = build(node.item)

        def none_of(ctx: Context) -> bool:
            return not inner(ctx)

        return none_of
    leaf = node

    def other(ctx: Context) -> bool:  # fields and NEAR: rare, evaluated as they are
        return evaluate(leaf, ctx)

    return other
