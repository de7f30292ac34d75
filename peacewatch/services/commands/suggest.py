"""``rules suggest ID``: a refinement of a rule learned from alerts marked not relevant.

The words that appear in the rule's dismissed alerts' articles and not in its kept ones are
tried as ``-word`` exclusions, and two required terms that stand closer together in the kept
articles than in the dismissed ones are tried as ``a NEAR/k b``; each is backtested with the
real rule engine on those articles, and the one that removes the most dismissed alerts while
losing the fewest kept ones is proposed with its figures.

That is tens of thousands of matches on up to ``MAX_ALERTS`` articles: the work runs in a worker
thread (:func:`propose`, pure, with engines of its own), so the event loop goes on answering
other commands and delivering alerts meanwhile; a team works out one suggestion at a time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from peacewatch.errors import InputError, QuerySyntaxError
from peacewatch.models import Alert, Article
from peacewatch.pipeline.summarise import clip
from peacewatch.rules.engine import RuleEngine, TeamRuleSet, validate_query
from peacewatch.rules.entities import Entity, builtin_dictionary
from peacewatch.rules.query import And, Near, Node, Or, Term, parse, terms, to_text
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands.base import CMD, CommandBase, _answers, _item
from peacewatch.services.commands.registry import Command
from peacewatch.services.replies import Caller, Reply
from peacewatch.store.codec import alert_from_json
from peacewatch.store.historytokens import tokens_of

LOOKBACK = timedelta(days=90)
MAX_ALERTS = 5000
MAX_DISMISSED = 500
CANDIDATES = 8
"""Words backtested with the engine (ranked first by how they split the articles)."""
MIN_WORD = 3
NEAR_STEPS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50)
"""Distances a NEAR proposal may take (each side's distance is found by bisecting these)."""
NEAR_SIDES = 3
"""Required items of a query tried in pairs as NEAR: the first three (three pairs)."""
NEAR_TRIED = 2
"""(pair, distance) proposals backtested with the engine on every article."""
DISTANCE_SAMPLE = 150
"""Articles per side (dismissed, kept) whose distances choose the proposals."""


@dataclass(frozen=True, slots=True)
class Refinement:
    """A refined query and its backtest on the rule's alerts."""

    query: str
    removed: int
    """Alerts marked not relevant that it would not have matched."""
    lost: int
    """Kept alerts that it would not have matched."""
    why: str = ""
    """A sentence on what it learned from, shown before the figures (ends with a newline)."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """``rules suggest``: its answer, and the proposed refinement when there is one."""

    rule_id: str
    reply: Reply
    best: Refinement | None = None


@dataclass(frozen=True, slots=True)
class Pair:
    """Two items of a query's top-level AND (a term or an OR of terms each)."""

    left: Node
    right: Node


def _near_side(node: Node) -> bool:
    return isinstance(node, Term) or (
        isinstance(node, Or) and all(isinstance(i, Term) for i in node.items)
    )


def near_side(node: Node) -> str:
    """A NEAR side as query text: a term, or an OR group in parentheses."""
    return f"({to_text(node)})" if isinstance(node, Or) else to_text(node)


def required_pairs(node: Node) -> list[Pair]:
    """Pairs of the query's required items that NEAR can join: those of its top-level AND
    that are a term or an OR of terms (the first ``NEAR_SIDES`` of them)."""
    if not isinstance(node, And):
        return []
    sides = [item for item in node.items if _near_side(item)][:NEAR_SIDES]
    return [Pair(a, b) for i, a in enumerate(sides) for b in sides[i + 1 :]]


def with_near(node: Node, pair: Pair, distance: int) -> str:
    """The query with ``pair.left AND pair.right`` turned into ``left NEAR/distance right``."""
    assert isinstance(node, And)
    items: list[Node] = []
    for item in node.items:
        if item is pair.left:
            items.append(Near(pair.left, pair.right, distance))
        elif item is not pair.right:
            items.append(item)
    return to_text(items[0] if len(items) == 1 else And(tuple(items)))


def _words(article: Article) -> set[str]:
    return {
        w for w in tokens_of(article) if ":" not in w and len(w) >= MIN_WORD and not w.isdigit()
    }


_WORKING: set[str] = set()
"""Teams whose suggestion is being worked out in this process (one at a time per team)."""


class SuggestCommands(CommandBase):
    """Rule refinements from the team's feedback."""

    async def _rule_articles(
        self, caller: Caller, rule_id: str
    ) -> tuple[list[Article], list[Article]]:
        """(dismissed, kept) articles of the rule's alerts over ``LOOKBACK``."""
        now = self._clock()
        dismissed_ids = set(await self._teams.not_relevant(caller.team_id, MAX_DISMISSED))
        texts = await self._teams.alerts_between(caller.team_id, now - LOOKBACK, now, MAX_ALERTS)
        dismissed: dict[str, Alert] = {}
        kept: dict[str, Alert] = {}
        for alert in map(alert_from_json, texts):
            named = {alert.rule_id, *filter(None, alert.extra.get("rules", "").split(","))}
            if rule_id not in named:
                continue
            marked = alert.alert_id in dismissed_ids or alert.story_id in dismissed_ids
            (dismissed if marked else kept).setdefault(alert.article_id, alert)
        kept = {a: x for a, x in kept.items() if a not in dismissed}
        articles = await self._articles([*dismissed, *kept])
        return (
            [articles[a] for a in dismissed if a in articles],
            [articles[a] for a in kept if a in articles],
        )

    @_answers
    async def rules_suggest(self, caller: Caller, rule_id: str) -> Reply:
        return (await self.suggestion(caller, rule_id)).reply

    async def suggestion(self, caller: Caller, rule_id: str) -> Suggestion:
        """The best refinement of a rule (``-word`` or ``a NEAR/k b``) with its backtest on the
        rule's alerts, and its answer; never raises for a user's bad input. While one is worked
        out for a team, another asked for in that team is answered that it must wait."""
        if caller.team_id in _WORKING:
            return Suggestion(
                rule_id,
                Reply.fail(
                    "A suggestion for this team is being worked out; ask again when it is answered."
                ),
            )
        _WORKING.add(caller.team_id)
        try:
            return await self._suggestion(caller, rule_id)
        except (InputError, ValueError) as exc:
            return Suggestion(rule_id, Reply.fail(str(exc)[:500]))
        finally:
            _WORKING.discard(caller.team_id)

    async def _suggestion(self, caller: Caller, rule_id: str) -> Suggestion:
        rule = await self._teams.rule(caller.team_id, rule_id)
        if rule is None:
            return Suggestion(rule_id, await self._no_rule(caller, rule_id))
        dismissed, kept = await self._rule_articles(caller, rule_id)
        if not dismissed:
            return Suggestion(
                rule_id,
                Reply(
                    title=f"No alert of {rule_id} was marked not relevant yet",
                    text='Press "Not relevant" on alerts that should not have come; this '
                    "command then proposes a refinement that would have kept them out.",
                    ephemeral=True,
                ),
            )
        entities = await self._entities(caller.team_id)
        tried = await asyncio.to_thread(propose, rule.query, dismissed, kept, entities)
        if not tried:
            return Suggestion(
                rule_id,
                Reply(
                    title=f"No refinement found for {rule_id}",
                    text=f"No word separates its {len(dismissed)} dismissed alerts from its "
                    f"{len(kept)} kept ones, nor does the distance between its terms. A "
                    "tighter query (title:, a phrase) may help.",
                    footer=f"Try one: {CMD} rules test QUERY --since 30d",
                    ephemeral=True,
                ),
            )
        tried.sort(key=lambda t: (-(t.removed - t.lost), t.lost, t.query))
        best = tried[0]
        others = [
            _item(f"`{clip(t.query, 150)}`", meta=f"removes {t.removed} of {len(dismissed)} · "
                  f"loses {t.lost} of {len(kept)}")
            for t in tried[1:4]
        ]  # fmt: skip
        return Suggestion(
            rule_id,
            Reply(
                title=f"Suggested refinement of {rule_id}",
                text=f"`{clip(best.query, 500)}`\n{best.why}Backtest on this rule's alerts of "
                f"the last {LOOKBACK.days} days: it would have removed {best.removed} of the "
                f"{len(dismissed)} marked not relevant and lost {best.lost} of the "
                f"{len(kept)} kept.",
                items=tuple(others),
                footer=f"Apply it: {CMD} rules add {rule_id} {clip(best.query, 300)}",
                ephemeral=True,
            ),
            best,
        )


def propose(
    query: str, dismissed: list[Article], kept: list[Article], entities: tuple[Entity, ...]
) -> list[Refinement]:
    """Every refinement of ``query`` that removes a dismissed article, with its backtest (pure
    and CPU-bound: run it in a worker thread). Raises QuerySyntaxError for a query that no
    longer parses."""
    engines = _Engines(entities)
    tried = _exclusions(engines, query, dismissed, kept)
    tried += _proximity(engines, query, dismissed, kept)
    return tried


class _Engines:
    """One-rule engines compiled for one suggestion (its own: an engine learns from the
    articles it matches, so it is never shared with another thread)."""

    def __init__(self, entities: tuple[Entity, ...]) -> None:
        self._entities = entities
        self._dictionary = builtin_dictionary().extended(entities)
        self._cache: dict[str, RuleEngine] = {}

    def get(self, query: str) -> RuleEngine:
        """``query`` compiled. Raises QuerySyntaxError or InputError."""
        engine = self._cache.get(query)
        if engine is None:
            validate_query(query, self._dictionary)
            spec = RuleSpec(id="q", query=query)
            engine = RuleEngine.compile([TeamRuleSet("suggest", [spec], self._entities)])
            if engine.errors or engine.rule_count != 1:
                message = engine.errors[0].message if engine.errors else "query not compiled"
                raise InputError(message)
            self._cache[query] = engine
        return engine


def _backtest(
    engines: _Engines,
    query: str,
    dismissed: list[Article],
    kept: list[Article],
    why: str = "",
) -> Refinement | None:
    """``query`` run by the real engine on the rule's articles; None when it removes no
    dismissed one (or does not compile)."""
    try:
        engine = engines.get(query)
    except (QuerySyntaxError, InputError):
        return None
    removed = sum(1 for a in dismissed if not engine.match(a))
    lost = sum(1 for a in kept if not engine.match(a))
    return Refinement(query, removed, lost, why) if removed else None


def _exclusions(
    engines: _Engines, query: str, dismissed: list[Article], kept: list[Article]
) -> list[Refinement]:
    """``(query) -word`` for the words that most split dismissed from kept articles."""
    words_d = [_words(a) for a in dismissed]
    words_k = [_words(a) for a in kept]
    used = {w for t in terms(parse(query)) for w in t.text.casefold().split()}
    counts: dict[str, tuple[int, int]] = {}
    for words in words_d:
        for w in words - used:
            d, k = counts.get(w, (0, 0))
            counts[w] = (d + 1, k)
    for w in counts:
        counts[w] = (counts[w][0], sum(1 for words in words_k if w in words))
    ranked = sorted(
        (w for w, (d, k) in counts.items() if d > k),
        key=lambda w: (-(counts[w][0] - counts[w][1]), counts[w][1], w),
    )[:CANDIDATES]
    tried = []
    for word in ranked:
        found = _backtest(engines, f"({query}) -{word}", dismissed, kept)
        if found is not None:
            tried.append(found)
    return tried


def _distances(engines: _Engines, pair: Pair, articles: list[Article]) -> list[int | None]:
    """Per article, the smallest step of ``NEAR_STEPS`` at which the pair's sides are
    near (as the real engine counts words), or None when they are never that close."""
    left, right = near_side(pair.left), near_side(pair.right)
    steps = [engines.get(f"{left} NEAR/{k} {right}") for k in NEAR_STEPS]
    out: list[int | None] = []
    for article in articles:
        if not steps[-1].match(article):
            out.append(None)
            continue
        low, high = 0, len(NEAR_STEPS) - 1
        while low < high:  # NEAR/k holds for every k from the smallest one up
            middle = (low + high) // 2
            if steps[middle].match(article):
                high = middle
            else:
                low = middle + 1
        out.append(NEAR_STEPS[low])
    return out


def _proximity(
    engines: _Engines, query: str, dismissed: list[Article], kept: list[Article]
) -> list[Refinement]:
    """``a NEAR/k b`` in place of ``a AND b`` when the kept articles have ``a`` and ``b``
    closer together than the dismissed ones. Distances are measured on a sample of each
    side; ``k`` is one of the kept distances, and the few (pair, k) that split the sample
    best are backtested with the real engine on every article."""
    tree = parse(query)
    sample_d, sample_k = _sample(dismissed), _sample(kept)
    ranked: list[tuple[float, float, int, Pair]] = []
    for pair in required_pairs(tree):
        try:
            far_d = _distances(engines, pair, sample_d)
            far_k = _distances(engines, pair, sample_k)
        except (QuerySyntaxError, InputError):
            continue  # a side NEAR cannot take (a field such as source:)
        for k in sorted({d for d in far_k if d is not None}):
            # estimated over all articles from the sample's shares
            removed = len(dismissed) * _share(far_d, k)
            lost = len(kept) * _share(far_k, k)
            if removed > lost:
                ranked.append((lost - removed, lost, k, pair))
    ranked.sort(key=lambda r: r[:3])
    tried: list[Refinement] = []
    for _score, _lost, k, pair in ranked[:NEAR_TRIED]:
        why = (
            f"Kept alerts have {near_side(pair.left)} and {near_side(pair.right)} within {k} "
            "words of each other; in the dismissed ones they are further apart.\n"
        )
        found = _backtest(engines, with_near(tree, pair, k), dismissed, kept, why)
        if found is not None:
            tried.append(found)
    return tried


def _sample(articles: list[Article]) -> list[Article]:
    """At most ``DISTANCE_SAMPLE`` articles spread evenly over ``articles``."""
    step = max(1, -(-len(articles) // DISTANCE_SAMPLE))
    return articles[::step]


def _share(distances: list[int | None], k: int) -> float:
    """The share of ``distances`` further apart than ``k`` (or never near)."""
    far = sum(1 for d in distances if d is None or d > k)
    return far / len(distances) if distances else 0.0


COMMANDS = (Command("rules_suggest", lambda s, c, cmd: s.rules_suggest(c, cmd.rule_id)),)
