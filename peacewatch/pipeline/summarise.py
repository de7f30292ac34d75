"""Extractive summaries: up to three whole sentences, chosen for the matched terms."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from peacewatch.models import Article, Hit
from peacewatch.pipeline.sentences import Sentence, language_code, sentences

__all__ = [
    "MAX_CHARS",
    "MAX_SENTENCES",
    "NEAR_DUPLICATE",
    "SCAN_CHARS",
    "ArticleSummariser",
    "Candidate",
    "Sentence",
    "candidates",
    "centrality",
    "clip",
    "content_tokens",
    "join_sentences",
    "language_code",
    "near_duplicate",
    "pick",
    "same_fact",
    "sentences",
    "summarise",
    "term_forms",
    "terms_in",
]

MAX_SENTENCES = 3
MAX_CHARS = 600
SCAN_CHARS = 4000
"""Only the first this many characters of a body are split: the lead of a news article holds its
summary."""
NEAR_DUPLICATE = 85.0
"""rapidfuzz token-set ratio (0-100) from which two sentences say the same thing."""

_WORD = re.compile(r"\w{3,}")
_STEM = 6
_STOPWORD_TEXT = """
    the and for that with from this have has had was were are been will would could should
    said says say also about after before into over than then them they their there these those
    what when where which while who whom whose why how its his her our your not but all any can
    more most some such only other one two new very just like out off per via
    и в во на не что как это по из за от для но то же бы ли его ее её их они она он мы вы
    так уже еще ещё при до со об или а также этот эта эти был была были будет
    і та що це як від для але щоб які який яка також вже ще або бути був була було
    der die das und ist nicht mit von den dem des ein eine einer auf für sich auch
    les des une est pas que qui dans pour par sur avec
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_LINK = re.compile(r"https?://|www\.\w", re.IGNORECASE)
"""A link, looked for only in a sentence with ``://`` or ``www.``."""
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.\w")
"""An address, looked for only in a sentence with an @: trying it at every word costs more than
the rest of the sentence's checks together."""
# Feed furniture that the splitter hands back as sentences; matched at the start of a sentence.
_BOILERPLATE = re.compile(
    r"^(continue reading|keep reading|read more|read the full|subscribe|sign up|follow us|"
    r"click here|watch:|listen:|photo:|image:|advertisement|sponsored|what we know on day|"
    r"the post .* appeared first|submitted by /?u/|\[link\]|\[comments\]|watch (the )?video|"
    r"video below|get our breaking news email|follow our .{0,60}live blog)",
    re.IGNORECASE,
)
_TRUNCATION = re.compile(r"\s*(\[\s*(?:…|\.\.\.)\s*\]|\(\s*(?:…|\.\.\.)\s*\))\s*$")
_DATELINE = re.compile(
    r"^[A-ZА-ЯІЇЄҐ][A-ZА-ЯІЇЄҐ.'’ -]{1,40}(?:,[\w.' -]{1,40})?\s*"
    r"\((?:AFP|AP|Reuters|dpa|ANSA|EFE|PAP|Ukrinform|Interfax|TASS|РИА Новости|Укрінформ)\)"
    r"\s*(?:--|[-–—:])\s*"
)
_SYMBOLS = frozenset(("So", "Sk", "Sm", "Cs", "Co"))
_TERMINAL = frozenset(".!?…:;\"'”’»)]")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence of an article that could go into a summary."""

    index: int
    """Position among the article's sentences, 0 for the first."""
    sentence: Sentence
    tokens: frozenset[str]
    junk: bool
    """Too short to say anything, or a cut-off ending."""

    @property
    def text(self) -> str:
        return self.sentence.text


def clip(text: str, limit: int) -> str:
    """``text`` with whitespace collapsed, cut to at most ``limit`` characters with an ellipsis.

    The cut falls between words; only a single word longer than the whole limit is cut inside.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…" if limit == 1 else ""
    cut = text[: limit - 1]
    if text[limit - 1] != " ":  # the limit falls inside a word: drop that word
        space = cut.rfind(" ")
        if space > 0:
            cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def content_tokens(text: str) -> frozenset[str]:
    """The content words of ``text``, case-folded and cut to a common stem, for overlap measures
    that do not care about inflection (``deploy``/``deploying``, ``переговоры``/``переговорах``)."""
    return frozenset(
        word[:_STEM] for word in map(str.casefold, _WORD.findall(text)) if word not in _STOPWORDS
    )


def near_duplicate(a: str, b: str, threshold: float = NEAR_DUPLICATE) -> bool:
    """Whether two sentences say the same thing: one's words are (nearly) all in the other."""
    return fuzz.token_set_ratio(a, b, processor=str.casefold, score_cutoff=threshold) > 0


def _is_furniture(sent: Sentence) -> bool:
    """A link, a sign-up line, a run of hashtags or an emoji-led line: never part of a summary."""
    words = sent.text.split()
    if not any(ch.isalpha() for ch in sent.text):
        return True
    text = sent.text
    linked = "://" in text or "www." in text.lower()
    if (linked and _LINK.search(text)) or ("@" in text and _EMAIL.search(text)):
        return True
    if _BOILERPLATE.match(sent.text):
        return True
    tagged = "#" in sent.text or "@" in sent.text
    if tagged and sum(w.startswith(("#", "@")) for w in words) * 2 >= len(words):
        return True
    return unicodedata.category(sent.text[0]) in _SYMBOLS


def _is_weak(sent: Sentence, text: str, last: bool) -> bool:
    """Too short to say anything, or the stump of a body that stops mid-sentence (feeds cut
    descriptions at a fixed length): used only when nothing better is there."""
    if len(sent.text.split()) < 3:
        return True
    return last and sent.end >= len(text.rstrip()) and sent.text[-1] not in _TERMINAL


def _scan_text(body: str) -> str:
    body = _TRUNCATION.sub("", body)
    if len(body) <= SCAN_CHARS:
        return body
    head = body[:SCAN_CHARS]
    cut = max(head.rfind("\n"), head.rfind(". "))
    return head[: cut + 1] if cut > SCAN_CHARS // 2 else head


def candidates(article: Article) -> list[Candidate]:
    """The sentences of the article body (its lead, for very long bodies) that could go into a
    summary; weak ones are marked ``junk``, feed furniture is left out.

    Offsets are those of ``article.body``, so body hits can be placed in them.
    """
    text = _scan_text(article.body)
    sents = sentences(text, article.lang)
    return [
        Candidate(i, s, content_tokens(s.text), _is_weak(s, text, i == len(sents) - 1))
        for i, s in enumerate(sents)
        if not _is_furniture(s)
    ]


def term_forms(hits: Iterable[Hit]) -> dict[str, set[str]]:
    """For each matched term, the case-folded surface forms it was found as."""
    forms: dict[str, set[str]] = {}
    for hit in hits:
        if hit.text.strip():
            forms.setdefault(hit.term, set()).add(hit.text.strip().casefold())
    return forms


def terms_in(cand: Candidate, body_hits: Sequence[Hit], forms: dict[str, set[str]]) -> set[str]:
    """The matched terms that occur in the candidate sentence: by hit offset, or, for terms
    found elsewhere (the title, another article of the story), by one of their surface forms."""
    span = cand.sentence
    found = {h.term for h in body_hits if span.start <= h.start < span.end}
    folded = span.text.casefold()
    found.update(
        term
        for term, texts in forms.items()
        if term not in found and any(_contains(folded, t) for t in texts)
    )
    return found


def _contains(text: str, form: str) -> bool:
    if len(form) >= 4:
        return form in text  # a prefix of an inflected form counts (переговор- in переговорах)
    return re.search(rf"(?<!\w){re.escape(form)}(?!\w)", text) is not None  # "UN" not in "under"


def centrality(cand: Candidate, others: Iterable[frozenset[str]]) -> float:
    """Share of the candidate's content words that the other texts also use (0-1)."""
    if not cand.tokens:
        return 0.0
    union: set[str] = set()
    for tokens in others:
        union.update(tokens)
    return len(cand.tokens & union) / len(cand.tokens)


def same_fact(a: Candidate, b: Candidate) -> bool:
    """Whether two candidates say the same thing: near-duplicates, or one restating the other."""
    return near_duplicate(a.text, b.text) or _restates(a, b)


def pick(
    scored: Sequence[tuple[float, Candidate]],
    max_sentences: int,
    max_chars: int,
    same: Callable[[Candidate, Candidate], bool] = same_fact,
) -> list[Candidate]:
    """The best candidates that fit ``max_chars`` together, skipping those that ``same`` finds
    say what one already chosen says, and junk unless nothing else is left."""
    ranked = sorted(scored, key=lambda s: (s[1].junk, -s[0], s[1].index))
    chosen: list[Candidate] = []
    total = 0
    for _, cand in ranked:
        if len(chosen) >= max_sentences or (cand.junk and chosen):
            break
        length = len(cand.text) + 2  # with the space and the full stop join_sentences may add
        if total + length > max_chars + 2:
            continue
        if any(same(cand, c) for c in chosen):
            continue
        chosen.append(cand)
        total += length
    if not chosen and ranked:
        chosen = [ranked[0][1]]  # every sentence is over the limit: the best one, clipped
    return chosen


RESTATED_SHARE = 0.75
"""Two sentences whose shorter one has this share of its content words in the other restate
one fact (two outlets' wordings of the same appointment): a summary keeps one of them."""


def _restates(a: Candidate, b: Candidate) -> bool:
    shorter = min(len(a.tokens), len(b.tokens))
    return shorter >= 4 and len(a.tokens & b.tokens) >= RESTATED_SHARE * shorter


def join_sentences(texts: Iterable[str]) -> str:
    """Sentences joined by a space; one that lacks end punctuation (a standfirst, a heading) gets
    a full stop so that it does not run into the next. A wire dateline that opens a sentence
    (``PARIS (AFP) --``) is dropped: the alert names its source anyway."""
    parts = [_DATELINE.sub("", t).strip() for t in texts]
    parts = [t for t in parts if t]
    return " ".join(
        t if i == len(parts) - 1 or t[-1] in _TERMINAL else t + "." for i, t in enumerate(parts)
    )


def summarise(
    article: Article,
    hits: Sequence[Hit] = (),
    max_sentences: int = MAX_SENTENCES,
    max_chars: int = MAX_CHARS,
) -> str:
    """Up to ``max_sentences`` sentences of the article body, in their original order, at most
    ``max_chars`` characters, never cutting a word. Sentences that hold matched terms come first,
    then early ones, ones that share words with the headline, and ones central to the article."""
    return ArticleSummariser(article).summary(hits, max_sentences, max_chars)


class ArticleSummariser:
    """``summarise`` for many sets of hits of one article (one per matched rule): the article is
    split into sentences and each sentence scored for position, headline words and centrality
    once; a set of hits then costs only finding the sentences that hold its terms, and hits
    that give every sentence the same number of terms share one summary."""

    def __init__(self, article: Article) -> None:
        self.article = article
        self.cands = candidates(article)
        self._folded = [c.sentence.text.casefold() for c in self.cands]
        # the sentences case-folded in one text, each from its offset: a form is looked for
        # once in it, not once in each sentence (a sentence holds no line break)
        self._all_folded = "\n".join(self._folded)
        self._folded_at: list[int] = []
        at = 0
        for text in self._folded:
            self._folded_at.append(at)
            at += len(text) + 1
        self._starts = [c.sentence.start for c in self.cands]
        title_tokens = content_tokens(article.title)
        # a word of one sentence is in another when more than one sentence has it: centrality
        # from one count instead of a union of the others for every sentence
        sentences_with = Counter(token for c in self.cands for token in c.tokens)
        self._parts: list[tuple[float, float, float, bool]] = []
        for cand in self.cands:
            overlap = len(cand.tokens & title_tokens) / (len(title_tokens) or 1)
            shared = sum(sentences_with[token] > 1 for token in cand.tokens)
            central = shared / len(cand.tokens) if cand.tokens else 0.0
            self._parts.append((overlap, 1.0 / (1 + cand.index), central, len(cand.text) < 25))
        self._with_form: dict[str, frozenset[int]] = {}
        self._done: dict[tuple[tuple[int, ...], int, int], str] = {}
        self._same_pairs: dict[tuple[int, int], bool] = {}

    def summary(
        self,
        hits: Sequence[Hit] = (),
        max_sentences: int = MAX_SENTENCES,
        max_chars: int = MAX_CHARS,
    ) -> str:
        """What ``summarise(article, hits, max_sentences, max_chars)`` returns."""
        if not self.cands:
            return ""
        counts = tuple(len(terms) for terms in self._terms(hits))
        key = (counts, max_sentences, max_chars)
        found = self._done.get(key)
        if found is None:
            scored = []
            for n, (overlap, early, central, short), cand in zip(
                counts, self._parts, self.cands, strict=True
            ):
                score = 3.0 * n + 1.5 * overlap + early + 0.5 * central
                if short:
                    score -= 1.0  # fragments such as bylines or datelines
                scored.append((score, cand))
            chosen = pick(scored, max_sentences, max_chars, self._same)
            text = join_sentences(c.text for c in sorted(chosen, key=lambda c: c.index))
            found = self._done[key] = clip(text, max_chars)
        return found

    def _terms(self, hits: Sequence[Hit]) -> list[set[str]]:
        """For each candidate sentence, the matched terms it holds (as ``terms_in``)."""
        out: list[set[str]] = [set() for _ in self.cands]
        starts, cands = self._starts, self.cands
        for hit in hits:
            if hit.field == "body":
                index = bisect.bisect_right(starts, hit.start) - 1
                if index >= 0 and hit.start < cands[index].sentence.end:
                    out[index].add(hit.term)
        for term, texts in term_forms(hits).items():
            for text in texts:
                for index in self._holding(text):
                    out[index].add(term)
        return out

    def _same(self, a: Candidate, b: Candidate) -> bool:
        """``same_fact``, worked out once for each pair of the article's sentences."""
        key = (a.index, b.index)
        found = self._same_pairs.get(key)
        if found is None:
            found = self._same_pairs[key] = same_fact(a, b)
        return found

    def _holding(self, form: str) -> frozenset[int]:
        """The candidates whose text holds ``form`` (as ``_contains``)."""
        found = self._with_form.get(form)
        if found is None:
            found = self._with_form[form] = frozenset(self._sentences_with(form))
        return found

    def _sentences_with(self, form: str) -> Iterable[int]:
        if "\n" in form:
            return ()
        text, starts = self._all_folded, self._folded_at
        if len(form) < 4:  # a whole word, as _contains looks for it
            pattern = rf"(?<!\w){re.escape(form)}(?!\w)"
            return {bisect.bisect_right(starts, m.start()) - 1 for m in re.finditer(pattern, text)}
        out = []
        at = text.find(form)
        while at >= 0:
            index = bisect.bisect_right(starts, at) - 1
            out.append(index)
            if index + 1 == len(starts):
                break
            at = text.find(form, starts[index + 1])
        return out
