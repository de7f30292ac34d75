"""What story clustering compares of an article: headline and summary stems, entities, numbers."""

from __future__ import annotations

import functools
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from peacewatch.models import Article

if TYPE_CHECKING:
    from peacewatch.rules.engine import RuleEngine

STEM = 6
SUMMARY_CHARS = 400

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
MAX_KNOWN_WORDS = 200_000
"""Words whose token is kept computed (most words of the news recur every day)."""
_TOKENS: dict[str, str] = {}
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(..., ensure_ascii=False)`` without building an encoder per call."""
_DROPPED = "'’‘ʼ`´"
"""Apostrophes, dropped from words (``Zelensky's`` and ``Zelenskys`` meet)."""


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
    outlet: str = ""
    """The outlet (source domain, or outlet name), empty when unknown. Not in :meth:`to_json`:
    a stored member carries its outlet beside its features."""

    def to_json(self) -> str:
        return _ENCODE(
            [
                self.article_id,
                self.published,
                self.title,
                self.summary,
                sorted(self.title_tokens),
                sorted(self.tokens - self.title_tokens),
                self.lang,
            ]
        )

    @classmethod
    def from_json(cls, text: str) -> Features:
        aid, published, title, summary, head, rest, *more = json.loads(text)
        # A rebuilt index holds every stored member: its tokens are the strings live features
        # share (one copy each), not fresh copies per member.
        head_set = frozenset(map(sys.intern, head))
        lang = sys.intern(str(more[0])) if more else ""
        return cls(
            aid,
            float(published),
            title,
            summary,
            head_set,
            head_set | frozenset(map(sys.intern, rest)),
            lang,
        )


Tokens = frozenset[str] | tuple[str, ...]
"""A member's tokens: the set of an article's features, or the tuple a story keeps."""


class Compared(Protocol):
    """What scoring reads of a story's member: :class:`Features`, or the :class:`Kept` record a
    story holds. Its token collections are only iterated, counted and looked up in the
    article's sets, never looked up in themselves."""

    @property
    def article_id(self) -> str: ...
    @property
    def published(self) -> float: ...
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def title_tokens(self) -> Tokens: ...
    @property
    def tokens(self) -> Tokens: ...
    @property
    def lang(self) -> str: ...
    @property
    def outlet(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Kept:
    """A placed article's :class:`Features` as a story keeps them for comparison: the token
    sets as tuples. The window holds every placed article's features, and a token set was the
    largest part of them (a frozenset of 26 tokens takes about 1.4 KB, their tuple 250 B);
    scoring looks a member's tokens up in the article's sets, not the other way round, so the
    tuples cost no lookups."""

    article_id: str
    published: float
    title: str
    summary: str
    title_tokens: tuple[str, ...]
    tokens: tuple[str, ...]
    lang: str = ""
    outlet: str = ""

    @classmethod
    def of(cls, feats: Features, ordered: tuple[str, ...] = ()) -> Kept:
        """``ordered``: the tokens in some order already held (the token index's tuple), kept
        instead of a tuple of their own when it holds them all."""
        tokens = ordered if len(ordered) == len(feats.tokens) else tuple(feats.tokens)
        return cls(
            feats.article_id, feats.published, feats.title, feats.summary,
            tuple(feats.title_tokens), tokens, feats.lang, feats.outlet,
        )  # fmt: skip

    def features(self) -> Features:
        """The :class:`Features` these were kept from (equal to them)."""
        return Features(
            self.article_id, self.published, self.title, self.summary,
            frozenset(self.title_tokens), frozenset(self.tokens), self.lang, self.outlet,
        )  # fmt: skip


# Features --------------------------------------------------------------------------------------
def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    # str.replace of the few characters present, not str.translate, which looks every
    # character up in a table.
    for c in _DROPPED:
        if c in text:
            text = text.replace(c, "")
    return text.replace("ё", "е") if "ё" in text else text


def strip_outlet_suffix(title: str, outlet: str, source: str) -> str:
    """The headline without trailing ``- Outlet`` parts that name the article's own outlet."""
    names = _outlet_names(outlet, source)
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


@functools.lru_cache(maxsize=4096)
def _outlet_names(outlet: str, source: str) -> frozenset[str]:
    """The squashed names an outlet's headlines may end with (a feed has few; kept computed)."""
    return frozenset({_squash(outlet), _squash(source), _squash(source.rsplit(".", 1)[0])} - {""})


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


def _summary_text(article: Article, title: str, squashed_title: str) -> tuple[str, list[str]]:
    """The start of the summary that the features read, and its normalised words."""
    summary = article.summary[:SUMMARY_CHARS]
    words = _WORD.findall(_norm(summary))
    # Google News repeats the headline at the start of its summary.
    if title and "".join(words).startswith(squashed_title):
        summary = summary[len(title) :]
        words = _WORD.findall(_norm(summary))
    return summary, words


def _text_tokens(text: str) -> set[str]:
    return _word_tokens(_WORD.findall(_norm(text)))


def _word_tokens(words: Iterable[str]) -> set[str]:
    out: set[str] = set()
    known = _TOKENS.get
    for word in words:
        token = known(word)
        if token is None:
            if len(_TOKENS) >= MAX_KNOWN_WORDS:  # a long run meets new words without end
                _TOKENS.clear()
            token = _TOKENS[word] = sys.intern(_token(word))  # shared with stored members
        if token:
            out.add(token)
    return out


def _token(word: str) -> str:
    """The token of a normalised word: ``n:`` and a number, ``s:`` and a stem, or empty (a
    function word, a word of one or two letters, zeros)."""
    if word.isdigit():
        number = word.lstrip("0")
        return "n:" + number if number else ""
    if word not in _STOPWORDS and len(word) >= 3:
        return "s:" + _plural_less(word)[:STEM]
    return ""


def word_token(word: str) -> str:
    """The story token of one word as written (see :func:`_token`)."""
    return _token(_norm(word))


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
        out.add(sys.intern("e:" + entity))
        out.difference_update("s:" + w[:STEM] for w in entity.split("_") if len(w) >= 3)
    return out


def features(article: Article, entities: RuleEngine | None = None) -> Features:
    """The features of ``article`` (pure; never raises)."""
    title = strip_outlet_suffix(article.title, article.outlet, article.source)
    title_words = _WORD.findall(_norm(title))
    summary, summary_words = _summary_text(article, title, "".join(title_words))
    head = _word_tokens(title_words)
    body = _word_tokens(summary_words)
    if entities is not None:
        # Each field on its own: a name in the headline weighs more than one in the summary.
        # An empty field names nothing, so it is not scanned.
        if title:
            probe = Article(article.id, title, "", article.published, "", summary="")
            head = _with_entities(head, entities.entities_of(probe))
        if summary:
            probe = Article(article.id, "", "", article.published, "", summary=summary)
            body = _with_entities(body, entities.entities_of(probe))
    return Features(
        article_id=article.id,
        published=article.published.timestamp(),
        title=" ".join(title_words),
        summary=" ".join(summary_words[:60]),
        title_tokens=frozenset(head),
        tokens=frozenset(head | body),
        lang=sys.intern((article.lang or "")[:2].lower()),
        outlet=sys.intern(article.source or article.outlet),
    )
