"""Compiled queries and their evaluation over one scanned article.

A compiled query is a small tree whose leaves are integer term ids. Evaluation asks, per
article, only whether a term is present (memoised per term id across every rule), and computes
where a term was found only for rules that matched, for reporting.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from peacewatch.models import Article
from peacewatch.rules.packed import Ints, Packed, unique
from peacewatch.rules.scan import Layout
from peacewatch.rules.scan import Scan as Scan
from peacewatch.rules.scan import Span as Span
from peacewatch.rules.textnorm import normalise_pattern


class _Value:
    """A frozen value of a compiled rule. It pickles as its constructor call: the dataclass
    way for frozen slotted classes looks up the fields again for every object, and a compiled
    rule set read from the disk cache holds tens of thousands of them."""

    __slots__ = ()

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        names: tuple[str, ...] = type(self).__slots__  # the fields, in constructor order
        return type(self), tuple(getattr(self, name) for name in names)


@dataclass(frozen=True, slots=True)
class CTerm(_Value):
    """A compiled text term: the automaton patterns it stands for."""

    label: str
    words: frozenset[int]
    """Pattern indexes that must be whole words."""
    prefixes: frozenset[int]
    """Pattern indexes that must start a word (``prefix*``)."""
    title_only: bool
    entity: str | None = None


@dataclass(frozen=True, slots=True)
class TermRef(_Value):
    tid: int
    label: str


@dataclass(frozen=True, slots=True)
class Field(_Value):
    name: str
    """``source`` or ``lang``."""
    value: str


@dataclass(frozen=True, slots=True)
class AllOf(_Value):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf(_Value):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class NoneOf(_Value):
    item: Node


@dataclass(frozen=True, slots=True)
class Near(_Value):
    """``left NEAR/distance right``; each side is the terms of a NEAR group (any one will do).

    A hit of one side and a hit of the other are ``k`` words apart when ``k`` is the word
    position of the later hit's first word minus that of the earlier hit's last word (adjacent
    words are 1 apart; two hits that share a word are 0 apart). NEAR holds when some pair of
    hits is at most ``distance`` words apart, i.e. has at most ``distance - 1`` words between
    them, in either order, within one field: a hit in the title and a hit in the body are never
    near. Words are counted in the normalised text (runs of letters and digits), and one hit
    never serves both sides (``Putin NEAR Putin`` needs two mentions).
    """

    left: tuple[TermRef, ...]
    right: tuple[TermRef, ...]
    distance: int


Node = TermRef | Field | AllOf | AnyOf | NoneOf | Near


class TermIndex:
    """Term ids by pattern, to tell from one scan which terms hold: the present terms of an
    article are found at once from its found patterns, not term by term."""

    def __init__(self, terms: Sequence[CTerm]) -> None:
        self.by_word: dict[int, list[int]] = {}
        self.by_prefix: dict[int, list[int]] = {}
        self.title_by_word: dict[int, list[int]] = {}
        self.title_by_prefix: dict[int, list[int]] = {}
        for tid, term in enumerate(terms):
            if term.title_only:
                words, prefixes = self.title_by_word, self.title_by_prefix
            else:
                words, prefixes = self.by_word, self.by_prefix
            for pattern in term.words:
                words.setdefault(pattern, []).append(tid)
            for pattern in term.prefixes:
                prefixes.setdefault(pattern, []).append(tid)
        self.count = len(terms)
        self._layout: Layout | None = None
        self._by_hit = Packed((), 0)
        self._title_by_hit = Packed((), 0)

    def prepare(self, layout: Layout) -> None:
        """Build the tables of ``layout`` now rather than at the first scan (they are then kept
        with a pickled engine)."""
        self._tables(layout)

    def _tables(self, layout: Layout) -> tuple[Packed, Packed]:
        """Term ids per automaton pattern (all fields, title only), for ``layout``."""
        if layout is not self._layout:
            self._by_hit = self._per_hit(layout, self.by_word, self.by_prefix)
            self._title_by_hit = self._per_hit(layout, self.title_by_word, self.title_by_prefix)
            self._layout = layout
        return self._by_hit, self._title_by_hit

    @staticmethod
    def _per_hit(
        layout: Layout, words: dict[int, list[int]], prefixes: dict[int, list[int]]
    ) -> Packed:
        out = [words.get(pattern, ()) for pattern in range(layout.whole_count)]
        out += [prefixes.get(pattern, ()) for pattern in layout.prefix_of]
        return Packed(out, len(out))

    def present_ids(self, scan: Scan) -> Ints:
        """Ids of the terms that ``scan`` found (what ``Context.present`` says of each), sorted:
        the terms of every pattern found, gathered at once."""
        layout = scan.layout
        by_hit, _ = self._tables(layout)
        parts = [by_hit.gather(scan.found)]
        words, prefixes = self.title_by_word, self.title_by_prefix
        if words or prefixes:
            # a title holds a few hits: looked up one by one, for less than a gather costs
            count, prefix_of = layout.whole_count, layout.prefix_of
            in_title: list[int] = []
            for index in scan.title_ids():
                if index < count:
                    in_title += words.get(index, ())
                else:
                    in_title += prefixes.get(prefix_of[index - count], ())
            if in_title:
                parts.append(np.array(in_title, dtype=np.intp))
        if scan.extra:  # hits checked on the unmarked text
            extra: list[int] = []
            for pattern, _, end, whole in scan.extra:
                extra += self.by_word.get(pattern, ()) if whole else self.by_prefix.get(pattern, ())
                if end <= scan.title_len:
                    titles = self.title_by_word if whole else self.title_by_prefix
                    extra += titles.get(pattern, ())
            parts.append(np.array(extra, dtype=np.intp))
        return unique(parts[0] if len(parts) == 1 else np.concatenate(parts))

    def present(self, scan: Scan) -> set[int]:
        """``present_ids`` as a set."""
        return set(self.present_ids(scan).tolist())


_Place = tuple[bool, int, int, Span, TermRef]
"""(in the body, first word index, last word index, span, term) of one hit of a NEAR side."""
_Where = tuple[bool, int, int, Span]
"""(in the body, first word index, last word index, span) of one hit of a term."""


@dataclass(slots=True)
class Context:
    """Per-article memo shared by every rule evaluated on that article."""

    scan: Scan
    article: Article
    terms: list[CTerm]
    found: set[int] | None = None
    """Ids of every present term, when known up front (``TermIndex.present``)."""
    ids: Ints | None = None
    """The same ids as an array (``TermIndex.present_ids``), made ``found`` when first asked."""
    flags: bytes | None = None
    """Per term id, 1 if it is present and 0 if not (``RuleIndex.mask``), when known: read
    before ``found``, which then need not be made."""
    _present: dict[int, bool] = field(default_factory=dict)
    _spans: dict[int, list[Span]] = field(default_factory=dict)
    _places: dict[int, list[_Where]] = field(default_factory=dict)
    """Per term id, where its hits lie in words (``where``)."""

    def present_set(self) -> set[int] | None:
        """``found``, made from ``ids`` if need be (None when neither is known)."""
        if self.found is None and self.ids is not None:
            self.found = set(self.ids.tolist())
        return self.found

    def present(self, tid: int) -> bool:
        if self.flags is not None:
            return self.flags[tid] == 1
        found_ids = self.found if self.found is not None else self.present_set()
        if found_ids is not None:
            return tid in found_ids
        found = self._present.get(tid)
        if found is None:
            term = self.terms[tid]
            if term.title_only:
                found = bool(self.spans(tid))
            else:
                # sets, not dict views: isdisjoint then walks the smaller side
                found = not term.words.isdisjoint(self.scan.word_set) or (
                    bool(term.prefixes) and not term.prefixes.isdisjoint(self.scan.prefix_set)
                )
            self._present[tid] = found
        return found

    def spans(self, tid: int) -> list[Span]:
        found = self._spans.get(tid)
        if found is None:
            term, scan = self.terms[tid], self.scan
            found = []
            # set & set walks the smaller side (a set & dict keys would walk the term's forms)
            for pattern in term.words & scan.word_set:
                found.extend(scan.word_spans(pattern))
            if term.prefixes:
                for pattern in term.prefixes & scan.prefix_set:
                    found.extend(scan.prefix_spans(pattern))
            if term.title_only:
                found = [s for s in found if s[1] <= self.scan.title_len]
            found.sort()
            self._spans[tid] = found
        return found

    def where(self, tid: int) -> list[_Where]:
        """Every hit of a term with the word indexes it spans (counted from 1: only their
        differences matter), worked out once per term and article."""
        found = self._places.get(tid)
        if found is None and self.scan.counts_words():  # words counted while finding hits
            term, scan = self.terms[tid], self.scan
            found = []
            for pattern in term.words & scan.word_set:
                found += scan.places(pattern, True)
            if term.prefixes:
                for pattern in term.prefixes & scan.prefix_set:
                    found += scan.places(pattern, False)
            if term.title_only:
                found = [place for place in found if place[3][1] <= scan.title_len]
            found.sort()
            self._places[tid] = found
        elif found is None:
            found = []
            spans = self.spans(tid)
            if spans:
                scan = self.scan
                starts, body = scan.word_starts(), scan.body_start
                firsts = map(bisect_right, repeat(starts), [start for start, _ in spans])
                lasts = map(bisect_right, repeat(starts), [end - 1 for _, end in spans])
                found = [
                    (span[0] >= body, first, last, span)
                    for span, first, last in zip(spans, firsts, lasts, strict=True)
                ]
            self._places[tid] = found
        return found


def source_matches(value: str, article: Article) -> bool:
    value = value.lower().removeprefix("www.")
    domain = article.source.lower()
    if "." in value:
        return domain == value or domain.endswith("." + value)
    return value in domain.split(".") or value in normalise_pattern(article.outlet).split()


def evaluate(node: Node, ctx: Context) -> bool:
    """Whether the article satisfies ``node`` (short-circuiting; nothing recorded)."""
    if isinstance(node, TermRef):
        return ctx.present(node.tid)
    if isinstance(node, AllOf):
        return all(evaluate(item, ctx) for item in node.items)
    if isinstance(node, AnyOf):
        return any(evaluate(item, ctx) for item in node.items)
    if isinstance(node, NoneOf):
        return not evaluate(node.item, ctx)
    if isinstance(node, Field):
        if node.name == "source":
            return source_matches(node.value, ctx.article)
        return (ctx.article.lang or "").lower() == node.value
    return near_holds(node, ctx)


def _side_present(refs: tuple[TermRef, ...], ctx: Context) -> bool:
    for ref in refs:  # noqa: SIM110 - a plain loop is faster than any() of a generator
        if ctx.present(ref.tid):
            return True
    return False


def _places(refs: tuple[TermRef, ...], ctx: Context) -> list[_Place]:
    """Every hit of the terms of a NEAR side, with the word indexes it spans and its term."""
    return [(*where, ref) for ref in refs for where in ctx.where(ref.tid)]


def _near_pairs(node: Near, ctx: Context) -> list[tuple[_Place, _Place]]:
    """Pairs of hits (left, right) that are near."""
    if not (_side_present(node.left, ctx) and _side_present(node.right, ctx)):
        return []
    found = []
    rights = _places(node.right, ctx)
    distance = node.distance
    for left in _places(node.left, ctx):
        in_body, l_first, l_last, l_span, _ = left
        for right in rights:
            r_body, r_first, r_last, r_span, _ = right
            if r_body != in_body or r_span == l_span:
                continue
            if max(r_first - l_last, l_first - r_last) <= distance:
                found.append((left, right))
    return found


def near_holds(node: Near, ctx: Context) -> bool:
    """Whether some hit of one side is near a hit of the other (see ``Near``)."""
    if not (_side_present(node.left, ctx) and _side_present(node.right, ctx)):
        return False
    where = ctx.where
    rights = [place for ref in node.right for place in where(ref.tid)]
    distance = node.distance
    for ref in node.left:
        for in_body, l_first, l_last, l_span in where(ref.tid):
            for r_body, r_first, r_last, r_span in rights:
                if r_body != in_body or r_span == l_span:
                    continue
                if r_first - l_last <= distance and l_first - r_last <= distance:
                    return True
    return False


def near_spans(node: Near, ctx: Context) -> dict[TermRef, list[Span]]:
    """Per term of either side, the spans of its hits that are near a hit of the other side."""
    found: dict[TermRef, set[Span]] = {}
    for left, right in _near_pairs(node, ctx):
        found.setdefault(left[4], set()).add(left[3])
        found.setdefault(right[4], set()).add(right[3])
    return {ref: sorted(spans) for ref, spans in found.items()}


def nearest(node: Near, ctx: Context) -> tuple[int, Span, Span] | None:
    """The closest pair of hits (left, right) in one field and how many words apart they are,
    near or not; None when no field has a hit of each side (for explaining a NEAR)."""
    best: tuple[int, Span, Span] | None = None
    rights = _places(node.right, ctx)
    for in_body, l_first, l_last, l_span, _ in _places(node.left, ctx):
        for r_body, r_first, r_last, r_span, _ in rights:
            if r_body != in_body or r_span == l_span:
                continue
            apart = max(r_first - l_last, l_first - r_last, 0)
            if best is None or (apart, l_span, r_span) < best:
                best = (apart, l_span, r_span)
    return best


def has_near(node: Node) -> bool:
    """Whether ``node`` holds a NEAR outside any NOT (then ``fired`` is more than the present
    terms)."""
    if isinstance(node, Near):
        return True
    if isinstance(node, AllOf | AnyOf):
        return any(has_near(item) for item in node.items)
    return False


def fired(node: Node, ctx: Context, out: dict[TermRef, list[Span]]) -> None:
    """Record the terms that make a matched query true (never those under NOT)."""
    if isinstance(node, TermRef):
        if ctx.present(node.tid):
            out.setdefault(node, ctx.spans(node.tid))
    elif isinstance(node, AllOf | AnyOf):
        for item in node.items:
            fired(item, ctx, out)
    elif isinstance(node, Near):
        for ref, spans in near_spans(node, ctx).items():
            out.setdefault(ref, spans)
