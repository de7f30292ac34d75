"""Scores that decide whether an article reports the story of a set of members."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import timedelta
from itertools import chain

from rapidfuzz import fuzz

from peacewatch.stories.features import Features
from peacewatch.stories.model import StoryModel, builtin_model
from peacewatch.stories.rarity import WindowIdf

BODY_WEIGHT = 0.5
"""Weight of a summary token against a headline token."""
ENTITY_WEIGHT = 1.0
"""Weight of an entity id against a word (its rarity already speaks for it)."""
EVIDENCE = 8.0
"""Shared IDF weight (three or four uncommon tokens) below which a score is scaled down."""
NAMED_EVIDENCE = 4
"""Shared entities and numbers that let two reports with almost no word in common meet."""
WORD_FLOOR = 0.1
"""The word score (story, best single member or headline) below which an article never joins
a story, whatever the model says."""
BURST_HOURS = 12.0
"""Time scale of a news burst: the word score counts in full at once, by 1/e twelve hours on."""


def _weights(feats: Features, idf: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in feats.tokens:
        w = idf.get(t, 0.0) * (1.0 if t in feats.title_tokens else BODY_WEIGHT)
        out[t] = w * ENTITY_WEIGHT if t.startswith("e:") else w
    return out


def lexical_score(
    article: Features, members: Sequence[Features], idf: Mapping[str, float]
) -> float:
    """How well the words, names and figures of ``article`` fit a story of ``members``, 0 to 1.

    Two shares, each token counted by the share of members that carry it: how much of the
    article's weight the story carries, and how much of the story's weighted vocabulary the
    article carries; their geometric mean is damped until the shared tokens carry enough rare
    weight (``EVIDENCE``). Reports with almost no word in common are also scored on their
    entities and numbers alone.
    """
    if not members:
        return 0.0
    probe = _probe(article, idf)
    if len(members) == 1:
        return _member_score(probe, members[0], idf)
    return _story_lexical(probe, members, idf)


def _shares(
    weights: Mapping[str, float],
    carried: Mapping[str, int],
    shared: Sequence[str],
    n: int,
    idf: Mapping[str, float],
) -> float:
    if not shared:
        return 0.0
    cover = sum(weights[t] * carried[t] / n for t in shared) / (sum(weights.values()) or 1.0)
    vocabulary = {t: idf.get(t, 0.0) * c / n for t, c in carried.items()}
    back = sum(vocabulary[t] for t in shared) / (sum(vocabulary.values()) or 1.0)
    evidence = min(1.0, sum(idf.get(t, 0.0) for t in shared) / EVIDENCE)
    return math.sqrt(cover * back) * evidence


def similarity(a: Features, b: Features, idf: Mapping[str, float]) -> float:
    """The word score of ``a`` against a story of ``b`` alone, from 0 to 1."""
    return _member_score(_probe(a, idf), b, idf)


def headline_similarity(a: Features, b: Features, idf: Mapping[str, float]) -> float:
    """How much of their weight two headlines share (weighted Dice, 0 to 1): two outlets'
    headlines of one development often share most of their rare words while their summaries
    open with different background."""
    return _headline_score(_probe(a, idf), b, idf)


def story_signals(
    article: Features, members: Sequence[Features], idf: Mapping[str, float]
) -> dict[str, float]:
    """The signals of :mod:`peacewatch.pipeline.story_model` for ``article`` and a story of
    ``members`` (at least one)."""
    probe = _probe(article, idf)
    return _signals(probe, _story(probe, members, idf), idf)


def _words(signals: Mapping[str, float]) -> float:
    return max(signals["lexical"], signals["closest"], signals["headline"])


def story_score(
    article: Features,
    members: Sequence[Features],
    idf: Mapping[str, float],
    model: StoryModel | None = None,
) -> float:
    """The probability (0-1) that ``article`` reports the story of ``members``."""
    if not members:
        return 0.0
    signals = story_signals(article, members, idf)
    if _words(signals) < WORD_FLOOR:
        return 0.0  # time and language alone never make two reports one story
    return (model or builtin_model()).probability(signals)


# One decision ---------------------------------------------------------------------------------
# best_story scores an article against up to MAX_STORIES stories of up to MAX_MEMBER_FEATURES
# members each. What the article brings is computed once (_Probe), what a story brings once per
# story (_Story), and the sums run over the same tokens in the same order as the definitions
# above, so every score is the same to the last bit.


@dataclass(frozen=True, slots=True)
class _Probe:
    """The article's side of one decision."""

    article: Features
    tokens: tuple[str, ...]
    """``article.tokens`` in their order of iteration (the order every sum runs in)."""
    weights: dict[str, float]
    """:func:`_weights` of the article."""
    weight: float
    """Their sum (or 1.0 when it is 0)."""
    title_rarity: float
    """The IDF of the headline's tokens, summed."""


def _probe(article: Features, idf: Mapping[str, float]) -> _Probe:
    weights = _weights(article, idf)
    title = sum(idf.get(t, 0.0) for t in article.title_tokens)
    return _Probe(article, tuple(article.tokens), weights, sum(weights.values()) or 1.0, title)


@dataclass(frozen=True, slots=True)
class _Story:
    """A story's side of one decision: its members (within the window) and what the article
    shares with them as a whole."""

    members: Sequence[Features]
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


def _story(probe: _Probe, members: Sequence[Features], idf: Mapping[str, float]) -> _Story:
    article = probe.article
    tokens = article.tokens
    # ``tokens & carried`` (carried: every member's tokens) walks the smaller of the two sets
    # and keeps what it finds in that order, which is the order the rarity is summed in. When
    # a member alone has more tokens than the article, that is the article's tokens, and the
    # members' tokens need not be gathered into one set.
    lang = article.lang
    if len(members) == 1:  # most candidate stories
        member = members[0]
        if len(member.tokens) > len(tokens):
            shared: Set[str] = tokens & member.tokens
        else:
            shared = tokens & {t for t in member.tokens}
        hours = abs(article.published - member.published) / 3600
        same = 1 if not (lang and member.lang) or member.lang == lang else 0
    else:
        if not any(len(m.tokens) > len(tokens) for m in members):
            shared = tokens & {t for m in members for t in m.tokens}
        else:
            carried = set().union(*(tokens & m.tokens for m in members))
            shared = {t for t in probe.tokens if t in carried}
        hours = min(abs(article.published - m.published) for m in members) / 3600
        # An unknown language counts as the same: most reports a feed carries share its
        # language.
        same = sum(1 for m in members if not (lang and m.lang) or m.lang == lang)
    prefixes = [t[:2] for t in shared]
    named = len(prefixes) - prefixes.count("s:")
    return _Story(
        members, shared, _rarity(shared, idf), hours, same / len(members), named,
        prefixes.count("n:"),
    )  # fmt: skip


def _rarity(tokens: Iterable[str], idf: Mapping[str, float]) -> float:
    """The IDF of ``tokens``, summed in their order."""
    try:
        return sum(map(idf.__getitem__, tokens))  # in a decision every token has one
    except KeyError:
        return sum(idf.get(t, 0.0) for t in tokens)


def _score(cover: float, back: float, rarity: float) -> float:
    return math.sqrt(cover * back) * min(1.0, rarity / EVIDENCE)


def _member_score(probe: _Probe, member: Features, idf: Mapping[str, float]) -> float:
    """The word score against a story of ``member`` alone: every token is carried once, so
    the shares of :func:`_shares` reduce to sums of weights and of IDF."""
    carried = member.tokens
    shared = [t for t in probe.tokens if t in carried]
    if not shared:
        return 0.0
    weights = probe.weights
    rarity = _rarity(shared, idf)
    score = _score(
        sum([weights[t] for t in shared]) / probe.weight,
        rarity / (_rarity(carried, idf) or 1.0),
        rarity,
    )
    return _named_score(probe, score, shared, Counter(carried), 1, idf)


def _story_lexical(probe: _Probe, members: Sequence[Features], idf: Mapping[str, float]) -> float:
    """:func:`lexical_score` against a story of two or more ``members``."""
    n = len(members)
    carried = Counter(chain.from_iterable(m.tokens for m in members))
    shared = [t for t in probe.tokens if t in carried]
    if not shared:
        return 0.0
    weights, rarity_of = probe.weights, idf.get
    score = _score(
        sum([weights[t] * carried[t] / n for t in shared]) / probe.weight,
        sum([rarity_of(t, 0.0) * carried[t] / n for t in shared])
        / (sum([rarity_of(t, 0.0) * c / n for t, c in carried.items()]) or 1.0),
        _rarity(shared, idf),
    )
    return _named_score(probe, score, shared, carried, n, idf)


def _named_score(
    probe: _Probe,
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


def _headline_score(probe: _Probe, member: Features, idf: Mapping[str, float]) -> float:
    a, b = probe.article.title_tokens, member.title_tokens
    total = probe.title_rarity + sum(idf.get(t, 0.0) for t in b)
    shared = sum(idf.get(t, 0.0) for t in a & b)
    return 2 * shared / total if total else 0.0


def _signals(probe: _Probe, story: _Story, idf: Mapping[str, float]) -> dict[str, float]:
    members = story.members
    each = [_member_score(probe, m, idf) for m in members]
    lexical = each[0] if len(members) == 1 else _story_lexical(probe, members, idf)
    closest = max(each)
    headline = max(_headline_score(probe, m, idf) for m in members)
    return {
        "lexical": lexical,
        "closest": closest,
        "headline": headline,
        "burst": max(lexical, closest, headline) * math.exp(-story.hours / BURST_HOURS),
        **_story_signals(story),
    }


def _story_signals(story: _Story) -> dict[str, float]:
    """The signals that depend on the story as a whole."""
    return {
        "shared_weight": math.log1p(story.rarity),
        "same_language": story.same_language,
        "shared_numbers": float(min(3, story.numbers)),
        "members": math.log1p(len(story.members)),
    }


MARGIN = 1e-9
"""Slack for rounding when a bound rules a story out (scores differ in the 15th digit)."""


def _may_reach(
    probe: _Probe, story: _Story, idf: Mapping[str, float], model: StoryModel, threshold: float
) -> bool:
    """False when the story cannot score ``threshold``, judged from bounds on its word scores
    that cost a few sums over what the article shares with the story as a whole (most
    candidate stories of most articles are far from it, and then no member is scored).

    Every word score of a member or of the story is at most ``sqrt(cover) * evidence`` (the
    share of coverage it can reach is at most 1): ``cover`` is at most the article's weight
    in tokens the story carries (1 when the entities and numbers alone may score), and the
    evidence at most that of every shared token. A headline score ``2 S / (T_a + T_m)`` is
    at most ``2 S / (T_a + S)`` with ``S`` the rarity of the headline tokens the story carries.
    Signals with a positive weight take their bound, the others their least value (0).
    """
    shared = story.shared
    if story.named >= NAMED_EVIDENCE:
        cover = 1.0
    else:
        cover = min(1.0, sum([probe.weights[t] for t in shared]) / probe.weight)
    words = math.sqrt(cover) * min(1.0, story.rarity / EVIDENCE)
    rare_title = sum([idf.get(t, 0.0) for t in probe.article.title_tokens & shared])
    total = probe.title_rarity + rare_title
    headline = 2 * rare_title / total if total else 0.0
    if max(words, headline) < WORD_FLOOR - MARGIN:
        return False
    weights = model.weights
    bounds = (
        ("lexical", words),
        ("closest", words),
        ("headline", headline),
        ("burst", max(words, headline) * math.exp(-story.hours / BURST_HOURS)),
    )
    z = model.intercept + sum(weights.get(k, 0.0) * v for k, v in _story_signals(story).items())
    z += sum(w * v for k, v in bounds if (w := weights.get(k, 0.0)) > 0)
    # The model's probability is the logistic function of z, which reaches the threshold
    # where z reaches its logit.
    return z >= math.log(threshold / (1.0 - threshold)) - MARGIN


def is_copy(a: Features, b: Features) -> bool:
    """``a`` is a syndicated copy or a re-headline of ``b``: same headline or the same text."""
    # fuzz.ratio is 100 * (1 - d / (len(a) + len(b))), d the insertions and deletions from one
    # to the other, at least the difference in length: strings whose lengths differ by more
    # than a tenth of their sum cannot reach 90, and are not compared.
    x, y = len(a.title), len(b.title)
    if x and y and 10 * abs(x - y) <= x + y and fuzz.ratio(a.title, b.title) >= 90:
        return True
    x, y = len(a.summary), len(b.summary)
    return (
        x >= 40
        and y >= 40
        and 10 * abs(x - y) <= x + y
        and fuzz.ratio(a.summary, b.summary) >= 90
        and fuzz.token_set_ratio(a.title, b.title) >= 60
    )


def near_members(
    article: Features, members: Iterable[Features], window: timedelta
) -> list[Features]:
    """The members of a story that ``article`` may join it through."""
    span, published, article_id = window.total_seconds(), article.published, article.article_id
    return [
        m for m in members if m.article_id != article_id and abs(published - m.published) <= span
    ]


def check_threshold(threshold: float) -> float:
    """``threshold`` if it is a probability strictly between 0 and 1; else ValueError."""
    if not 0.0 < threshold < 1.0:  # also refuses NaN
        raise ValueError(f"a story threshold is a probability between 0 and 1, not {threshold}")
    return threshold


def best_story(
    article: Features,
    stories: Mapping[str, Sequence[Features]],
    idf: Mapping[str, float],
    window: timedelta,
    threshold: float | None = None,
    model: StoryModel | None = None,
) -> tuple[str | None, str | None]:
    """(story id, duplicate-of article id) of the best-fitting story, or (None, None).

    Only members within ``window`` of the article count. ``threshold``: the probability a
    story needs; by default the model's.
    """
    model = model or builtin_model()
    threshold = model.threshold if threshold is None else check_threshold(threshold)
    probe = _probe(article, idf)
    best: tuple[float, str, str | None] | None = None
    for story_id, members in stories.items():
        near = near_members(article, members, window)
        copied = next((m.article_id for m in near if is_copy(article, m)), None)
        if copied:  # a copy of a member's headline or text is that story, however late
            score = 1.0
        elif not near:
            score = 0.0
        else:
            story = _story(probe, near, idf)
            score = 0.0
            if _may_reach(probe, story, idf, model, threshold):
                if isinstance(idf, WindowIdf):  # the members' tokens, now that they count
                    idf.cover(chain.from_iterable(m.tokens for m in near))
                signals = _signals(probe, story, idf)
                if _words(signals) >= WORD_FLOOR:  # time and language alone never do
                    score = model.probability(signals)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, story_id, copied)
    if best is None:
        return None, None
    return best[1], best[2]
