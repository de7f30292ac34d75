"""Rules benchmark: our one-scan matcher against a per-rule regex loop and a bare pattern scan.

    python bench/rules.py [--sizes 100,1000,10000,100000] [--articles 1000] [--repeats 3]
                          [--seed 1] [--teams 100] [--pass-seconds 1] [--regex-seconds 2]
                          [--regex-rules 1000] [--samples PATH] [--tracemalloc]
                          [--profile SIZE]

For each number of rules it prints articles per second of three matchers over the same text:

- ours: ``RuleEngine.compile`` of every rule, then ``engine.match(article)``, the list of
  every rule that holds (a match works out its values, team, rule and entities as well as its
  fired terms and hits, when first read, so a second figure, "ours with hits", also reads
  every match's ``hits``, which works out all of them);
- regex (the baseline, what most bots do): per rule, one compiled ``re`` pattern per term (all
  spellings of an entity as one alternation), word boundaries as lookarounds, the boolean tree
  evaluated rule by rule for every article, NEAR by word positions. It reads the same
  normalised (NFKC, case-folded) text as ours, so both decide exactly the same thing: their
  (article, rule) pairs are compared and any disagreement is printed (exit status 1). It is far
  too slow for every article and every rule at 10,000 rules and more, so it runs at most
  ``--regex-rules`` of the rules (every k-th) over the articles that fit in ``--regex-seconds``
  (at least one); its rate and compile cost are scaled linearly to all the rules (a per-rule
  loop costs the same per rule whatever the others). The output says so;
- bare (the limit): one ``ahocorasick_rs`` automaton of the same pattern set (every term
  pattern and every entity name), scanning the same normalised text, with no word-boundary
  check and no rule logic.

Articles (``--articles``, about 4,500 characters or 5 KB each, like a full news article) come
from the sample data. The daily feed exports under ``feeds-2026-01/2026/01/DAY/*.json`` (884
real feeds, mostly unrelated news) hold short entries: each entry (headline and description,
every text once although feeds repeat yesterday's entries) is joined with the next entries of
the same feed, in publication order, into one article; its first headline is the title. The
real items about the talks in ``items.jsonl`` and the near misses of
``items_hard_negatives.jsonl`` are joined the same way per outlet. About one article in ten is
of the latter kind; the two kinds are interleaved with ``--seed``. Rules are drawn from
``bench/vocab.py`` (entities, topic phrases, corpus words, with OR, NOT, NEAR, prefixes and
``title:``) and dealt over ``--teams`` teams; the rules of a smaller size are the first rules of
a larger one.

Ours and bare pass over the same articles: as many as ours handles in ``--pass-seconds`` (at
least 10), after one round of the three that is not timed (the matcher files its rules again by
the rarity of their terms counted in its first articles, as a running service has long done: the
passes measure that steady state; and it goes on matching untimed until the next refiling, at
64, 256, 1,024, … articles seen, lies past the timed passes, so that they time the steady state
alone); throughputs are medians of ``--repeats`` passes, in articles per CPU second of the
benchmark's process (wall time would count the waits for a core when other work shares the
machine; the regex loop is timed the same way). The passes of ours, ours with hits and bare take
turns (one of each per round, the order rotated), so that a machine whose speed changes during
the run slows all three alike and their ratios hold. Memory is the growth of the resident set
while compiling (psutil, else /proc), or with ``--tracemalloc`` the traced peak of compiling
(Python allocations only: the automata are native and not seen; compile times then include the
tracing overhead). ``--profile SIZE`` then prints where ours spends its time at SIZE rules
(cProfile over one pass that, as the timed passes, holds no refiling). The three targets of the
matcher are checked at the end: at 10,000 rules at least 500 times the baseline and at least
half the bare scan; the cost per article at 100,000 rules at most 3 times that at 100 rules. A
missing sample directory skips the run (exit 0)."""

from __future__ import annotations

import argparse
import bisect
import cProfile
import functools
import gc
import hashlib
import io
import json
import os
import pstats
import random
import re
import statistics
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import ahocorasick_rs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.vocab import Vocabulary, build_vocabulary, make_queries, spread
from peacewatch.errors import QuerySyntaxError
from peacewatch.models import Article
from peacewatch.rules import query as q
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.entities import EntityDictionary, builtin_dictionary
from peacewatch.rules.morph import surface_forms
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.rules.ruleindex import FIRST_REFILE, REFILE_FACTOR
from peacewatch.rules.textnorm import normalise, normalise_pattern
from peacewatch.watchers.normalise import domain_of
from peacewatch.watchers.text import html_to_text

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
DEFAULT_SIZES = (100, 1_000, 10_000, 100_000)
ARTICLE_CHARS = 4_500
MIN_ARTICLE_CHARS = 2_000
TALKS_SHARE = 0.1
FIELD_SEPARATOR = " \x00 "  # what the engine puts between headline and body

T = TypeVar("T")
Pair = tuple[str, str, str]
"""(article id, team id, rule id)."""


# Articles --------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Piece:
    when: str
    title: str
    text: str
    link: str


def _chunks(pieces: Sequence[_Piece], size: int) -> Iterator[list[_Piece]]:
    """Runs of pieces of about ``size`` characters; a short tail is dropped."""
    run: list[_Piece] = []
    length = 0
    for piece in pieces:
        run.append(piece)
        length += len(piece.text) + 2
        if length >= size:
            yield run
            run, length = [], 0
    if length >= min(size, MIN_ARTICLE_CHARS):
        yield run


def _article(kind: str, pieces: Sequence[_Piece], source: str, outlet: str, lang: str) -> Article:
    body = "\n\n".join(p.text for p in pieces)
    digest = hashlib.sha256(f"{kind}\x00{source}\x00{pieces[0].link}\x00{body}".encode())
    try:
        published = datetime.fromisoformat(pieces[0].when.replace("Z", "+00:00"))
    except ValueError:
        published = datetime(2026, 1, 1, tzinfo=UTC)
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return Article(
        id=digest.hexdigest()[:16],
        title=pieces[0].title,
        link=pieces[0].link,
        published=published.astimezone(UTC),
        source=source,
        outlet=outlet,
        summary=body,
        lang=lang[:2].lower() or None,
    )


def feed_articles(samples: Path, size: int) -> list[Article]:
    """Entries of one feed (headline and description each, every text once), joined in
    publication order into articles of about ``size`` characters; a short tail is dropped."""
    by_feed: dict[str, list[_Piece]] = defaultdict(list)
    langs: dict[str, str] = {}
    seen: set[str] = set()
    for path in sorted((samples / "feeds-2026-01" / "2026" / "01").glob("*/*.json")):
        entries: Any = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(entries, list):
            continue
        for entry in sorted(entries, key=lambda e: str(e.get("date_published") or "")):
            text = html_to_text(entry.get("description"))
            if len(text) < 40 or text in seen:
                continue  # feeds repeat yesterday's entries in today's export
            seen.add(text)
            feed = str(entry.get("source_url") or path.name)
            langs.setdefault(feed, str(entry.get("language") or ""))
            title = html_to_text(entry.get("title"))
            by_feed[feed].append(
                _Piece(
                    str(entry.get("date_published") or ""),
                    title,
                    f"{title}\n{text}" if title else text,
                    str(entry.get("link") or ""),
                )
            )
    out: list[Article] = []
    for feed, pieces in sorted(by_feed.items()):
        source = domain_of(feed) or feed
        for run in _chunks(pieces, size):
            out.append(_article("feed", run, source, source, langs[feed]))
    return out


def talks_articles(samples: Path, size: int) -> list[Article]:
    """Real items about the talks (headline and summary each), joined per outlet."""
    by_outlet: dict[str, list[_Piece]] = defaultdict(list)
    lines = (samples / "items.jsonl").read_text(encoding="utf-8").splitlines()
    negatives = samples / "items_hard_negatives.jsonl"
    if negatives.is_file():  # near misses a keyword filter picked: what rules must tell apart
        lines += negatives.read_text(encoding="utf-8").splitlines()
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        title = html_to_text(item.get("title"))
        summary = html_to_text(item.get("summary"))
        text = f"{title}. {summary}" if title and summary else title or summary
        if text:
            outlet = str(item.get("source_outlet") or "unknown")
            piece = _Piece(str(item.get("published") or ""), title, text, item.get("link") or "")
            by_outlet[outlet].append(piece)
    out: list[Article] = []
    for outlet, pieces in sorted(by_outlet.items()):
        pieces.sort(key=lambda p: p.when)
        for run in _chunks(pieces, size):
            if not run[0].title:  # summary-only items: headline = the first sentence
                run[0].title = run[0].text.split(". ")[0][:200]
            source = domain_of(run[0].link) or outlet
            out.append(_article("talks", run, source, outlet, "en"))
    return out


def load_articles(
    samples: Path, count: int, seed: int = 1, size: int = ARTICLE_CHARS
) -> list[Article]:
    """``count`` real articles of about ``size`` characters (fewer if the samples run out)."""
    feed = feed_articles(samples, size)
    talks = talks_articles(samples, size)
    rng = random.Random(seed)
    rng.shuffle(feed)
    rng.shuffle(talks)
    n_talks = min(len(talks), max(1, round(count * TALKS_SHARE)))
    chosen = talks[:n_talks] + feed[: count - n_talks]
    rng.shuffle(chosen)
    return chosen


# Rules -----------------------------------------------------------------------------------------
def valid_queries(vocabulary: Vocabulary, count: int, seed: int) -> list[tuple[str, q.Node]]:
    """``count`` drawn queries with their trees (a query the parser refuses is redrawn)."""
    out: list[tuple[str, q.Node]] = []
    round_ = 0
    while len(out) < count and round_ < 10:
        for text in make_queries(vocabulary, count - len(out), seed + 7919 * round_):
            try:
                out.append((text, q.parse(text)))
            except QuerySyntaxError:
                continue
        round_ += 1
    return out


def make_teams(queries: Sequence[str], teams: int) -> list[TeamRuleSet]:
    """The queries as rules ``r<index>`` dealt round-robin over teams ``t<n>``."""
    return [
        TeamRuleSet(f"t{n}", [RuleSpec(id=f"r{i}", query=text) for i, text in dealt])
        for n, dealt in enumerate(spread(queries, teams))
    ]


def rule_key(index: int, size: int, teams: int) -> tuple[str, str]:
    """(team id, rule id) that ``make_teams`` gives the query at ``index`` of ``size``."""
    return f"t{index % max(1, min(teams, size))}", f"r{index}"


# What a term searches for: the matcher's rules, restated from the public API -----------------
@dataclass(frozen=True, slots=True)
class TermPatterns:
    """Normalised strings a term stands for: whole words (or word starts), maybe headline only."""

    patterns: tuple[str, ...]
    prefix: bool
    title_only: bool


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ENTITY_FIELDS = ("actor", "place", "topic")


@functools.cache
def forms(name: str) -> frozenset[str]:
    """Normalised spellings of a name: itself, plus inflections of a Cyrillic one."""
    out = {normalise_pattern(name)}
    if _CYRILLIC.search(name):
        out |= {normalise_pattern(f) for f in surface_forms(name)}
    return frozenset(f for f in out if f)


def entity_patterns(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({f for name in names for f in forms(name)}))


def term_patterns(term: q.Term, dictionary: EntityDictionary) -> TermPatterns | None:
    """None for ``source:`` and ``lang:``, which are not searched in the text."""
    if term.field in ("source", "lang"):
        return None
    title_only = term.field == "title"
    if term.field in _ENTITY_FIELDS:
        entity = dictionary.get(term.text)
        if entity is None:
            raise ValueError(f"unknown entity {term.text!r}")
        return TermPatterns(entity_patterns(entity.names), False, title_only)
    if term.kind == "prefix":
        return TermPatterns((normalise_pattern(term.text),), True, title_only)
    if term.kind == "word":
        entity = dictionary.lookup(term.text)
        if entity is not None:
            return TermPatterns(entity_patterns(entity.names), False, title_only)
        return TermPatterns(tuple(sorted(forms(term.text))), False, title_only)
    return TermPatterns((normalise_pattern(term.text),), False, title_only)


def pattern_set(nodes: Iterable[q.Node], dictionary: EntityDictionary) -> list[str]:
    """Every string the matcher's automaton holds: all term patterns and all entity names."""
    out: set[str] = set()
    for entity in dictionary.entities():
        out.update(entity_patterns(entity.names))
    for node in nodes:
        for term in q.terms(node):
            found = term_patterns(term, dictionary)
            if found is not None:
                out.update(found.patterns)
    return sorted(out)


# The regex baseline ----------------------------------------------------------------------------
_WORD_CHAR = r"[^\W_]"  # a letter or digit: the matcher's word character but for lone marks


@functools.cache
def _boundaries() -> tuple[str, str]:
    """Word boundaries as the matcher draws them (``\\b`` with its apostrophe rules).

    A hit starts a word unless a word character, or a word character and an apostrophe,
    precede it (``o'brien`` holds no word ``brien``); it ends one unless a word character
    follows, or an apostrophe and a word character other than a final possessive ``'s``.
    The matcher also counts combining marks as word characters; NFKC composes the accents of
    the Latin and Cyrillic scripts, so the corpus holds none that stand alone.
    """
    w = _WORD_CHAR
    return f"(?<!{w})(?<!{w}')", f"(?!{w})(?!'(?!s(?!{w})){w})"


@functools.cache
def term_regex(patterns: tuple[str, ...], prefix: bool, spans: bool) -> re.Pattern[str]:
    """One regex for a term. With ``spans`` every start of a hit is found (overlapping)."""
    start, end = _boundaries()
    ordered = sorted(patterns, key=lambda p: (-len(p), p))
    body = "|".join(re.escape(p) for p in ordered)
    core = f"{start}({body})" + ("" if prefix else end)
    return re.compile(f"(?=({core}))" if spans else core)


@dataclass(slots=True)
class _RegexTerm:
    search: re.Pattern[str]
    spans: re.Pattern[str]
    title_only: bool


@dataclass(slots=True)
class _RegexRule:
    team_id: str
    rule_id: str
    node: q.Node
    terms: dict[q.Term, _RegexTerm]


@dataclass(slots=True)
class _Text:
    """An article as the regex loop reads it: the matcher's normalised text."""

    article: Article
    title: str
    text: str
    _word_starts: list[int] | None = None

    def word_index(self, pos: int) -> int:
        if self._word_starts is None:
            self._word_starts = [m.start() for m in re.finditer(r"\w+", self.text)]
        return bisect.bisect_right(self._word_starts, pos) - 1


class RegexRules:
    """Every rule as its own regexes, evaluated one rule after the other."""

    def __init__(self, rules: list[_RegexRule]) -> None:
        self.rules = rules

    @classmethod
    def compile(
        cls, teams: Iterable[TeamRuleSet], dictionary: EntityDictionary | None = None
    ) -> RegexRules:
        """Every rule of every team; a rule whose query does not parse is left out."""
        parsed: list[tuple[str, str, q.Node]] = []
        for team in teams:
            for spec in team.rules:
                try:
                    parsed.append((team.team_id, spec.id, q.parse(spec.query)))
                except QuerySyntaxError:
                    continue
        return cls.from_parsed(parsed, dictionary)

    @classmethod
    def from_parsed(
        cls, rules: Iterable[tuple[str, str, q.Node]], dictionary: EntityDictionary | None = None
    ) -> RegexRules:
        """Rules given as (team id, rule id, query tree); one with an unknown entity is left out."""
        dictionary = dictionary or builtin_dictionary()
        out: list[_RegexRule] = []
        for team_id, rule_id, node in rules:
            terms: dict[q.Term, _RegexTerm] = {}
            try:
                for term in q.terms(node):
                    found = term_patterns(term, dictionary)
                    if found is not None:
                        terms[term] = _RegexTerm(
                            term_regex(found.patterns, found.prefix, False),
                            term_regex(found.patterns, found.prefix, True),
                            found.title_only,
                        )
            except ValueError:
                continue
            out.append(_RegexRule(team_id, rule_id, node, terms))
        return cls(out)

    def match(self, article: Article) -> list[tuple[str, str]]:
        """(team, rule) of every rule the article satisfies."""
        title = normalise(article.title).text
        text = _Text(article, title, title + FIELD_SEPARATOR + normalise(article.body).text)
        return [(r.team_id, r.rule_id) for r in self.rules if _holds(r.node, r, text)]


def _source_matches(value: str, article: Article) -> bool:
    value = value.lower().removeprefix("www.")
    domain = article.source.lower()
    if "." in value:
        return domain == value or domain.endswith("." + value)
    return value in domain.split(".") or value in normalise_pattern(article.outlet).split()


def _holds(node: q.Node, rule: _RegexRule, text: _Text) -> bool:
    if isinstance(node, q.Term):
        if node.field == "source":
            return _source_matches(node.text, text.article)
        if node.field == "lang":
            return (text.article.lang or "").lower() == node.text.lower()
        term = rule.terms[node]
        return term.search.search(text.title if term.title_only else text.text) is not None
    if isinstance(node, q.And):
        return all(_holds(item, rule, text) for item in node.items)
    if isinstance(node, q.Or):
        return any(_holds(item, rule, text) for item in node.items)
    if isinstance(node, q.Not):
        return not _holds(node.item, rule, text)
    # NEAR: a hit of either side's terms, at most `distance` words apart, in one field
    left = [span for t in q.terms(node.left) for span in _spans(rule.terms[t], text)]
    right = [span for t in q.terms(node.right) for span in _spans(rule.terms[t], text)]
    title_end = len(text.title)
    for ls, le in left if right else []:
        l_first, l_last = text.word_index(ls), text.word_index(le - 1)
        for rs, re_ in right:
            r_first, r_last = text.word_index(rs), text.word_index(re_ - 1)
            apart = max(r_first - l_last, l_first - r_last)
            same_field = (ls < title_end) == (rs < title_end)
            if same_field and (ls, le) != (rs, re_) and apart <= node.distance:
                return True
    return False


def _spans(term: _RegexTerm, text: _Text) -> list[tuple[int, int]]:
    return [
        (m.start(2), m.end(2))
        for m in term.spans.finditer(text.title if term.title_only else text.text)
    ]


# The bare scan ---------------------------------------------------------------------------------
class BareScan:
    """The same strings in one automaton over the same normalised text; nothing else."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.automaton = ahocorasick_rs.AhoCorasick(
            list(patterns), matchkind=ahocorasick_rs.MatchKind.Standard
        )

    def scan(self, article: Article) -> int:
        text = normalise(article.title).text + FIELD_SEPARATOR + normalise(article.body).text
        return len(self.automaton.find_matches_as_indexes(text, overlapping=True))


# Measuring -------------------------------------------------------------------------------------
def _rss() -> int | None:
    try:
        import psutil  # type: ignore[import-untyped]

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        pass
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def measured(build: Callable[[], T], traced: bool) -> tuple[T, float, float | None]:
    """What ``build`` returns, the seconds it took and the MiB it added (None if unknown)."""
    gc.collect()
    if traced:
        tracemalloc.start()
        t0 = time.perf_counter()
        value = build()
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return value, seconds, peak / 2**20
    before = _rss()
    t0 = time.perf_counter()
    value = build()
    seconds = time.perf_counter() - t0
    gc.collect()
    after = _rss()
    grown = None if before is None or after is None else max(0, after - before) / 2**20
    return value, seconds, grown


def _rates(
    articles: Sequence[Article], steps: Sequence[Callable[[Article], object]], repeats: int
) -> list[float]:
    """Per step, the median articles per CPU second (of this process) of ``repeats`` passes
    over ``articles``: on a machine that other work shares, wall time also counts the time the
    process waited for a core. The passes of the steps are interleaved (one pass of each in
    turn, the order rotated every round), so that a change in the machine's speed during the
    run falls on every step alike and their ratios hold."""
    times: list[list[float]] = [[] for _ in steps]
    for round_ in range(repeats):
        for k in range(len(steps)):
            i = (k + round_) % len(steps)
            t0 = time.process_time()
            for article in articles:
                steps[i](article)
            times[i].append(time.process_time() - t0)
    return [len(articles) / max(statistics.median(t), 1e-9) for t in times]


def _settled(engine: RuleEngine, articles: Sequence[Article], seen: int, span: int) -> int:
    """Match ``articles`` (in turn, untimed) until no refiling of the rule index (at
    ``FIRST_REFILE`` articles seen, then ``REFILE_FACTOR`` times as many each time) falls in the
    next ``span`` matches; ``seen``: the matches so far. Returns how many the engine has then
    seen. A refiling costs as much as matching hundreds of articles: a timed pass that held one
    would time it instead of the steady state."""
    point = FIRST_REFILE
    while point <= seen:
        point *= REFILE_FACTOR
    while point <= seen + span:  # the refiling at ``point`` would fall in the timed passes
        _match_in_turn(engine, articles, point - seen)
        seen = point
        point *= REFILE_FACTOR
    return seen


def _match_in_turn(engine: RuleEngine, articles: Sequence[Article], count: int) -> None:
    """``count`` matches, untimed, of ``articles`` one after another, from the first again."""
    for i in range(count):
        engine.match(articles[i % len(articles)])


def our_pairs(engine: RuleEngine, articles: Iterable[Article]) -> set[Pair]:
    return {(m.article_id, m.team_id, m.rule_id) for a in articles for m in engine.match(a)}


def regex_pairs(rules: RegexRules, articles: Iterable[Article]) -> set[Pair]:
    return {(a.id, team, rule) for a in articles for team, rule in rules.match(a)}


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """Our (article, team, rule) matches against the regex loop's on the same articles."""

    articles: int
    ours: frozenset[Pair]
    regex: frozenset[Pair]

    @property
    def only_ours(self) -> frozenset[Pair]:
        return self.ours - self.regex

    @property
    def only_regex(self) -> frozenset[Pair]:
        return self.regex - self.ours

    @property
    def agree(self) -> bool:
        return self.ours == self.regex


def cross_check(teams: Sequence[TeamRuleSet], articles: Sequence[Article]) -> CrossCheck:
    """Run both matchers over the articles and compare what they decided (the benchmark core)."""
    engine = RuleEngine.compile(teams)
    if engine.errors:
        raise ValueError(f"rules did not compile: {engine.errors[:3]}")
    rules = RegexRules.compile(teams)
    return CrossCheck(
        len(articles),
        frozenset(our_pairs(engine, articles)),
        frozenset(regex_pairs(rules, articles)),
    )


@dataclass(frozen=True, slots=True)
class Budget:
    """How long each measurement may take (the run must stay short at the default sizes)."""

    repeats: int = 3
    pass_seconds: float = 1.0
    """Ours and bare pass over as many articles as ours handles in this time (at least 10)."""
    regex_seconds: float = 2.0
    regex_rules: int = 1_000
    """The regex loop runs at most this many of the rules (every k-th); its times are scaled."""
    traced: bool = False


@dataclass(slots=True)
class SizeResult:
    size: int
    """Rules given (``rules`` counts those that compiled)."""
    rules: int
    patterns: int
    articles: int
    """Articles in each timed pass of ours and bare."""
    warmed: int
    """Articles ours had matched when its timed passes began."""
    ours: float
    ours_hits: float
    """Articles per second of ours reading every match's hits."""
    bare: float
    regex: float
    regex_articles: int
    regex_rules: int
    compile_s: float
    mib: float | None
    regex_compile_s: float
    regex_mib: float | None
    bare_compile_s: float
    bare_mib: float | None
    matches_per_article: float
    check: CrossCheck
    notes: list[str] = field(default_factory=list)


def run_size(
    rules: Sequence[tuple[str, q.Node]],
    teams: int,
    articles: Sequence[Article],
    budget: Budget = Budget(),
) -> SizeResult:
    """Compile and time the three matchers on one rule set; cross-check ours against regex."""
    size = len(rules)
    dictionary = builtin_dictionary()
    team_sets = make_teams([text for text, _ in rules], teams)
    engine, compile_s, mib = measured(lambda: RuleEngine.compile(team_sets), budget.traced)
    notes = [f"{len(engine.errors)} rules did not compile"] if engine.errors else []
    patterns = pattern_set((node for _, node in rules), dictionary)
    if len(patterns) != engine.pattern_count:
        notes.append(f"bare scan has {len(patterns)} patterns, ours {engine.pattern_count}")
    bare_scan, bare_s, bare_mib = measured(lambda: BareScan(patterns), budget.traced)

    t0 = time.perf_counter()
    probe = articles[:5]
    for article in probe:
        engine.match(article)
    per_article = (time.perf_counter() - t0) / max(1, len(probe))
    fit = int(budget.pass_seconds / max(per_article, 1e-9))
    count = min(len(articles), max(10, fit))
    chosen = articles[:count]
    steps = (engine.match, lambda a: [m.hits for m in engine.match(a)], bare_scan.scan)
    # One round not timed (ours has its rules filed again by the rarity counted, as a running
    # service has long done), then ours goes on untimed until no refiling falls in a timed pass
    for run in steps:
        for article in chosen:
            run(article)
    warmed = _settled(engine, chosen, len(probe) + 2 * count, 2 * count * budget.repeats)
    ours, ours_hits, bare = _rates(chosen, steps, budget.repeats)

    step = -(-size // max(1, budget.regex_rules))
    sample = [(*rule_key(i, size, teams), rules[i][1]) for i in range(0, size, step)]
    scale = size / max(1, len(sample))
    regex_rules, regex_s, regex_mib = measured(
        lambda: RegexRules.from_parsed(sample, dictionary), budget.traced
    )
    done: list[Article] = []
    found: set[Pair] = set()
    t0, c0 = time.perf_counter(), time.process_time()
    for article in articles:
        found.update((article.id, team, rule) for team, rule in regex_rules.match(article))
        done.append(article)
        if time.perf_counter() - t0 >= budget.regex_seconds:
            break
    regex = len(done) / (max(time.process_time() - c0, 1e-9) * scale)
    ours_all = our_pairs(engine, done)
    sampled = {(team, rule) for team, rule, _ in sample}
    ours_sampled = frozenset(p for p in ours_all if (p[1], p[2]) in sampled)
    return SizeResult(
        size=size,
        rules=engine.rule_count,
        patterns=engine.pattern_count,
        articles=len(chosen),
        warmed=warmed,
        ours=ours,
        ours_hits=ours_hits,
        bare=bare,
        regex=regex,
        regex_articles=len(done),
        regex_rules=len(sample),
        compile_s=compile_s,
        mib=mib,
        regex_compile_s=regex_s * scale,
        regex_mib=None if regex_mib is None else regex_mib * scale,
        bare_compile_s=bare_s,
        bare_mib=bare_mib,
        matches_per_article=len(ours_all) / max(1, len(done)),
        check=CrossCheck(len(done), ours_sampled, frozenset(found)),
        notes=notes,
    )


def profile_size(
    rules: Sequence[tuple[str, q.Node]],
    teams: int,
    articles: Sequence[Article],
    count: int,
    warmed: int,
) -> str:
    """Where ``engine.match`` spends its time: cProfile over ``count`` articles, after the
    engine has matched ``warmed`` (as many as before the timed passes) and, as there, with no
    refiling of its rules in the pass profiled; the 25 costliest functions."""
    engine = RuleEngine.compile(make_teams([text for text, _ in rules], teams))
    chosen = articles[:count]
    _match_in_turn(engine, chosen, warmed)
    _settled(engine, chosen, warmed, len(chosen))
    profiler = cProfile.Profile()
    profiler.enable()
    for article in chosen:
        engine.match(article)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


def _mib(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def report_row(r: SizeResult) -> str:
    regex = f"{r.regex:,.2f}*" if r.regex < 10 else f"{r.regex:,.0f}*"
    return (
        f"{r.rules:>7,} | {r.ours:>10,.0f} | {regex:>11} | {r.bare:>10,.0f} | "
        f"{r.ours / r.regex:>9,.0f}x | {r.ours / r.bare:>9.2f} | {r.compile_s:>9.2f} | "
        f"{_mib(r.mib):>6}"
    )


def check_targets(results: Sequence[SizeResult]) -> list[tuple[str, bool | None, str]]:
    """(target, passed or None when the sizes it needs were not run, figures)."""
    by_size = {r.size: r for r in results}
    out: list[tuple[str, bool | None, str]] = []
    at10k = by_size.get(10_000)
    if at10k is None:
        out.append(("10,000 rules: ours >= 500x regex", None, "size not run"))
        out.append(("10,000 rules: ours >= 0.5x bare scan", None, "size not run"))
    else:
        ratio = at10k.ours / at10k.regex
        out.append(("10,000 rules: ours >= 500x regex", ratio >= 500, f"{ratio:,.0f}x"))
        share = at10k.ours / at10k.bare
        out.append(("10,000 rules: ours >= 0.5x bare scan", share >= 0.5, f"{share:.2f}x"))
    small, large = by_size.get(100), by_size.get(100_000)
    name = "cost at 100,000 rules <= 3x cost at 100 rules"
    if small is None or large is None:
        out.append((name, None, "size not run"))
    else:
        growth = small.ours / large.ours  # the cost of an article is 1 / rate
        out.append((name, growth <= 3, f"{growth:.1f}x"))
    return out


def print_report(results: Sequence[SizeResult], budget: Budget) -> bool:
    """Print the table, the notes and the cross-checks; True if every cross-check agreed."""
    header = (
        "  rules | ours art/s | regex art/s | bare art/s | ours/regex | ours/bare | compile s |"
        "    MiB"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(report_row(r))
    print()
    print(
        f"* regex: the per-rule loop over the first articles that fit in "
        f"{budget.regex_seconds:g} s, with at most {budget.regex_rules:,} of the rules (every "
        "k-th); its rate is extrapolated linearly to all the rules (each rule costs the same "
        "whatever the others):"
    )
    for r in results:
        print(f"    {r.rules:,}: {r.regex_rules:,} rules run over {r.regex_articles} articles")
    print(
        f"ours and bare: articles per CPU second, median of {budget.repeats} passes over the same "
        "articles "
        f"({', '.join(f'{r.rules:,}: {r.articles}' for r in results)})"
    )
    print(
        "ours with hits (every match's hits read) art/s, and x bare: "
        + "; ".join(
            f"{r.rules:,}: {r.ours_hits:,.0f} ({r.ours_hits / r.bare:.2f}x)" for r in results
        )
    )
    memory = "tracemalloc peak" if budget.traced else "resident-set growth while compiling"
    print(f"MiB: {memory}")
    print(
        "compile s / MiB of the references (regex scaled to all rules): "
        + "; ".join(
            f"{r.rules:,}: regex {r.regex_compile_s:.2f} s {_mib(r.regex_mib)} MiB, "
            f"bare {r.bare_compile_s:.2f} s {_mib(r.bare_mib)} MiB"
            for r in results
        )
    )
    print(
        "patterns / matches per article (ours): "
        + "; ".join(f"{r.rules:,}: {r.patterns:,} / {r.matches_per_article:,.1f}" for r in results)
    )
    agreed = True
    for r in results:
        c = r.check
        verdict = "agree" if c.agree else "DISAGREE"
        print(
            f"cross-check at {r.rules:,} rules ({r.regex_rules:,} rules x {c.articles} articles):"
            f" {len(c.ours):,} matches ours, {len(c.regex):,} regex: {verdict}"
        )
        for pair in sorted(c.only_ours)[:3]:
            print(f"    only ours: {pair}")
        for pair in sorted(c.only_regex)[:3]:
            print(f"    only regex: {pair}")
        agreed = agreed and c.agree
        for note in r.notes:
            print(f"    note: {note}")
    print()
    for name, passed, figures in check_targets(results):
        status = "SKIP" if passed is None else "PASS" if passed else "FAIL"
        print(f"{status}  {name}: {figures}")
    print()
    for line in figure_lines(results):
        print(line)
    return agreed


def figure(name: str, value: float, baseline: float, target: str, met: bool) -> str:
    """One machine-readable line (``bench/report.py`` collects them into one table); a figure
    without a target (``-``) has nothing to miss."""
    met = met or target == "-"
    return (
        f"FIGURE name={name} value={value:.4g} baseline={baseline:.4g} target={target} "
        f"met={'yes' if met else 'no'}"
    )


def figure_lines(results: Sequence[SizeResult]) -> list[str]:
    """The figures of the run: per size, ours against the regex loop and against the bare scan
    (articles per second, value = ours, baseline = the reference); the cost growth from the
    smallest to the largest size run (milliseconds per article at each)."""
    out = []
    for r in results:
        out.append(
            figure(f"matcher_{r.size}_rules_vs_regex_art_per_s", r.ours, r.regex,
                   ">=500x" if r.size == 10_000 else "-", r.ours >= 500 * r.regex)
        )  # fmt: skip
        out.append(
            figure(f"matcher_{r.size}_rules_vs_bare_art_per_s", r.ours, r.bare,
                   ">=0.5x" if r.size == 10_000 else "-", r.ours >= 0.5 * r.bare)
        )  # fmt: skip
        out.append(
            figure(f"matcher_{r.size}_rules_with_hits_vs_bare_art_per_s", r.ours_hits, r.bare,
                   "-", True)
        )  # fmt: skip
    if len(results) > 1:
        small, large = results[0], results[-1]
        cost_small, cost_large = 1000 / small.ours, 1000 / large.ours
        target = "<=3x" if (small.size, large.size) == (100, 100_000) else "-"
        out.append(
            figure(f"matcher_ms_per_article_{small.size}_to_{large.size}_rules", cost_large,
                   cost_small, target, cost_large <= 3 * cost_small)
        )  # fmt: skip
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Rules benchmark: ours against a per-rule regex loop and a bare scan."
    )
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--pass-seconds", type=float, default=1.0)
    parser.add_argument("--regex-seconds", type=float, default=2.0)
    parser.add_argument("--regex-rules", type=int, default=1_000)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="SIZE")
    args = parser.parse_args(argv)
    try:
        sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error("--sizes takes numbers separated by commas, like 100,1000")
    if not sizes or min(sizes) < 1 or args.articles < 1 or args.repeats < 1:
        parser.error("sizes, --articles and --repeats must be positive")
    samples: Path = args.samples
    if not (samples / "items.jsonl").is_file() or not (samples / "feeds-2026-01").is_dir():
        print(f"rules benchmark skipped: no sample data at {samples} (give --samples PATH)")
        return 0
    budget = Budget(
        args.repeats, args.pass_seconds, args.regex_seconds, args.regex_rules, args.tracemalloc
    )

    t_start = time.perf_counter()
    articles = load_articles(samples, args.articles, args.seed)
    if not articles:
        print(f"rules benchmark skipped: no articles could be built from {samples}")
        return 0
    dictionary = builtin_dictionary()
    vocabulary = build_vocabulary((f"{a.title}\n{a.body}" for a in articles), dictionary)
    rules = valid_queries(vocabulary, max(sizes), args.seed)
    RuleEngine.compile([])  # load the inflection dictionaries once, outside every timing
    chars = statistics.mean(len(a.title) + len(a.body) for a in articles)
    print(
        f"{len(articles):,} articles (mean {chars:,.0f} characters); vocabulary of "
        f"{len(vocabulary.words):,} words, {len(vocabulary.phrases):,} phrases and "
        f"{len(vocabulary.entity_refs)} entities; {args.teams} teams; seed {args.seed}"
    )
    print("rules like:", " | ".join(text for text, _ in rules[:4]))
    print(f"set-up {time.perf_counter() - t_start:.1f} s", flush=True)
    results = []
    for size in sizes:
        results.append(run_size(rules[:size], args.teams, articles, budget))
        print(f"  {size:,} rules measured ({time.perf_counter() - t_start:.0f} s)", flush=True)
    print()
    agreed = print_report(results, budget)
    if args.profile:
        passes = {r.size: (r.articles, r.warmed) for r in results}
        count, warmed = passes.get(args.profile, (min(len(articles), 200), 0))
        print(f"\nprofile of ours at {args.profile:,} rules over {count} articles:")
        print(profile_size(rules[: args.profile], args.teams, articles, count, warmed))
    print(f"\ntotal {time.perf_counter() - t_start:.1f} s")
    return 0 if agreed else 1


if __name__ == "__main__":
    raise SystemExit(main())
