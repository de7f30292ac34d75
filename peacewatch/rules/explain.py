"""Why a query matches an article or not, term by term (`peacewatch rules explain`).

Each line is one part of the query, marked ✓ when that part holds for the article and ✗ when
not. A term lists where it was found: the text as the article writes it, the field and the
number of the word in that field (``'Donbas' title word 3``). A NEAR says how far apart the
closest pair of hits in one field is, and whether that is within its distance.
"""

from __future__ import annotations

from peacewatch.errors import InputError
from peacewatch.models import Article
from peacewatch.rules import compiled as c
from peacewatch.rules import query as q
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.rules.textnorm import NormText

_TEAM = "explain"
_SHOWN = 5
"""Hits listed per term; the rest are counted."""


class _Explainer:
    def __init__(
        self, engine: RuleEngine, ctx: c.Context, article: Article, title: NormText, body: NormText
    ) -> None:
        self.engine = engine
        self.ctx = ctx
        self.article = article
        self.title = title
        self.body = body

    def where(self, label: str, span: c.Span) -> str:
        """``'Donbas' title word 3``: a hit as written, its field and word number."""
        scan = self.ctx.scan
        field, number = scan.place(span[0])
        hits = self.engine.hits_at(label, [span], self.article, scan, self.title, self.body)
        text = hits[0].text if hits else scan.text[span[0] : span[1]]
        return f"{text!r} {field} word {number}"

    def term(self, term: q.Term, node: c.Node, pad: str) -> str:
        label = q.to_text(term)
        if isinstance(node, c.Field):
            holds = c.evaluate(node, self.ctx)
            return f"{pad}{_mark(holds)} {label} {'holds' if holds else 'does not hold'}"
        assert isinstance(node, c.TermRef)
        spans = self.ctx.spans(node.tid)
        if not spans:
            return f"{pad}✗ {label} not found"
        shown = "; ".join(self.where(node.label, span) for span in spans[:_SHOWN])
        more = f"; and {len(spans) - _SHOWN} more" if len(spans) > _SHOWN else ""
        return f"{pad}✓ {label} found: {shown}{more}"

    def near(self, node: q.Near, compiled: c.Near, depth: int) -> list[str]:
        pad = "  " * depth
        holds = c.near_holds(compiled, self.ctx)
        closest = c.nearest(compiled, self.ctx)
        if closest is None:
            detail = "no hit of one side in the same field as a hit of the other"
        else:
            apart, left, right = closest
            field = "title" if left[0] < self.ctx.scan.body_start else "body"
            verdict = "within" if apart <= compiled.distance else "more than"
            detail = (
                f"closest pair {apart} word{'s' * (apart != 1)} apart in the {field}"
                f" ({verdict} {compiled.distance}):"
                f" {self.where('', left)} and {self.where('', right)}"
            )
        lines = [f"{pad}{_mark(holds)} NEAR/{node.distance}: {detail}"]
        for side, refs in ((node.left, compiled.left), (node.right, compiled.right)):
            terms = q.terms(side)
            if isinstance(side, q.Or):
                present = any(self.ctx.present(ref.tid) for ref in refs)
                lines.append(f"{pad}  {_mark(present)} OR (any of)")
                lines.extend(
                    self.term(t, r, pad + "    ") for t, r in zip(terms, refs, strict=True)
                )
            else:
                lines.append(self.term(terms[0], refs[0], pad + "  "))
        return lines

    def describe(self, node: q.Node, compiled: c.Node, depth: int = 0) -> list[str]:
        pad = "  " * depth
        if isinstance(node, q.Term):
            return [self.term(node, compiled, pad)]
        if isinstance(node, q.Near):
            assert isinstance(compiled, c.Near)
            return self.near(node, compiled, depth)
        holds = c.evaluate(compiled, self.ctx)
        if isinstance(node, q.Not):
            assert isinstance(compiled, c.NoneOf)
            head = f"{pad}{_mark(holds)} NOT (must be absent)"
            return [head, *self.describe(node.item, compiled.item, depth + 1)]
        assert isinstance(compiled, c.AllOf | c.AnyOf)
        name = "AND (all of)" if isinstance(node, q.And) else "OR (any of)"
        lines = [f"{pad}{_mark(holds)} {name}"]
        for item, part in zip(node.items, compiled.items, strict=True):
            lines.extend(self.describe(item, part, depth + 1))
        return lines


def _mark(holds: bool) -> str:
    return "✓" if holds else "✗"


def explain(query: str, article: Article) -> str:
    """A readable account of each term's hits and the overall verdict.

    Raises QuerySyntaxError or InputError for a query that does not compile."""
    node = q.parse(query)
    engine = RuleEngine.compile([TeamRuleSet(_TEAM, [RuleSpec(id="query", query=query)])])
    if engine.errors:
        raise InputError(engine.errors[0].message)
    matches = engine.match(article)
    parts = engine.explain_parts(_TEAM, "query", article)
    assert parts is not None  # compiled without errors
    compiled, ctx, title, body = parts
    verdict = "MATCHES" if matches else "does not match"
    head = f"{verdict}: {query}\narticle: {article.id} {article.title[:100]!r}"
    lines = _Explainer(engine, ctx, article, title, body).describe(node, compiled)
    return "\n".join([head, *lines])
