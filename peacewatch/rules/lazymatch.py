"""Matches whose terms and hits are worked out when first read.

``RuleEngine.match`` decides which rules hold from the terms an article holds; where each term
was found (``Match.hits``) and which terms fired (``Match.matched``) cost far more than that
decision. A ``LazyMatch`` carries the rule and the article's shared scan and works both out on
first access, so callers that only ask which rules matched never pay for them. It is a
``Match``: it compares, hashes and pickles as the ``Match`` of the same values (a pickled or
copied one is a plain ``Match``), and one built with ``Match``'s constructor is a plain value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from peacewatch.models import Article, Hit, Match
from peacewatch.rules import compiled as c
from peacewatch.rules.textnorm import NormText

# Match's own slots: the properties below shadow the two lazy ones on the subclass.
_HITS: Any = Match.__dict__["hits"]
_MATCHED: Any = Match.__dict__["matched"]
_SET = object.__setattr__
_NEW = object.__new__
# the slots' own setters: one C call each, without the name look-up of ``object.__setattr__``
_SET_TEAM: Any = Match.__dict__["team_id"].__set__
_SET_RULE: Any = Match.__dict__["rule_id"].__set__
_SET_ARTICLE: Any = Match.__dict__["article_id"].__set__
_SET_ENTITIES: Any = Match.__dict__["entities"].__set__

HitsAt = Callable[[str, list[c.Span], Article, c.Scan, NormText, NormText], list[Hit]]
_HitKey = tuple[int, str, tuple[c.Span, ...] | None]


class RuleTerms(Protocol):
    """What of a compiled rule reporting needs."""

    @property
    def team_id(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def node(self) -> c.Node: ...
    @property
    def labels(self) -> tuple[c.TermRef, ...]: ...
    @property
    def near(self) -> bool: ...


class ArticleHits:
    """Per-article data every match of one article shares: the scan and its context, and the
    hits already placed in the original text (per term, shared by the rules that name it)."""

    __slots__ = ("_cache", "_hits_at", "article", "body", "ctx", "title")

    def __init__(
        self, article: Article, ctx: c.Context, title: NormText, body: NormText, hits_at: HitsAt
    ) -> None:
        self.article, self.ctx, self.title, self.body = article, ctx, title, body
        self._hits_at = hits_at
        self._cache: dict[_HitKey, tuple[Hit, ...]] = {}

    def report(self, rule: RuleTerms) -> tuple[tuple[str, ...], tuple[Hit, ...]]:
        """The terms of a rule that holds that fired, in query order, and their hits."""
        ctx = self.ctx
        fired: dict[c.TermRef, list[c.Span]] | None = None
        if rule.near:  # what fired is worked out from the tree: NEAR keeps its near spans
            fired = {}
            c.fired(rule.node, ctx, fired)
        hits: list[Hit] = []
        labels: list[str] = []
        reported: set[int] = set()
        for ref in rule.labels:
            if fired is None:
                spans = ctx.spans(ref.tid) if ctx.present(ref.tid) else None
            else:
                spans = fired.get(ref)
            # two terms that name one entity ("ceasefire OR truce") found it once: say it once
            if not spans or ref.label in labels or ref.tid in reported:
                continue
            reported.add(ref.tid)
            labels.append(ref.label)
            # NEAR keeps only the spans near the other term; other terms keep all their spans
            key = (ref.tid, ref.label, None if fired is None else tuple(spans))
            found = self._cache.get(key)
            if found is None:
                scan, article = ctx.scan, self.article
                found = tuple(self._hits_at(ref.label, spans, article, scan, self.title, self.body))
                self._cache[key] = found
            hits.extend(found)
        return tuple(labels), tuple(hits)


class LazyMatch(Match):
    """A ``Match`` whose ``matched`` and ``hits`` are computed on first access."""

    __slots__ = ("_source",)
    _source: tuple[RuleTerms, ArticleHits] | None

    @classmethod
    def of(
        cls,
        team_id: str,
        rule_id: str,
        entities: tuple[str, ...],
        rule: RuleTerms,
        shared: ArticleHits,
    ) -> LazyMatch:
        self = cls.__new__(cls)
        _SET(self, "team_id", team_id)
        _SET(self, "rule_id", rule_id)
        _SET(self, "article_id", shared.article.id)
        _SET(self, "entities", entities)
        _SET(self, "_source", (rule, shared))
        return self

    def _resolve(self) -> None:
        source = self._source
        assert source is not None
        labels, hits = source[1].report(source[0])
        _MATCHED.__set__(self, labels)
        _HITS.__set__(self, hits)
        _SET(self, "_source", None)  # the article's scan is no longer needed

    @property
    def matched(self) -> tuple[str, ...]:
        """The query terms that fired, in query order."""
        try:
            found: tuple[str, ...] = _MATCHED.__get__(self, Match)
        except AttributeError:
            self._resolve()
            found = _MATCHED.__get__(self, Match)
        return found

    @matched.setter
    def matched(self, value: tuple[str, ...]) -> None:  # Match's constructor sets it
        _MATCHED.__set__(self, value)

    @property
    def hits(self) -> tuple[Hit, ...]:
        try:
            found: tuple[Hit, ...] = _HITS.__get__(self, Match)
        except AttributeError:
            self._resolve()
            found = _HITS.__get__(self, Match)
        return found

    @hits.setter
    def hits(self, value: tuple[Hit, ...]) -> None:
        _HITS.__set__(self, value)

    def _values(self) -> tuple[object, ...]:
        return (
            self.team_id,
            self.rule_id,
            self.article_id,
            self.matched,
            self.hits,
            self.entities,
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Match):
            return self._values() == (
                other.team_id,
                other.rule_id,
                other.article_id,
                other.matched,
                other.hits,
                other.entities,
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        self._values()  # resolved, so the dataclass repr shows every field
        return "Match" + Match.__repr__(self).removeprefix(type(self).__qualname__)

    def __reduce__(self) -> tuple[type[Match], tuple[object, ...]]:
        return Match, self._values()


_SET_SOURCE: Any = LazyMatch.__dict__["_source"].__set__


def lazy_matches(
    rules: Iterable[RuleTerms], named: Callable[[str], tuple[str, ...]], shared: ArticleHits
) -> list[Match]:
    """A ``LazyMatch`` of each rule (that holds) over the article of ``shared``; ``named``
    gives the entities a team's matches carry (asked once per team)."""
    article_id = shared.article.id
    per_team: dict[str, tuple[str, ...]] = {}
    out: list[Match] = []
    append = out.append
    for rule in rules:  # LazyMatch.of, inlined: an article may match hundreds of rules
        team_id = rule.team_id
        entities = per_team.get(team_id)
        if entities is None:
            entities = per_team[team_id] = named(team_id)
        match = _NEW(LazyMatch)
        _SET_TEAM(match, team_id)
        _SET_RULE(match, rule.rule_id)
        _SET_ARTICLE(match, article_id)
        _SET_ENTITIES(match, entities)
        _SET_SOURCE(match, (rule, shared))
        append(match)
    return out
