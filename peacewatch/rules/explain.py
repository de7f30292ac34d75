"""Why a query matches an article or not, term by term (`peacewatch rules explain`)."""

from __future__ import annotations

from peacewatch.models import Article
from peacewatch.rules import query as q
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec

_TEAM = "explain"


def _describe(node: q.Node, found: dict[str, list[str]], depth: int = 0) -> list[str]:
    pad = "  " * depth
    if isinstance(node, q.Term):
        label = q.to_text(node)
        hits = found.get(label)
        mark = "✓" if hits else "✗"
        detail = f" found: {', '.join(sorted(set(hits))[:5])}" if hits else " not found"
        return [f"{pad}{mark} {label}{detail}"]
    if isinstance(node, q.Near):
        return [f"{pad}NEAR/{node.distance}", *_describe(node.left, found, depth + 1),
                *_describe(node.right, found, depth + 1)]  # fmt: skip
    if isinstance(node, q.Not):
        return [f"{pad}NOT (must be absent)", *_describe(node.item, found, depth + 1)]
    name = "AND (all of)" if isinstance(node, q.And) else "OR (any of)"
    lines = [f"{pad}{name}"]
    for item in node.items:
        lines.extend(_describe(item, found, depth + 1))
    return lines


def explain(query: str, article: Article) -> str:
    """A readable account of each term's hits and the overall verdict.

    Raises QuerySyntaxError or InputError for a query that does not compile."""
    node = q.parse(query)
    engine = RuleEngine.compile([TeamRuleSet(_TEAM, [RuleSpec(id="query", query=query)])])
    if engine.errors:
        from peacewatch.errors import InputError

        raise InputError(engine.errors[0].message)
    matches = engine.match(article)
    found: dict[str, list[str]] = {}
    # Each term alone, so that terms under NOT or in a failed branch still show their hits.
    for term in q.terms(node):
        label = q.to_text(term)
        single = RuleEngine.compile(
            [
                TeamRuleSet(
                    _TEAM,
                    [
                        RuleSpec(
                            id="t", query=q.to_text(q.Term(term.text, term.kind, term.field, 1))
                        )
                    ],
                )
            ]
        )
        for m in single.match(article):
            found[label] = [h.text for h in m.hits] or ["(field condition holds)"]
    verdict = "MATCHES" if matches else "does not match"
    head = f"{verdict}: {query}\narticle: {article.id} {article.title[:100]!r}"
    return "\n".join([head, *_describe(node, found)])
