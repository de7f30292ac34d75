"""A realistic rule vocabulary (entities, topic phrases, corpus words) and queries drawn from it.

Queries are what teams following the talks write: an entity (``actor:witkoff``, a bare name
such as ``Zelensky`` or ``Путін``, a topic phrase such as ``"security guarantees"``) combined
with words and phrases of the news itself, with OR groups, negations (``-word``,
``-(a OR b)``), ``NEAR/n``, ``prefix*`` and ``title:`` in a fraction of the rules.

Corpus words are letters only, at least 3 long, not a stopword, and seen at least
``MIN_COUNT`` times; they are drawn with a weight of the square root of their count, so common
words come up often without every rule being about the ten commonest words of the day (plain
frequency weighting turns most rules into matches for most articles, which no team writes).
Corpus phrases are pairs of such words seen side by side at least ``MIN_COUNT`` times.
Everything is drawn from one ``random.Random(seed)``: the same inputs give the same queries.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from peacewatch.rules.entities import EntityDictionary

MIN_COUNT = 3
_LETTERS = re.compile(r"\b[^\W\d_]{3,}\b")
_PAIRS = re.compile(r"\b(?=([^\W\d_]{3,}) ([^\W\d_]{3,})\b)")
_QUERY_WORDS = frozenset({"and", "or", "not", "near"})

# Function words of the corpus languages (English, Polish, German) plus the newswire verbs and
# feed boilerplate that no one puts in a watch rule.
_STOPWORDS = """
    the and for are but not you all any can had her was one our out has his how its may new now
    old see two way who did get him let put say she too use that with have this will your from
    they know want been good much some time very when come here just like long make many more
    only over such take than them well were what into year also back after most other their
    there these which would about could first those being under while where should because
    through before between against during without within again still since until across
    another around every however including whether although among whose upon even then off
    said says told according reported report reports news today yesterday week weeks years
    day days month months per via amid says can't don't it's i'm we're he's she's they're
    read more click here watch video photo photos live updates update latest breaking
    mr mrs ms dr one two three four five six seven eight nine ten hundred thousand million
    billion percent cent last next own same both each few further once less least
    der die das und ist ein eine einen einem einer eines nicht mit sich des auf für dem den
    von sie als auch wird bei nach wie aus noch zum zur hat sind werden wurde oder aber vor
    über nur ihr ihre seine sein mehr kann man schon wenn beim durch gegen soll sollen
    się nie jest jak ale już jego jej ich przez dla tak był była było były będzie może
    oraz które który która także tylko jeszcze lub czy gdy tym tego tej przy pod nad przed
    roku lat temu według
"""
STOPWORDS = frozenset(_STOPWORDS.split())


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What queries are drawn from; every text is already a valid query term."""

    entity_refs: tuple[str, ...]
    """``actor:id``, ``place:id``, ``topic:id``."""
    entity_names: tuple[str, ...]
    """Names of entities as a bare word or a quoted phrase (``Witkoff``, ``"Steve Witkoff"``)."""
    topic_phrases: tuple[str, ...]
    """Quoted topic names (``"security guarantees"``)."""
    words: tuple[str, ...]
    word_weights: tuple[float, ...]
    """Cumulative weights of ``words`` for ``random.choices``."""
    phrases: tuple[str, ...]
    """Quoted corpus bigrams (``"energy prices"``)."""


def _is_bare_word(name: str) -> bool:
    return all(c.isalnum() for c in name)


def _quote(text: str) -> str:
    return f'"{text}"'


def build_vocabulary(texts: Iterable[str], dictionary: EntityDictionary) -> Vocabulary:
    """The vocabulary of a corpus (NFKC, case-folded, as the matcher reads it) and a dictionary."""
    words: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    skip = STOPWORDS | _QUERY_WORDS
    for text in texts:
        norm = unicodedata.normalize("NFKC", text).casefold()
        words.update(_LETTERS.findall(norm))
        pairs.update(p for p in _PAIRS.findall(norm) if p[0] not in skip and p[1] not in skip)
    for word in skip:
        words.pop(word, None)
    kept = sorted((w for w, n in words.items() if n >= MIN_COUNT), key=lambda w: (-words[w], w))
    cumulative = tuple(itertools.accumulate(math.sqrt(words[w]) for w in kept))
    phrases = tuple(
        _quote(f"{a} {b}") for (a, b) in sorted(p for p, n in pairs.items() if n >= MIN_COUNT)
    )
    refs: list[str] = []
    names: list[str] = []
    topics: list[str] = []
    for entity in dictionary.entities():
        refs.append(f"{entity.kind}:{entity.id}")
        for name in entity.names:
            if _is_bare_word(name):
                names.append(name)
            elif '"' not in name:
                names.append(_quote(name))
            if entity.kind == "topic" and '"' not in name:
                topics.append(_quote(name))
    if not kept:
        raise ValueError("the corpus holds no word seen often enough to draw rules from")
    return Vocabulary(
        entity_refs=tuple(refs),
        entity_names=tuple(names),
        topic_phrases=tuple(topics),
        words=tuple(kept),
        word_weights=cumulative,
        phrases=phrases or tuple(_quote(w) for w in kept[:10]),
    )


class QueryMaker:
    """Draws queries from a vocabulary; deterministic for a given seed."""

    def __init__(self, vocabulary: Vocabulary, seed: int) -> None:
        self.v = vocabulary
        self.rng = random.Random(seed)

    def word(self) -> str:
        weights = self.v.word_weights
        index = bisect.bisect_right(weights, self.rng.random() * weights[-1])
        return self.v.words[min(index, len(self.v.words) - 1)]

    def entity(self) -> str:
        roll = self.rng.random()
        if roll < 0.35:
            return self.rng.choice(self.v.entity_refs)
        if roll < 0.85:
            return self.rng.choice(self.v.entity_names)
        return self.rng.choice(self.v.topic_phrases)

    def phrase(self) -> str:
        if self.rng.random() < 0.3:
            return self.rng.choice(self.v.topic_phrases)
        return self.rng.choice(self.v.phrases)

    def single(self) -> str:
        """One term that NEAR accepts: a word, a name or a phrase (no field but ``title:``)."""
        roll = self.rng.random()
        if roll < 0.55:
            return self.word()
        if roll < 0.8:
            name = self.rng.choice(self.v.entity_names)
            return name
        return self.phrase()

    def term(self) -> str:
        roll = self.rng.random()
        if roll < 0.5:
            text = self.word()
        elif roll < 0.75:
            text = self.entity()
        elif roll < 0.93:
            text = self.phrase()
        else:
            word = self.word()
            return word[: max(4, len(word) - 3)] + "*"
        if self.rng.random() < 0.05 and ":" not in text:
            return f"title:{text}"
        return text

    def group(self, size: int) -> str:
        return "(" + " OR ".join(self.term() for _ in range(size)) + ")"

    def query(self) -> str:
        rng = self.rng
        shape = rng.random()
        if shape < 0.30:
            parts = [self.entity(), self.term()]
        elif shape < 0.45:
            parts = [self.entity(), self.group(rng.randint(2, 4))]
        elif shape < 0.55:
            parts = [self.group(rng.randint(2, 3)), self.group(rng.randint(2, 3))]
        elif shape < 0.70:
            parts = [self.term(), self.term()]
            if rng.random() < 0.5:
                parts.append(self.term())
        elif shape < 0.85:
            left, right = self.single(), self.single()
            parts = [f"{left} NEAR/{rng.choice((3, 5, 10, 20))} {right}"]
            if rng.random() < 0.3:
                parts.append(self.entity())
        elif shape < 0.93:
            parts = [self.phrase()]
        else:
            parts = [self.entity()]
        negation = rng.random()
        if negation < 0.18:
            parts.append("-" + self.term().removeprefix("title:"))
        elif negation < 0.24:
            parts.append("-" + self.group(2))
        return " ".join(parts)

    def queries(self, count: int) -> list[str]:
        return [self.query() for _ in range(count)]


def make_queries(vocabulary: Vocabulary, count: int, seed: int) -> list[str]:
    """``count`` queries drawn from ``vocabulary``; the first n of a longer run are the same."""
    return QueryMaker(vocabulary, seed).queries(count)


def spread(items: Sequence[str], teams: int) -> list[list[tuple[int, str]]]:
    """Deal ``items`` round-robin over ``teams`` lists, keeping each item's global index."""
    out: list[list[tuple[int, str]]] = [[] for _ in range(max(1, min(teams, len(items))))]
    for index, item in enumerate(items):
        out[index % len(out)].append((index, item))
    return out
