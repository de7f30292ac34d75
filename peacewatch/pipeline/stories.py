"""Story clustering: reports of one event from several outlets become one story, kept in Redis.

How an article finds its story
------------------------------
Each article is reduced to :class:`Features`: the salient word stems of its headline (without
the ``- Outlet`` suffix that news aggregators append) and of its summary, the numbers it quotes,
and the ids of the dictionary entities it names. Function words of English, Swedish, German,
Polish, Russian and Ukrainian are dropped and words are cut to six letters, so that
``guarantee``/``guarantees`` meet. Entities are found by the rule engine's matcher, with the
inflected forms of Cyrillic names and the case endings of Polish and German ones (``Witkoff``,
``Уиткоффом`` and ``Paryżu`` give ``witkoff`` and ``paris``); they, and the numbers, are what
lets reports in different languages meet.

Each token is weighted by its rarity (IDF). Rarity is measured in the window's own articles,
with a background table of a general news corpus as the prior
(``peacewatch/pipeline/data/idf.json``, built by ``scripts/build_idf.py``): a freshly started
index already knows the everyday words of the news (``year``, ``president``) from the rare
ones, and once the window holds enough articles its own counts decide. Rarity is capped
(``IDF_CAP``): past one article in twenty, a word's rarity is mostly its oddity. Headline
tokens weigh more than summary tokens, since many feeds carry a headline only and a summary
often opens with background.

Candidates come from an inverted index of the tokens in Redis (one sorted set per token,
scored by publication time), read only for tokens that are rare in the window; the stories of
the best candidates are then scored as a whole.

Whether an article joins a candidate story is decided by the story model
(:mod:`peacewatch.pipeline.story_model`): a logistic model over a few signals, fitted on
hand-labelled stories. The main signal is the story-level word score: each token weighed by the
share of the story's members that carry it, the geometric mean of how much of the article's
weight the story carries and how much of the story's weighted vocabulary the article carries,
damped until the shared tokens carry enough rare weight (two headlines that share only
"Ukraine" and "talks" are not one story); reports with no word in common but several shared
entities and numbers (one event in two languages) are also scored on those alone. Beside it:
the best word score against a single member; the best weighted overlap of the headlines alone;
the largest of those three scores weighed by how close in time the article is to the story
(news of one development comes in a burst); the rare weight and the figures shared; whether
the languages differ; and the story's size. Time never joins reports on its own: when all three
word scores are below ``WORD_FLOOR`` an article does not join. The article joins the story with
the highest probability if it reaches the threshold (the model's, or the one configured); a
copy of a member's headline or text always joins that member's story.

Time window: an article joins a story only through members published within ``window`` of it
(before or after: feeds deliver out of order). A story therefore lives on while outlets keep
reporting it, and two similar events weeks apart stay two stories.

Syndicated copies (wire reprints with small edits, re-headlines of the same text) are marked
with ``duplicate_of``, the article they copy.

Every replica shares the state: assignments run under a Redis lock, so two replicas never open
two stories for one event at the same moment, and a restarted process finds its stories again.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from peacewatch.errors import StoreError
from peacewatch.models import Article
from peacewatch.pipeline.story_model import StoryModel, builtin_model
from peacewatch.store import keys

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from peacewatch.rules.engine import RuleEngine

__all__ = [
    "Background",
    "Features",
    "Placement",
    "StoryAssignment",
    "StoryIndex",
    "decisions",
    "features",
    "group",
    "placements",
    "similarity",
]

RETENTION = timedelta(days=14)
"""How long story state stays in Redis after its last write."""
STEM = 6
MAX_INDEX_TOKENS = 64
MAX_CANDIDATES = 40
"""Articles read from the index per assignment (the most rare tokens shared first)."""
MAX_STORIES = 8
"""Stories of those candidates that are scored as a whole."""
RARE_SHARE = 0.2
"""Tokens carried by more than this share of the window's articles do not find candidates."""
PRIOR_WEIGHT = 10.0
"""Pseudo-articles of background frequency added to the window's counts."""
UNSEEN_SHARE = 0.5
"""A token the background never saw counts as seen in this share of one background article."""
IDF_CAP = 3.0
"""Rarity beyond this (one article in 20) says no more: past it, it is mostly a word's oddity,
and one odd word in a headline must not outweigh the three common ones it shares with a story."""
BODY_WEIGHT = 0.5
"""Weight of a summary token against a headline token."""
ENTITY_WEIGHT = 1.0
"""Weight of an entity id against a word (its rarity already speaks for it)."""
EVIDENCE = 8.0
"""Shared IDF weight (three or four uncommon tokens) below which a score is scaled down."""
NAMED_EVIDENCE = 4
"""Shared entities and numbers that let two reports with almost no word in common meet."""
MAX_MEMBER_FEATURES = 64
"""Members whose features a story keeps for comparison; later members still join it."""
SUMMARY_CHARS = 400
WORD_FLOOR = 0.1
"""The word score (story, best single member or headline) below which an article never joins
a story, whatever the model says."""
BURST_HOURS = 12.0
"""Time scale of a news burst: the word score counts in full at once, by 1/e twelve hours on."""

# Function words and newsroom filler of the languages the feeds carry. They say nothing about
# which event a report is about, and in a small window the IDF alone cannot yet tell.
_STOPWORD_TEXT = """
the and for with from that this these those have has had will would could should about after
before over into than then them they their there what when where which while who whom whose
why how not are was were been being its it's his her him she our out off more most also just
only very can may might must says said say new news live latest update updates video watch
analysis opinion report reports here what's amid ahead against under during submitted link
comments och att som med den det för från till inte har hade ska kan vill efter inför mot
enligt eller också när där här vad hur men var blir blev nya nytt direkt uppgifter der die das
und mit von für auf ist nicht ein eine einen dem den des zum zur sich auch nach bei aus wie als
noch über vor wird werden hat sind nie się jest oraz dla przez przed jak czy już tak ale który
która które jego jej ich może będzie został została po od do na za ze we что это как для так
его она они при или уже еще был была были будет после перед также що це як для вже був була
були буде після перед також або
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"\w+")
_APOSTROPHES = str.maketrans({c: "" for c in "'’‘ʼ`´"} | {"ё": "е"})


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """Where an article went: its story and what the story looks like now."""

    story_id: str
    is_new: bool
    """This article started the story (also on a repeated assignment of that same article)."""
    size: int
    """Articles in the story after this one."""
    outlets: tuple[str, ...]
    """Distinct outlets (source domains, or outlet names when the source is empty), first first."""
    first_article_id: str
    duplicate_of: str | None
    """The story member this article is a syndicated copy or a near-identical re-headline of."""


@dataclass(frozen=True, slots=True)
class Features:
    """What story clustering compares of an article."""

    article_id: str
    published: float
    """Epoch seconds."""
    title: str
    """Normalised headline without the aggregator's ``- Outlet`` suffix."""
    summary: str
    """Normalised start of the summary (for spotting syndicated copies)."""
    title_tokens: frozenset[str]
    """The tokens of the headline (a subset of ``tokens``)."""
    tokens: frozenset[str]
    """Stems (``s:``), entity ids (``e:``) and numbers (``n:``) of headline and summary."""
    lang: str = ""
    """Two-letter language code, empty when unknown."""

    def to_json(self) -> str:
        return json.dumps(
            [
                self.article_id,
                self.published,
                self.title,
                self.summary,
                sorted(self.title_tokens),
                sorted(self.tokens - self.title_tokens),
                self.lang,
            ],
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Features:
        aid, published, title, summary, head, rest, *more = json.loads(text)
        head_set = frozenset(head)
        lang = str(more[0]) if more else ""
        return cls(
            aid, float(published), title, summary, head_set, head_set | frozenset(rest), lang
        )


# Features --------------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)


def strip_outlet_suffix(title: str, outlet: str, source: str) -> str:
    """The headline without trailing ``- Outlet`` parts that name the article's own outlet."""
    names = {_squash(outlet), _squash(source), _squash(source.rsplit(".", 1)[0])} - {""}
    for _ in range(3):  # "DN Direkt - Rubio: ... - DN.se - DN" carries two
        head, sep, tail = title.rpartition(" - ")
        if not sep or not head.strip():
            break
        squashed = _squash(tail)
        if not squashed or not any(squashed in n or n in squashed for n in names):
            break
        title = head
    return title.strip()


def _squash(text: str) -> str:
    return "".join(_WORD.findall(_norm(text)))


def entity_engine(names: Mapping[str, str]) -> RuleEngine:
    """The rule engine's matcher over ``names`` (name -> entity id), without rules."""
    from peacewatch.rules.engine import RuleEngine
    from peacewatch.rules.entities import Entity, EntityDictionary

    by_id: dict[str, list[str]] = {}
    for name, entity_id in names.items():
        if name.strip():
            by_id.setdefault(entity_id, []).append(name)
    dictionary = EntityDictionary(Entity(e, "actor", tuple(n)) for e, n in by_id.items())
    return RuleEngine.compile([], dictionary=dictionary)


def _summary_text(article: Article, title: str) -> str:
    summary = article.summary[:SUMMARY_CHARS]
    # Google News repeats the headline at the start of its summary.
    if title and _squash(summary).startswith(_squash(title)):
        summary = summary[len(title) :]
    return summary


def _text_tokens(text: str) -> set[str]:
    out: set[str] = set()
    for word in _WORD.findall(_norm(text)):
        if word.isdigit():
            number = word.lstrip("0")
            if number:
                out.add("n:" + number)
        elif word not in _STOPWORDS and len(word) >= 3:
            out.add("s:" + _plural_less(word)[:STEM])
    return out


def _plural_less(word: str) -> str:
    """``troops`` -> ``troop``: a plural -s off a word of four letters or more (not -ss, -us,
    -is), so that the singular and the plural of a short word meet; longer words already meet
    in their first ``STEM`` letters."""
    if len(word) >= 4 and word[-1] == "s" and word[-2] not in "siu" and word.isalpha():
        return word[:-1]
    return word


def _with_entities(tokens: set[str], entity_ids: Iterable[str]) -> set[str]:
    """``tokens`` plus the entities, less the stems that spell an entity's id: ``Putin`` is
    one piece of evidence, not two."""
    out = set(tokens)
    for entity in entity_ids:
        out.add("e:" + entity)
        out.difference_update("s:" + w[:STEM] for w in entity.split("_") if len(w) >= 3)
    return out


def features(article: Article, entities: RuleEngine | None = None) -> Features:
    """The features of ``article`` (pure; never raises)."""
    title = strip_outlet_suffix(article.title, article.outlet, article.source)
    summary = _summary_text(article, title)
    head = _text_tokens(title)
    body = _text_tokens(summary)
    if entities is not None:
        probe = Article(article.id, title, "", article.published, "", summary="")
        head = _with_entities(head, entities.entities_of(probe))
        probe = Article(article.id, "", "", article.published, "", summary=summary)
        body = _with_entities(body, entities.entities_of(probe))
    return Features(
        article_id=article.id,
        published=article.published.timestamp(),
        title=" ".join(_WORD.findall(_norm(title))),
        summary=" ".join(_WORD.findall(_norm(summary))[:60]),
        title_tokens=frozenset(head),
        tokens=frozenset(head | body),
        lang=(article.lang or "")[:2].lower(),
    )


# Rarity ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Background:
    """Document frequencies of tokens in a general news corpus: the prior of every IDF."""

    documents: int
    frequency: Mapping[str, int]

    def share(self, token: str) -> float:
        if self.documents <= 0:
            return 0.01
        return (self.frequency.get(token, 0) + UNSEEN_SHARE) / (self.documents + 1)

    @classmethod
    def from_json(cls, text: str) -> Background:
        data = json.loads(text)
        return cls(int(data["documents"]), {str(k): int(v) for k, v in data["df"].items()})


@functools.cache
def builtin_background() -> Background:
    """The background shipped with the package, or an empty one if it is missing."""
    try:
        path = resources.files("peacewatch.pipeline") / "data" / "idf.json"
        return Background.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return Background(0, {})


def idf_table(
    tokens: Iterable[str], counts: Mapping[str, int], total: int, background: Background
) -> dict[str, float]:
    """Inverse document frequency of ``tokens`` in a window of ``total`` articles.

    ``PRIOR_WEIGHT`` pseudo-articles with the background's frequencies are added to the
    window's counts, so that an index with few articles (after a fresh start) still knows
    common words from rare ones, and a large window speaks for itself.
    """
    out: dict[str, float] = {}
    for t in tokens:
        share = (counts.get(t, 0) + PRIOR_WEIGHT * background.share(t)) / (total + PRIOR_WEIGHT)
        out[t] = min(IDF_CAP, max(0.0, -math.log(min(share, 1.0))))
    return out


# Scoring ---------------------------------------------------------------------------------------
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
    carried: Counter[str] = Counter(t for m in members for t in m.tokens)
    shared = [t for t in article.tokens if t in carried]
    score = _shares(_weights(article, idf), carried, shared, len(members), idf)
    named = [t for t in shared if not t.startswith("s:")]
    if len(named) >= NAMED_EVIDENCE and len(shared) == len(named):
        # No word in common but the same actors, places and figures: one event told in
        # two languages. Within one language the words already speak.
        weights = {t: w for t, w in _weights(article, idf).items() if not t.startswith("s:")}
        story = {t: c for t, c in carried.items() if not t.startswith("s:")}
        score = max(score, _shares(weights, story, named, len(members), idf))
    return score


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
    return lexical_score(a, [b], idf)


def headline_similarity(a: Features, b: Features, idf: Mapping[str, float]) -> float:
    """How much of their weight two headlines share (weighted Dice, 0 to 1): two outlets'
    headlines of one development often share most of their rare words while their summaries
    open with different background."""
    total = sum(idf.get(t, 0.0) for t in a.title_tokens) + sum(
        idf.get(t, 0.0) for t in b.title_tokens
    )
    shared = sum(idf.get(t, 0.0) for t in a.title_tokens & b.title_tokens)
    return 2 * shared / total if total else 0.0


def story_signals(
    article: Features, members: Sequence[Features], idf: Mapping[str, float]
) -> dict[str, float]:
    """The signals of :mod:`peacewatch.pipeline.story_model` for ``article`` and a story of
    ``members`` (at least one)."""
    carried = {t for m in members for t in m.tokens}
    shared = article.tokens & carried
    hours = min(abs(article.published - m.published) for m in members) / 3600
    # An unknown language counts as the same: most reports a feed carries share its language.
    same = sum(1 for m in members if not (article.lang and m.lang) or m.lang == article.lang)
    lexical = lexical_score(article, members, idf)
    closest = max(similarity(article, m, idf) for m in members)
    headline = max(headline_similarity(article, m, idf) for m in members)
    return {
        "lexical": lexical,
        "closest": closest,
        "headline": headline,
        "burst": max(lexical, closest, headline) * math.exp(-hours / BURST_HOURS),
        "shared_weight": math.log1p(sum(idf.get(t, 0.0) for t in shared)),
        "same_language": same / len(members),
        "shared_numbers": float(min(3, sum(1 for t in shared if t.startswith("n:")))),
        "members": math.log1p(len(members)),
    }


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


def is_copy(a: Features, b: Features) -> bool:
    """``a`` is a syndicated copy or a re-headline of ``b``: same headline or the same text."""
    if a.title and b.title and fuzz.ratio(a.title, b.title) >= 90:
        return True
    return (
        len(a.summary) >= 40
        and len(b.summary) >= 40
        and fuzz.ratio(a.summary, b.summary) >= 90
        and fuzz.token_set_ratio(a.title, b.title) >= 60
    )


def _window_ok(a: Features, b: Features, window: timedelta) -> bool:
    return abs(a.published - b.published) <= window.total_seconds()


def near_members(
    article: Features, members: Iterable[Features], window: timedelta
) -> list[Features]:
    """The members of a story that ``article`` may join it through."""
    return [
        m for m in members if m.article_id != article.article_id and _window_ok(article, m, window)
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
    best: tuple[float, str, str | None] | None = None
    for story_id, members in stories.items():
        near = near_members(article, members, window)
        copied = next((m.article_id for m in near if is_copy(article, m)), None)
        # A copy of a member's headline or text is that story, however late it comes.
        score = 1.0 if copied else story_score(article, near, idf, model)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, story_id, copied)
    if best is None:
        return None, None
    return best[1], best[2]


def story_id_for(article_id: str) -> str:
    """A story's id, derived from the article that started it."""
    return hashlib.sha1(article_id.encode()).hexdigest()[:16]  # noqa: S324 - a name, not a secret


def _outlet(article: Article) -> str:
    return article.source or article.outlet


def _rare_limit(total: int) -> float:
    return max(3.0, RARE_SHARE * total)


def _stories_of(evidence: Mapping[tuple[str, str], float]) -> list[str]:
    """Story ids of the ``MAX_CANDIDATES`` candidate articles with the most rare weight in
    common with the article, best first, at most ``MAX_STORIES`` of them."""
    out: list[str] = []
    ranked = sorted(evidence.items(), key=lambda kv: (-kv[1], kv[0]))
    for (story_id, _), _ in ranked[:MAX_CANDIDATES]:
        if story_id not in out:
            out.append(story_id)
    return out[:MAX_STORIES]


# In memory -------------------------------------------------------------------------------------
class _Memory:
    """The state of an in-memory index, kept as :class:`StoryIndex` keeps it in Redis: the
    articles of each token in publication order, and the members of each story."""

    def __init__(self, window: timedelta, engine: RuleEngine | None, prior: Background) -> None:
        self.window, self.engine, self.prior = window, engine, prior
        self.times: list[float] = []
        self.postings: dict[str, list[tuple[float, str, str]]] = {}
        self.members: dict[str, list[Features]] = {}

    def _count(self, token: str, low: float, high: float) -> int:
        entries = self.postings.get(token, [])
        return bisect.bisect_right(entries, (high, "\uffff")) - bisect.bisect_left(
            entries, (low, "")
        )

    def candidates(self, feats: Features) -> tuple[dict[str, list[Features]], dict[str, float]]:
        """The candidate stories of ``feats`` (as :class:`StoryIndex` finds them) and the IDF."""
        span = self.window.total_seconds()
        low, high = feats.published - span, feats.published + span
        total = bisect.bisect_right(self.times, high) - bisect.bisect_left(self.times, low)
        counts = {t: self._count(t, low, high) for t in _index_tokens(feats)}
        rare = [t for t, c in counts.items() if 0 < c <= _rare_limit(total)]
        idf_rare = idf_table(rare, counts, total, self.prior)
        evidence: dict[tuple[str, str], float] = {}
        for token in rare:
            entries = self.postings[token]
            start = bisect.bisect_left(entries, (low, ""))
            for published, story, article_id in entries[start:]:
                if published > high:
                    break
                key = (story, article_id)
                evidence[key] = evidence.get(key, 0.0) + idf_rare[token]
        chosen = {
            s: sorted(self.members[s], key=lambda f: f.published) for s in _stories_of(evidence)
        }
        vocabulary = feats.tokens.union(*(f.tokens for fs in chosen.values() for f in fs))
        counts |= {t: self._count(t, low, high) for t in vocabulary - counts.keys()}
        return chosen, idf_table(vocabulary, counts, total, self.prior)

    def add(self, story: str, feats: Features) -> None:
        bisect.insort(self.times, feats.published)
        for token in _index_tokens(feats):
            bisect.insort(
                self.postings.setdefault(token, []), (feats.published, story, feats.article_id)
            )
        members = self.members.setdefault(story, [])
        if len(members) < MAX_MEMBER_FEATURES:  # as the Redis index keeps them
            members.append(feats)


def group(
    articles: Iterable[Article],
    window: timedelta = timedelta(hours=48),
    entity_names: Mapping[str, str] | None = None,
    threshold: float | None = None,
    background: Background | None = None,
    model: StoryModel | None = None,
) -> dict[str, str]:
    """Article id -> story id for ``articles`` taken in the order given, without Redis.

    The same decisions as :class:`StoryIndex` (same features, candidates, scores and window).
    """
    placed = placements(articles, window, entity_names, threshold, background, model)
    return {p.article_id: p.story_id for p in placed}


@dataclass(frozen=True, slots=True)
class Placement:
    """Where :func:`placements` put an article."""

    article_id: str
    story_id: str
    closest: str | None
    """The member of the story most like the article (its word score), None if it started it."""


def placements(
    articles: Iterable[Article],
    window: timedelta = timedelta(hours=48),
    entity_names: Mapping[str, str] | None = None,
    threshold: float | None = None,
    background: Background | None = None,
    model: StoryModel | None = None,
) -> list[Placement]:
    """:func:`group`'s decisions one by one, each with the member it is most like."""
    engine = entity_engine(entity_names) if entity_names else None
    memory = _Memory(window, engine, builtin_background() if background is None else background)
    out: list[Placement] = []
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            continue
        seen.add(article.id)
        feats = features(article, engine)
        chosen, idf = memory.candidates(feats)
        story, _ = best_story(feats, chosen, idf, window, threshold, model)
        closest = None
        if story is not None:
            near = near_members(feats, chosen[story], window)
            closest = max(near, key=lambda m: similarity(feats, m, idf)).article_id
        story = story or story_id_for(article.id)
        out.append(Placement(article.id, story, closest))
        memory.add(story, feats)
    return out


def decisions(
    articles: Iterable[Article],
    gold: Mapping[str, str],
    window: timedelta = timedelta(hours=48),
    entity_names: Mapping[str, str] | None = None,
) -> list[tuple[str, dict[str, float], bool]]:
    """The choices an online clustering faces on labelled ``articles``, for fitting a model.

    Articles are taken in the order given and placed in their labelled story (``gold``:
    article id -> story id); before that, each is scored against every candidate story the
    index finds for it. Rows: (article id, signals, whether the candidate is its story).
    """
    engine = entity_engine(entity_names) if entity_names else None
    memory = _Memory(window, engine, builtin_background())
    rows: list[tuple[str, dict[str, float], bool]] = []
    for article in articles:
        feats = features(article, engine)
        chosen, idf = memory.candidates(feats)
        for story, members in chosen.items():
            near = near_members(feats, members, window)
            if not near:
                continue
            signals = story_signals(feats, near, idf)
            if _words(signals) >= WORD_FLOOR:
                rows.append((article.id, signals, story == gold[article.id]))
        memory.add(gold[article.id], feats)
    return rows


# In Redis --------------------------------------------------------------------------------------
def _lock_key() -> str:
    """Lock held while one article is assigned, so that replicas do not race on one event."""
    return f"{keys.PREFIX}storylock"


def _token_key(token: str) -> str:
    """Sorted set of ``"story_id article_id"`` scored by published time, for one token."""
    return keys.story_band("tok:" + token)


def _all_key() -> str:
    """Sorted set of every indexed article id scored by published time (the IDF's total)."""
    return keys.story_band("all")


def _index_tokens(feats: Features) -> list[str]:
    # Entities, numbers and headline words say most about the event; summary words come last.
    ranked = sorted(
        feats.tokens, key=lambda t: (t[0] != "e", t not in feats.title_tokens, t[0] != "n", t)
    )
    return ranked[:MAX_INDEX_TOKENS]


class StoryIndex:
    """Assigns articles to stories; the state lives in Redis and is shared by every replica.

    ``window``: an article joins a story only through members published within ``window`` of
    it, earlier or later. ``entity_names``: normalised dictionary names -> entity id, the
    cross-language signal; optional. ``model``: the story model (default: the shipped one).
    ``threshold``: the probability an article needs to join a story (default: the model's);
    lower merges more.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        window: timedelta = timedelta(hours=48),
        entity_names: Mapping[str, str] | None = None,
        threshold: float | None = None,
        model: StoryModel | None = None,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError("the story window must be positive")
        self._redis = redis
        self._window = window
        self._model = model or builtin_model()
        self._threshold = self._model.threshold if threshold is None else check_threshold(threshold)
        self._engine = entity_engine(entity_names) if entity_names else None
        self._background = builtin_background()
        self._ttl = int((RETENTION + window).total_seconds())

    async def assign(self, article: Article) -> StoryAssignment:
        """The story of ``article``, placing it in one (new or existing) if it has none yet.

        Idempotent: a second call for the same article id returns the story it is in, with
        ``is_new`` true only if that article started the story. Raises StoreError when Redis
        cannot be reached or the assignment lock cannot be taken.
        """
        from redis.exceptions import RedisError

        feats = features(article, self._engine)
        try:
            async with self._redis.lock(_lock_key(), timeout=30, blocking_timeout=30):
                return await self._assign_locked(article, feats)
        except RedisError as exc:
            raise StoreError(f"story assignment of {article.id} failed: {exc}") from exc

    async def members(self, story_id: str) -> list[str]:
        """Article ids of a story, oldest publication first (empty for an unknown story)."""
        from redis.exceptions import RedisError

        try:
            return list(await self._redis.zrange(keys.story_members(story_id), 0, -1))
        except RedisError as exc:
            raise StoreError(f"could not read story {story_id}: {exc}") from exc

    async def _assign_locked(self, article: Article, feats: Features) -> StoryAssignment:
        known = await self._redis.get(keys.article_story(article.id))
        if known:
            known_story, _, copy_of = str(known).partition(" ")
            return await self._describe(known_story, article.id, copy_of or None)
        story_id, duplicate_of = await self._find(feats)
        is_new = story_id is None
        chosen = story_id or story_id_for(article.id)
        await self._add(chosen, feats, _outlet(article), is_new, duplicate_of)
        return await self._describe(chosen, article.id, duplicate_of)

    async def _counts(self, tokens: Sequence[str], low: float, high: float) -> list[int]:
        pipe = self._redis.pipeline(transaction=False)
        for token in tokens:
            pipe.zcount(_token_key(token), low, high)
        return [int(c) for c in await pipe.execute()]

    async def _find(self, feats: Features) -> tuple[str | None, str | None]:
        window = self._window.total_seconds()
        low, high = feats.published - window, feats.published + window
        tokens = _index_tokens(feats)
        total = int(await self._redis.zcount(_all_key(), low, high))
        counts = dict(zip(tokens, await self._counts(tokens, low, high), strict=True))
        rare = [t for t in tokens if 0 < counts[t] <= _rare_limit(total)]
        if not rare:
            return None, None
        idf_rare = idf_table(rare, counts, total, self._background)
        pipe = self._redis.pipeline(transaction=False)
        for token in rare:
            pipe.zrangebyscore(_token_key(token), low, high)
        evidence: dict[tuple[str, str], float] = {}
        for token, entries in zip(rare, await pipe.execute(), strict=True):
            for entry in entries:
                story_id, _, article_id = str(entry).partition(" ")
                key = (story_id, article_id)
                evidence[key] = evidence.get(key, 0.0) + idf_rare[token]
        story_ids = _stories_of(evidence)
        pipe = self._redis.pipeline(transaction=False)
        for story_id in story_ids:
            pipe.hgetall(keys.story(story_id))
        stories: dict[str, list[Features]] = {}
        for story_id, fields in zip(story_ids, await pipe.execute(), strict=True):
            stories[story_id] = sorted(
                (Features.from_json(v) for k, v in fields.items() if str(k).startswith("m:")),
                key=lambda f: f.published,
            )
        vocabulary = feats.tokens.union(*(f.tokens for fs in stories.values() for f in fs))
        unknown = sorted(vocabulary - counts.keys())
        counts.update(zip(unknown, await self._counts(unknown, low, high), strict=True))
        idf = idf_table(counts, counts, total, self._background)
        return best_story(feats, stories, idf, self._window, self._threshold, self._model)

    async def _add(
        self, story_id: str, feats: Features, outlet: str, is_new: bool, duplicate_of: str | None
    ) -> None:
        story_key, members_key = keys.story(story_id), keys.story_members(story_id)
        outlets: list[str] = []
        if not is_new:
            raw, size = await _outlets_and_size(self._redis, story_key, members_key)
            outlets = json.loads(raw) if raw else []
        else:
            size = 0
        if outlet and outlet not in outlets:
            outlets.append(outlet)
        ts, ttl = feats.published, self._ttl
        stale = ts - RETENTION.total_seconds()
        pipe = self._redis.pipeline(transaction=True)
        fields: dict[str, Any] = {"outlets": json.dumps(outlets, ensure_ascii=False)}
        if is_new:
            fields |= {"first": feats.article_id, "first_published": ts}
        if size < MAX_MEMBER_FEATURES:
            fields["m:" + feats.article_id] = feats.to_json()
        pipe.hset(story_key, mapping=fields)
        pipe.zadd(members_key, {feats.article_id: ts})
        pipe.zadd(keys.stories_by_time(), {story_id: ts}, nx=True)
        pipe.zremrangebyscore(keys.stories_by_time(), "-inf", stale)
        for token in _index_tokens(feats):
            pipe.zadd(_token_key(token), {f"{story_id} {feats.article_id}": ts})
            pipe.zremrangebyscore(_token_key(token), "-inf", stale)
            pipe.expire(_token_key(token), ttl)
        pipe.zadd(_all_key(), {feats.article_id: ts})
        pipe.zremrangebyscore(_all_key(), "-inf", stale)
        pipe.set(keys.article_story(feats.article_id), f"{story_id} {duplicate_of or ''}", ex=ttl)
        for key in (story_key, members_key, keys.stories_by_time(), _all_key()):
            pipe.expire(key, ttl)
        await pipe.execute()

    async def _describe(
        self, story_id: str, article_id: str, duplicate_of: str | None
    ) -> StoryAssignment:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hmget(keys.story(story_id), ["first", "outlets"])
        pipe.zcard(keys.story_members(story_id))
        (first, outlets), size = await pipe.execute()
        first = str(first or article_id)
        return StoryAssignment(
            story_id=story_id,
            is_new=first == article_id,
            size=int(size),
            outlets=tuple(json.loads(outlets) if outlets else ()),
            first_article_id=first,
            duplicate_of=duplicate_of,
        )


async def _outlets_and_size(
    redis: aioredis.Redis, story_key: str, members_key: str
) -> tuple[str | None, int]:
    pipe = redis.pipeline(transaction=False)
    pipe.hget(story_key, "outlets")
    pipe.zcard(members_key)
    raw, size = await pipe.execute()
    return (str(raw) if raw else None), int(size)
