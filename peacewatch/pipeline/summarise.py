"""Extractive summaries: up to three whole sentences, chosen for the matched terms."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate

from rapidfuzz import fuzz

from peacewatch.models import Article, Hit
from peacewatch.pipeline.candidates import (
    _TERMINAL,
    SCAN_CHARS,
    Candidate,
    candidates,
    content_tokens,
    folded_candidates,
)
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
NEAR_DUPLICATE = 85.0
"""rapidfuzz token-set ratio (0-100) from which two sentences say the same thing."""

_DATELINE = re.compile(
    r"^[A-ZА-ЯІЇЄҐ][A-ZА-ЯІЇЄҐ.'’ -]{1,40}(?:,[\w.' -]{1,40})?\s*"
    r"\((?:AFP|AP|Reuters|dpa|ANSA|EFE|PAP|Ukrinform|Interfax|TASS|РИА Новости|Укрінформ)\)"
    r"\s*(?:--|[-–—:])\s*"
)


def clip(text: str, limit: int) -> str:
    """``text`` with whitespace collapsed, cut to at most ``limit`` characters with an ellipsis.

    The cut falls between words; only a single word longer than the whole limit is cut inside.
    """
    # a printable text holds no white space but the plain space: with no space at either end
    # and none doubled, it is collapsed already (most summaries are)
    if not text.isprintable() or "  " in text or text[:1] == " " or text[-1:] == " ":
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


def near_duplicate(a: str, b: str, threshold: float = NEAR_DUPLICATE) -> bool:
    """Whether two sentences say the same thing: one's words are (nearly) all in the other."""
    return fuzz.token_set_ratio(a, b, processor=str.casefold, score_cutoff=threshold) > 0


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


_NONE: frozenset[int] = frozenset()

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
    once; a set of hits then costs only finding the sentences that hold its terms (each hit placed
    once), and hits that give the same sentences the same number of terms share one summary."""

    def __init__(self, article: Article) -> None:
        self.article = article
        self.cands, folded = folded_candidates(article)
        self._folded = folded
        # the sentences case-folded in one text, each from its offset: a form is looked for
        # once in it, not once in each sentence (a sentence holds no line break)
        self._all_folded = "\n".join(folded)
        cands = self.cands
        sentences_ = [cand.sentence for cand in cands]
        self._folded_at = (
            [0, *accumulate([len(text) + 1 for text in folded[:-1]])] if folded else []
        )
        self._starts = [sentence.start for sentence in sentences_]
        self._ends = [sentence.end for sentence in sentences_]
        # with the space and the full stop join_sentences may add
        self._lengths = [len(sentence.text) + 2 for sentence in sentences_]
        self._junk = [cand.junk for cand in cands]
        title_tokens = content_tokens(article.title)
        title_count = len(title_tokens) or 1
        # a word of one sentence is in another when more than one sentence has it: centrality
        # from the words in more than one sentence instead of a union of the others for each
        seen: set[str] = set()
        shared_tokens: set[str] = set()
        for cand in cands:
            shared_tokens |= cand.tokens & seen
            seen |= cand.tokens
        # each sentence's rank key without matched terms, (junk, -score, index), as pick sorts
        keys: list[tuple[bool, float, int]] = []
        self._parts: list[tuple[float, float, float, bool]] = []
        for i, cand in enumerate(cands):
            tokens = cand.tokens
            # most sentences share no word with the headline: no set is made for them
            overlap = (
                0.0 if tokens.isdisjoint(title_tokens) else len(tokens & title_tokens) / title_count
            )
            central = len(tokens & shared_tokens) / len(tokens) if tokens else 0.0
            early = 1.0 / (1 + cand.index)
            short = len(sentences_[i].text) < 25
            self._parts.append((overlap, early, central, short))
            score = 1.5 * overlap + early + 0.5 * central  # 3.0 * 0 + ... is the same float
            if short:
                score -= 1.0
            keys.append((cand.junk, -score, i))
        self._plain_ranks = sorted(keys)
        self._plain_order = [key[2] for key in self._plain_ranks]
        # each hit's candidates by the hit's id; the hits are held so no other takes their ids
        self._places: dict[int, frozenset[int]] = {}
        self._held: list[Hit] = []
        self._with_form: dict[str, frozenset[int]] = {}
        self._done: dict[tuple[tuple[tuple[int, int], ...], int, int], str] = {}
        self._texts: dict[tuple[tuple[int, ...], int], str] = {}
        self._undated: dict[int, str] = {}
        self._same_pairs: dict[tuple[int, int], bool] = {}
        self._by_hits: dict[tuple[tuple[int, ...], int, int], tuple[tuple[Hit, ...], str]] = {}
        self._by_tuple: dict[int, tuple[Sequence[Hit], int, int, str]] = {}

    def summary(
        self,
        hits: Sequence[Hit] = (),
        max_sentences: int = MAX_SENTENCES,
        max_chars: int = MAX_CHARS,
    ) -> str:
        """What ``summarise(article, hits, max_sentences, max_chars)`` returns."""
        if not self.cands:
            return ""
        # the matches of one term carry its very tuple of hits: looked up by the tuple's id
        # first (the entry holds the tuple, so no other object can take its id)
        whole = type(hits) is tuple
        if whole:
            held = self._by_tuple.get(id(hits))
            if held is not None and held[1] == max_sentences and held[2] == max_chars:
                return held[3]
        # matches that fired the same terms carry the very same hits (``ArticleHits`` makes
        # each term's hits once): their summary is looked up by the hits' ids; the entry holds
        # the hits, so no other object can take one of those ids
        same = (tuple(map(id, hits)), max_sentences, max_chars)
        known = self._by_hits.get(same)
        if known is not None:
            found = known[1]
        else:
            found = self._summary(hits, max_sentences, max_chars)
            self._by_hits[same] = (tuple(hits), found)
        if whole:
            self._by_tuple[id(hits)] = (hits, max_sentences, max_chars, found)
        return found

    def _summary(self, hits: Sequence[Hit], max_sentences: int, max_chars: int) -> str:
        counts = self._term_counts(hits)
        key = (tuple(sorted(counts.items())), max_sentences, max_chars)
        found = self._done.get(key)
        if found is None:
            chosen = self._pick(self._ranked(counts), max_sentences, max_chars)
            at = tuple(sorted(chosen))
            found = self._texts.get((at, max_chars))
            if found is None:
                found = self._texts[at, max_chars] = clip(self._joined(at), max_chars)
            self._done[key] = found
        return found

    def _joined(self, at: tuple[int, ...]) -> str:
        """``join_sentences`` of the candidates at places ``at``, each sentence's dateline
        taken off once for all the summaries that hold it."""
        undated = self._undated
        parts = []
        for index in at:
            text = undated.get(index)
            if text is None:
                text = undated[index] = _DATELINE.sub("", self.cands[index].text).strip()
            if text:
                parts.append(text)
        last = len(parts) - 1
        return " ".join(
            t if i == last or t[-1] in _TERMINAL else t + "." for i, t in enumerate(parts)
        )

    def _term_counts(self, hits: Sequence[Hit]) -> dict[int, int]:
        """For the candidates that hold matched terms (as ``terms_in``), by their place in
        ``cands``, how many terms each holds."""
        places = self._places
        per_term: dict[str, frozenset[int]] = {}
        for hit in hits:
            where = places.get(id(hit))
            if where is None:
                where = places[id(hit)] = self._placed(hit)
                self._held.append(hit)
            if where:
                term = hit.term
                before = per_term.get(term)
                if before is None:
                    per_term[term] = where
                elif not where <= before:  # a term's hits of one form share one set
                    per_term[term] = before | where
        if len(per_term) == 1:
            return dict.fromkeys(next(iter(per_term.values())), 1)
        counts: dict[int, int] = {}
        for where in per_term.values():
            for index in where:
                counts[index] = counts.get(index, 0) + 1
        return counts

    def _placed(self, hit: Hit) -> frozenset[int]:
        """The candidates that hold ``hit``: the one its offset falls in (a body hit) and those
        holding its surface form (for ``terms_in``, any hit of a term finds all its forms)."""
        form = hit.text.strip()
        holding = self._holding(form.casefold()) if form else _NONE
        if hit.field == "body":
            index = bisect.bisect_right(self._starts, hit.start) - 1
            if index >= 0 and hit.start < self._ends[index] and index not in holding:
                return holding | {index}
        return holding

    def _ranked(self, counts: dict[int, int]) -> Iterable[int]:
        """The candidates (by place) in ``pick``'s order, the matched terms of each counted;
        given one by one as ``_pick`` reads them (it seldom reads more than a few)."""
        if not counts:
            return self._plain_order
        parts, junk = self._parts, self._junk
        counted = []
        for index, n in counts.items():
            overlap, early, central, short = parts[index]
            score = 3.0 * n + 1.5 * overlap + early + 0.5 * central
            if short:
                score -= 1.0  # fragments such as bylines or datelines
            counted.append((junk[index], -score, index))
        counted.sort()
        return _merged(counted, self._plain_ranks, counts)

    def _pick(self, ranked: Iterable[int], max_sentences: int, max_chars: int) -> list[int]:
        """``pick`` over candidates already in rank order, by place."""
        lengths, junk, same = self._lengths, self._junk, self._same
        limit = max_chars + 2
        chosen: list[int] = []
        total = 0
        first = -1
        for index in ranked:
            if first < 0:
                first = index
            if len(chosen) >= max_sentences or (chosen and junk[index]):
                break
            length = lengths[index]
            if total + length > limit:
                continue
            for other in chosen:
                if same(index, other):
                    break
            else:
                chosen.append(index)
                total += length
        if not chosen and first >= 0:
            chosen = [first]  # every sentence is over the limit: the best one, clipped
        return chosen

    def _same(self, a: int, b: int) -> bool:
        """``same_fact`` of the candidates at places ``a`` and ``b``, worked out once for each
        pair of the article's sentences (the texts' case-folding is at hand already)."""
        found = self._same_pairs.get((a, b))
        if found is None:
            cand_a, cand_b = self.cands[a], self.cands[b]
            found = _restates(cand_a, cand_b) or (
                fuzz.token_set_ratio(self._folded[a], self._folded[b], score_cutoff=NEAR_DUPLICATE)
                > 0
            )
            self._same_pairs[a, b] = found
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
        # a short form counts only as a whole word, as _contains looks for it: no word
        # character (``\w``: alphanumeric or the underscore) either side; each place the form
        # is found is checked, which costs far less than the look-arounds of a regex tried
        # at every character
        whole = len(form) < 4
        size, last = len(form), len(text)
        out = []
        at = text.find(form)
        while at >= 0:
            if whole:
                before = text[at - 1] if at else " "
                after = text[at + size] if at + size < last else " "
                if before.isalnum() or after.isalnum() or before == "_" or after == "_":
                    at = text.find(form, at + 1)
                    continue
            index = bisect.bisect_right(starts, at) - 1
            out.append(index)
            if index + 1 == len(starts):
                break
            at = text.find(form, starts[index + 1])
        return out


def _merged(
    counted: list[tuple[bool, float, int]],
    plain: list[tuple[bool, float, int]],
    counts: dict[int, int],
) -> Iterator[int]:
    """The places of two sorted runs of rank keys (junk, -score, place) merged in order: the
    candidates with matched terms (``counted``) and every candidate without them (``plain``,
    those of ``counts`` left out). Each place is in one run only, so no two keys are equal."""
    at, size = 0, len(counted)
    for key in plain:
        if key[2] in counts:
            continue
        while at < size and counted[at] < key:
            yield counted[at][2]
            at += 1
        yield key[2]
    while at < size:
        yield counted[at][2]
        at += 1
