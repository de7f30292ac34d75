"""Signals of an article against a candidate story.

What the article and each story bring to a decision is computed once; the bounds that rule a
story out before its members are scored are in ``peacewatch.stories.bounds``."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from itertools import chain

from peacewatch.stories.events import kinds_of
from peacewatch.stories.features import Compared, Features

BODY_WEIGHT = 0.5
"""Weight of a summary token against a headline token."""
ENTITY_WEIGHT = 1.0
"""Weight of an entity id against a word (its rarity already speaks for it)."""
EVIDENCE = 8.0
"""Shared IDF weight (three or four uncommon tokens) below which a score is scaled down."""
NAMED_EVIDENCE = 2
"""Shared entities and numbers that let two reports with almost no word in common meet (two:
an actor and a place, or an actor and a figure; with the entity signals, four kept apart
reports in two languages that the labelled stories and the judged stream join)."""
WORD_FLOOR = 0.1
"""The word score (story, best single member or headline) below which an article never joins
a story, whatever the model says."""
BURST_HOURS = 12.0
"""Time scale of a news burst: the word score counts in full at once, by 1/e twelve hours on."""


def weights_of(feats: Features, idf: Mapping[str, float]) -> dict[str, float]:
    """The weight of each token of ``feats``: its IDF, halved in the summary."""
    out: dict[str, float] = {}
    for t in feats.tokens:
        w = idf.get(t, 0.0) * (1.0 if t in feats.title_tokens else BODY_WEIGHT)
        out[t] = w * ENTITY_WEIGHT if t.startswith("e:") else w
    return out


def _shares(
    weights: Mapping[str, float],
    carried: Mapping[str, int],
    shared: Sequence[str],
    n: int,
    idf: Mapping[str, float],
) -> float:
    """The word score (see :func:`peacewatch.stories.scoring.lexical_score`) of an article
    of token ``weights`` against ``n`` members that carry each token ``carried`` times."""
    if not shared:
        return 0.0
    cover = math.fsum(weights[t] * carried[t] / n for t in shared) / (
        math.fsum(weights.values()) or 1.0
    )
    vocabulary = {t: idf.get(t, 0.0) * c / n for t, c in carried.items()}
    back = math.fsum(vocabulary[t] for t in shared) / (math.fsum(vocabulary.values()) or 1.0)
    evidence = min(1.0, math.fsum(idf.get(t, 0.0) for t in shared) / EVIDENCE)
    return math.sqrt(cover * back) * evidence


def word_score(signals: Mapping[str, float]) -> float:
    """The best of the three word scores among ``signals``."""
    return max(signals["lexical"], signals["closest"], signals["headline"])


# One decision ---------------------------------------------------------------------------------
# best_story scores an article against up to MAX_STORIES stories of up to MAX_MEMBER_FEATURES
# members each. What the article brings is computed once (Probe), what a story brings once per
# story (StoryView), and every sum runs over the same tokens in the same order as in _shares,
# so every score is the same to the last bit as the plain definition gives.


@dataclass(frozen=True, slots=True)
class Probe:
    """The article's side of one decision."""

    article: Features
    tokens: tuple[str, ...]
    """``article.tokens`` in their order of iteration (the order every sum runs in)."""
    weights: dict[str, float]
    """:func:`weights_of` the article."""
    weight: float
    """Their sum (or 1.0 when it is 0)."""
    title_rarity: float
    """The IDF of the headline's tokens, summed."""
    entities: tuple[str, ...]
    """The article's entity tokens, in the order of ``tokens``."""
    entity_weight: float
    """Their weight, summed."""
    kinds: frozenset[str]
    """:func:`kinds_of` the headline (what :func:`peacewatch.stories.bounds.may_reach` bounds
    the event signal by)."""


def probe_of(article: Features, idf: Mapping[str, float]) -> Probe:
    weights = weights_of(article, idf)
    title = math.fsum(idf.get(t, 0.0) for t in article.title_tokens)
    tokens = tuple(article.tokens)
    entities = tuple(t for t in tokens if t[:2] == "e:")
    return Probe(
        article, tokens, weights, math.fsum(weights.values()) or 1.0, title, entities,
        math.fsum([weights[t] for t in entities]), kinds_of(article.title_tokens),
    )  # fmt: skip


@dataclass(slots=True)
class StoryView:
    """A story's side of one decision: its members (within the window) and what the article
    shares with them as a whole. Not frozen (it is never changed): a decision builds one per
    candidate story, and a frozen class sets each field through ``object.__setattr__``."""

    members: Sequence[Compared]
    shared: Set[str]
    """The article's tokens that some member carries."""
    rarity: float
    """Their IDF, summed."""
    hours: float
    """Hours between the article and its nearest member."""
    same_language: float
    """Share of the members in the article's language."""
    named: int
    """Shared entities and numbers."""
    numbers: int
    """Shared numbers."""
    entities: float
    """The article's entity weight that the story carries, as a share of all of it (0-1)."""
    same_outlet: float
    """Share of the members from the article's outlet."""


def story_view(probe: Probe, members: Sequence[Compared], idf: Mapping[str, float]) -> StoryView:
    article = probe.article
    tokens = article.tokens
    # The members' tokens are looked up in the article's set (a kept member's are a tuple);
    # every sum over ``shared`` is exact, so the order they are found in does not matter.
    lang = article.lang
    if len(members) == 1:  # most candidate stories
        member = members[0]
        shared: Set[str] = tokens.intersection(member.tokens)
        hours = abs(article.published - member.published) / 3600
        same = 1 if not (lang and member.lang) or member.lang == lang else 0
        own = 1 if article.outlet and member.outlet == article.outlet else 0
    else:
        shared = tokens.intersection(chain.from_iterable(m.tokens for m in members))
        hours = min(abs(article.published - m.published) for m in members) / 3600
        # An unknown language counts as the same: most reports a feed carries share its
        # language.
        same = sum(1 for m in members if not (lang and m.lang) or m.lang == lang)
        outlet = article.outlet
        own = sum(1 for m in members if m.outlet == outlet) if outlet else 0
    prefixes = [t[:2] for t in shared]
    named = len(prefixes) - prefixes.count("s:")
    return StoryView(
        members, shared, _rarity(shared, idf), hours, same / len(members), named,
        prefixes.count("n:"), _entity_cover(probe, shared) if named else 0.0,
        own / len(members),
    )  # fmt: skip


def _entity_cover(probe: Probe, shared: Set[str]) -> float:
    """The weight of the article's entities in ``shared`` over that of all of them."""
    if not probe.entity_weight:
        return 0.0
    weights = probe.weights
    return math.fsum([weights[t] for t in probe.entities if t in shared]) / probe.entity_weight


def _rarity(tokens: Iterable[str], idf: Mapping[str, float]) -> float:
    """The IDF of ``tokens``, summed exactly (``math.fsum``): the same in any order.

    Every sum of weights or IDF over tokens here is exact for the same reason: tokens come
    from sets, whose order differs between processes (string hashing) and between a member
    as first read and as rebuilt from Redis or from its compact record; an ordinary sum would
    then differ in its last bit, and a score at a threshold could decide otherwise after a
    restart or a takeover."""
    try:
        return math.fsum(map(idf.__getitem__, tokens))  # in a decision every token has one
    except KeyError:
        return math.fsum(idf.get(t, 0.0) for t in tokens)


def _score(cover: float, back: float, rarity: float) -> float:
    return math.sqrt(cover * back) * min(1.0, rarity / EVIDENCE)


def member_score(probe: Probe, member: Compared, idf: Mapping[str, float]) -> float:
    """The word score against a story of ``member`` alone: every token is carried once, so
    the shares of :func:`_shares` reduce to sums of weights and of IDF."""
    carried, mine = member.tokens, probe.article.tokens
    shared = [t for t in carried if t in mine]  # exact sums: their order does not matter
    if not shared:
        return 0.0
    weights = probe.weights
    rarity = _rarity(shared, idf)
    score = _score(
        math.fsum([weights[t] for t in shared]) / probe.weight,
        rarity / (_rarity(carried, idf) or 1.0),
        rarity,
    )
    return _named_score(probe, score, shared, Counter(carried), 1, idf)


def story_lexical(probe: Probe, members: Sequence[Compared], idf: Mapping[str, float]) -> float:
    """:func:`lexical_score` against a story of two or more ``members``."""
    n = len(members)
    carried = Counter(chain.from_iterable(m.tokens for m in members))
    shared = [t for t in probe.tokens if t in carried]
    if not shared:
        return 0.0
    weights, rarity_of = probe.weights, idf.get
    score = _score(
        math.fsum([weights[t] * carried[t] / n for t in shared]) / probe.weight,
        math.fsum([rarity_of(t, 0.0) * carried[t] / n for t in shared])
        / (math.fsum([rarity_of(t, 0.0) * c / n for t, c in carried.items()]) or 1.0),
        _rarity(shared, idf),
    )
    return _named_score(probe, score, shared, carried, n, idf)


def _named_score(
    probe: Probe,
    score: float,
    shared: Sequence[str],
    carried: Mapping[str, int],
    n: int,
    idf: Mapping[str, float],
) -> float:
    """``score``, or the score on entities and numbers alone if that is higher and they are
    all the article shares with the story."""
    named = [t for t in shared if not t.startswith("s:")]
    if len(named) < NAMED_EVIDENCE or len(shared) != len(named):
        return score
    # No word in common but the same actors, places and figures: one event told in two
    # languages. Within one language the words already speak.
    weights = {t: w for t, w in probe.weights.items() if not t.startswith("s:")}
    story = {t: c for t, c in carried.items() if not t.startswith("s:")}
    return max(score, _shares(weights, story, named, n, idf))


def headline_score(probe: Probe, member: Compared, idf: Mapping[str, float]) -> float:
    """:func:`peacewatch.stories.scoring.headline_similarity` of the probe's article."""
    a, b = probe.article.title_tokens, member.title_tokens
    total = probe.title_rarity + _rarity(b, idf)
    shared = _rarity(a.intersection(b), idf)
    return 2 * shared / total if total else 0.0


def signals_of(
    probe: Probe, story: StoryView, idf: Mapping[str, float], headline: float | None = None
) -> dict[str, float]:
    """:func:`story_signals`; ``headline``: the headline score, when already computed."""
    members = story.members
    each = [member_score(probe, m, idf) for m in members]
    lexical = each[0] if len(members) == 1 else story_lexical(probe, members, idf)
    closest = max(each)
    if headline is None:
        headline = headline_of(probe, members, idf)
    return {
        "lexical": lexical,
        "closest": closest,
        "headline": headline,
        "burst": max(lexical, closest, headline) * math.exp(-story.hours / BURST_HOURS),
        "event": _events(probe.article, members),
        **_story_signals(story),
    }


def _events(article: Features, members: Sequence[Compared]) -> float:
    """The share of the members whose headline reports a kind of development (agreed,
    rejected, met...) that the article's headline reports."""
    kinds = kinds_of(article.title_tokens)
    if not kinds:
        return 0.0
    return sum(1 for m in members if not kinds.isdisjoint(kinds_of(m.title_tokens))) / len(members)


def headline_of(probe: Probe, members: Sequence[Compared], idf: Mapping[str, float]) -> float:
    return max(headline_score(probe, m, idf) for m in members)


STORY_SIGNALS = (
    "shared_weight",
    "same_language",
    "shared_numbers",
    "members",
    "entities",
    "entity_burst",
    "same_outlet",
)
"""The signals that depend on the story as a whole, in the order they are summed."""


def _story_values(story: StoryView) -> tuple[float, ...]:
    """The values of :data:`STORY_SIGNALS` for ``story``, in their order."""
    return (
        math.log1p(story.rarity),
        story.same_language,
        float(min(3, story.numbers)),
        math.log1p(len(story.members)),
        story.entities,
        story.entities * math.exp(-story.hours / BURST_HOURS),
        story.same_outlet,
    )


def _story_signals(story: StoryView) -> dict[str, float]:
    """The signals that depend on the story as a whole."""
    return dict(zip(STORY_SIGNALS, _story_values(story), strict=True))
