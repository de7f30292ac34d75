"""Matches whose values are worked out when first read.

``RuleEngine.match`` decides which rules hold from the terms an article holds; where each term
was found (``Match.hits``) and which terms fired (``Match.matched``) cost far more than that
decision. A ``LazyMatch`` carries the number of its rule and the article's shared scan and
works both out on first access, so callers that only ask which rules matched never pay for
them; its team, rule, article and entities are read from the rule and the article when first
asked for, so that making a match touches nothing but the match (an article may match hundreds
of rules). It is a ``Match``: it compares, hashes and pickles as the ``Match`` of the same
values (a pickled or copied one is a plain ``Match``), and one built with ``Match``'s
constructor is a plain value.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, repeat
from typing import Any, Protocol

from peacewatch.models import Article, Hit, Match
from peacewatch.rules import compiled as c
from peacewatch.rules.textnorm import NormText

# Match's own slots: the properties below shadow them on the subclass.
_HITS: Any = Match.__dict__["hits"]
_MATCHED: Any = Match.__dict__["matched"]
_TEAM: Any = Match.__dict__["team_id"]
_RULE: Any = Match.__dict__["rule_id"]
_ARTICLE: Any = Match.__dict__["article_id"]
_ENTITIES: Any = Match.__dict__["entities"]
_SET = object.__setattr__
_NEW = object.__new__

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
    """Per-article data every match of one article shares: the rules, the scan and its
    context, the entities each team's matches carry, and the hits already placed in the
    original text (per term, shared by the rules that name it)."""

    __slots__ = (
        "_cache",
        "_hits_at",
        "_named",
        "_teams",
        "article",
        "body",
        "ctx",
        "rules",
        "title",
    )

    def __init__(
        self,
        article: Article,
        ctx: c.Context,
        title: NormText,
        body: NormText,
        hits_at: HitsAt,
        rules: Sequence[RuleTerms] = (),
        named: Callable[[str], tuple[str, ...]] | None = None,
    ) -> None:
        """``rules``: the rules that matches name by number; ``named``: the entities a team's
        matches carry (asked once per team)."""
        self.article, self.ctx, self.title, self.body = article, ctx, title, body
        self.rules = rules
        self._hits_at = hits_at
        self._named = named
        self._teams: dict[str, tuple[str, ...]] = {}
        self._cache: dict[_HitKey, tuple[Hit, ...]] = {}

    def entities(self, team_id: str) -> tuple[str, ...]:
        """The entities the matches of ``team_id`` carry."""
        found = self._teams.get(team_id)
        if found is None:
            found = self._teams[team_id] = () if self._named is None else self._named(team_id)
        return found

    def report(self, rule: RuleTerms) -> tuple[tuple[str, ...], tuple[Hit, ...]]:
        """The terms of a rule that holds that fired, in query order, and their hits."""
        ctx = self.ctx
        fired: dict[c.TermRef, list[c.Span]] | None = None
        if rule.near:  # what fired is worked out from the tree: NEAR keeps its near spans
            fired = {}
            c.fired(rule.node, ctx, fired)
        parts: list[tuple[Hit, ...]] = []
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
            parts.append(found)
        # the hits of one term are its shared tuple: matches of the same term carry one object
        hits = parts[0] if len(parts) == 1 else tuple(chain.from_iterable(parts))
        return tuple(labels), hits


class LazyMatch(Match):
    """A ``Match`` whose values are worked out on first access."""

    __slots__ = ("_source",)
    _source: tuple[int, ArticleHits] | None
    """The number of the rule in ``ArticleHits.rules`` and the article's shared data, until
    ``matched`` and ``hits`` are worked out."""

    def _fill(self) -> None:
        """Team, rule, article and entities, from the rule and the article."""
        source = self._source
        assert source is not None
        index, shared = source
        rule = shared.rules[index]
        _TEAM.__set__(self, rule.team_id)
        _RULE.__set__(self, rule.rule_id)
        _ARTICLE.__set__(self, shared.article.id)
        _ENTITIES.__set__(self, shared.entities(rule.team_id))

    def _resolve(self) -> None:
        self._fill()  # again if it was: the same values, at less cost than asking first
        source = self._source
        assert source is not None
        index, shared = source
        labels, hits = shared.report(shared.rules[index])
        _MATCHED.__set__(self, labels)
        _HITS.__set__(self, hits)
        _SET(self, "_source", None)  # the article's scan is no longer needed

    @property
    def team_id(self) -> str:
        try:
            found: str = _TEAM.__get__(self, Match)
        except AttributeError:
            self._fill()
            found = _TEAM.__get__(self, Match)
        return found

    @team_id.setter
    def team_id(self, value: str) -> None:  # Match's constructor sets it
        _TEAM.__set__(self, value)

    @property
    def rule_id(self) -> str:
        try:
            found: str = _RULE.__get__(self, Match)
        except AttributeError:
            self._fill()
            found = _RULE.__get__(self, Match)
        return found

    @rule_id.setter
    def rule_id(self, value: str) -> None:
        _RULE.__set__(self, value)

    @property
    def article_id(self) -> str:
        try:
            found: str = _ARTICLE.__get__(self, Match)
        except AttributeError:
            self._fill()
            found = _ARTICLE.__get__(self, Match)
        return found

    @article_id.setter
    def article_id(self, value: str) -> None:
        _ARTICLE.__set__(self, value)

    @property
    def entities(self) -> tuple[str, ...]:
        """Ids of dictionary entities whose names were found."""
        try:
            found: tuple[str, ...] = _ENTITIES.__get__(self, Match)
        except AttributeError:
            self._fill()
            found = _ENTITIES.__get__(self, Match)
        return found

    @entities.setter
    def entities(self, value: tuple[str, ...]) -> None:
        _ENTITIES.__set__(self, value)

    def _pending(self) -> bool:
        """Whether ``matched`` and ``hits`` are still to be worked out: asked before reading
        them, since a value not yet set raises, and raising costs more than the question."""
        try:
            return self._source is not None
        except AttributeError:  # built with Match's constructor: a plain value
            return False

    @property
    def matched(self) -> tuple[str, ...]:
        """The query terms that fired, in query order."""
        if self._pending():
            self._resolve()
        found: tuple[str, ...] = _MATCHED.__get__(self, Match)
        return found

    @matched.setter
    def matched(self, value: tuple[str, ...]) -> None:  # Match's constructor sets it
        _MATCHED.__set__(self, value)

    @property
    def hits(self) -> tuple[Hit, ...]:
        if self._pending():
            self._resolve()
        found: tuple[Hit, ...] = _HITS.__get__(self, Match)
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
_drain: Callable[[Iterable[object]], None] = deque[object](maxlen=0).extend
"""Runs an iterator to its end, keeping nothing."""


def lazy_matches(indexes: Sequence[int], shared: ArticleHits) -> list[Match]:
    """A ``LazyMatch`` over the article of ``shared`` for each rule of ``indexes`` (numbers in
    ``shared.rules``; rules that hold)."""
    out: list[Match] = list(map(_NEW, repeat(LazyMatch, len(indexes))))
    _drain(map(_SET_SOURCE, out, zip(indexes, repeat(shared))))  # C loops: there may be hundreds
    return out
