"""One compiled matcher for every rule of every team: a single Aho-Corasick scan per article.

All terms of all rules (and every name of the entity dictionary) go into one automaton over
normalised text. A hit is kept only where it is a whole word (or a word start, for ``prefix*``).
An index from pattern to rules means only the rules with a hit are evaluated, so the cost of an
article grows with its length and its hits, not with the number of rules.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import ahocorasick_rs

from peacewatch.errors import InputError, QuerySyntaxError
from peacewatch.models import Article, Hit, Match
from peacewatch.rules import query as q
from peacewatch.rules.entities import Entity, EntityDictionary, builtin_dictionary
from peacewatch.rules.morph import surface_forms
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.rules.textnorm import NormText, ends_word, normalise, normalise_pattern, starts_word

_FIELD_SEPARATOR = " \x00 "
_WORD = re.compile(r"\w+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ENTITY_FIELDS = ("actor", "place", "topic")
# Polish case endings, German and Swedish genitive and definite endings.
_INFLECTIONS = frozenset(
    {"a", "u", "e", "y", "i", "ą", "ę", "em", "om", "ie", "ym", "owi", "ego", "emu", "ach"}
    | {"ami", "ów", "s", "es", "en", "ens", "n"}
)


@dataclass(frozen=True, slots=True)
class TeamRuleSet:
    """A team's rules and its own entities (added to the built-in dictionary for its rules)."""

    team_id: str
    rules: Sequence[RuleSpec]
    entities: Sequence[Entity] = ()


@dataclass(frozen=True, slots=True)
class RuleError:
    team_id: str
    rule_id: str
    message: str


@dataclass(frozen=True, slots=True)
class _CTerm:
    """A compiled text term: the automaton strings it stands for."""

    label: str
    words: tuple[int, ...]
    """Pattern indexes that must be whole words."""
    prefixes: tuple[int, ...]
    """Pattern indexes that must start a word (``prefix*``)."""
    title_only: bool
    entity: str | None = None


@dataclass(slots=True)
class _Rule:
    team_id: str
    rule_id: str
    spec: RuleSpec
    node: q.Node
    terms: dict[q.Term, _CTerm] = field(default_factory=dict)


@dataclass(slots=True)
class _Scan:
    """What one scan of one article found."""

    text: str
    title_len: int
    body_start: int
    word_hits: dict[int, list[tuple[int, int]]]
    prefix_hits: dict[int, list[tuple[int, int]]]
    _word_starts: list[int] | None = None

    def word_index(self, pos: int) -> int:
        if self._word_starts is None:
            self._word_starts = [m.start() for m in _WORD.finditer(self.text)]
        return bisect.bisect_right(self._word_starts, pos) - 1


def _suggest(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class _PatternTable:
    def __init__(self) -> None:
        self.strings: list[str] = []
        self.index: dict[str, int] = {}
        self.entity_of: dict[int, str] = {}

    def add(self, pattern: str) -> int:
        found = self.index.get(pattern)
        if found is None:
            found = len(self.strings)
            self.index[pattern] = found
            self.strings.append(pattern)
        return found


def _forms(name: str) -> set[str]:
    if _CYRILLIC.search(name):
        return {normalise_pattern(f) for f in surface_forms(name)} | {normalise_pattern(name)}
    return {normalise_pattern(name)}


class RuleEngine:
    """Matches articles against every compiled rule. Build it with ``RuleEngine.compile``."""

    def __init__(self) -> None:
        self._table = _PatternTable()
        self._rules: list[_Rule] = []
        self._rules_by_pattern: dict[int, list[int]] = {}
        self._always: list[int] = []
        self._rule_index: dict[tuple[str, str], int] = {}
        self._automaton: ahocorasick_rs.AhoCorasick | None = None
        self.errors: list[RuleError] = []
        self.dictionary = builtin_dictionary()

    # Compiling ---------------------------------------------------------------------------------
    @classmethod
    def compile(
        cls, teams: Iterable[TeamRuleSet], dictionary: EntityDictionary | None = None
    ) -> RuleEngine:
        """Compile every team's rules. A rule that does not compile is left out and recorded in
        ``errors``; the others still match."""
        engine = cls()
        if dictionary is not None:
            engine.dictionary = dictionary
        for entity in engine.dictionary.entities():
            engine._add_entity_names(entity)
        for team in teams:
            team_dict = engine.dictionary.extended(team.entities)
            for entity in team.entities:
                engine._add_entity_names(entity)
            for spec in team.rules:
                try:
                    engine._add_rule(team.team_id, spec, team_dict)
                except InputError as exc:
                    engine.errors.append(RuleError(team.team_id, spec.id, str(exc)))
        if engine._table.strings:
            engine._automaton = ahocorasick_rs.AhoCorasick(
                engine._table.strings, matchkind=ahocorasick_rs.MatchKind.Standard
            )
        return engine

    def _add_entity_names(self, entity: Entity) -> None:
        for name in entity.names:
            for form in _forms(name):
                self._table.entity_of.setdefault(self._table.add(form), entity.id)

    def _add_rule(self, team_id: str, spec: RuleSpec, dictionary: EntityDictionary) -> None:
        node = q.parse(spec.query)
        rule = _Rule(team_id, spec.id, spec, node)
        for term in q.terms(node):
            compiled = self._compile_term(term, dictionary)
            if compiled is not None:
                rule.terms[term] = compiled
        index = len(self._rules)
        self._rules.append(rule)
        self._rule_index[(team_id, spec.id)] = index
        if _needs_hit(node):
            patterns = {p for t in rule.terms.values() for p in (*t.words, *t.prefixes)}
            for pattern in patterns:
                self._rules_by_pattern.setdefault(pattern, []).append(index)
        else:
            self._always.append(index)

    def _compile_term(self, term: q.Term, dictionary: EntityDictionary) -> _CTerm | None:
        if term.field in ("source", "lang"):
            return None
        title_only = term.field == "title"
        label = term.text
        if term.field in _ENTITY_FIELDS:
            entity = dictionary.get(term.text)
            if entity is None or entity.kind != term.field:
                known = [e.id for e in dictionary.entities() if e.kind == term.field]
                raise QuerySyntaxError(
                    f"unknown {term.field} {term.text!r}{_suggest(term.text.lower(), known)}",
                    term.column,
                )
            return self._entity_term(entity, f"{term.field}:{entity.id}", title_only)
        if term.kind == "prefix":
            pattern = normalise_pattern(term.text)
            if not pattern:
                raise QuerySyntaxError("a prefix needs at least one letter", term.column)
            return _CTerm(f"{label}*", (), (self._table.add(pattern),), title_only)
        if term.kind == "word":
            entity = dictionary.lookup(term.text)
            if entity is not None:
                return self._entity_term(entity, label, title_only)
            patterns = tuple(sorted(self._table.add(f) for f in _forms(term.text) if f))
        else:
            pattern = normalise_pattern(term.text)
            patterns = (self._table.add(pattern),) if pattern else ()
        if not patterns:
            raise QuerySyntaxError(f"term {term.text!r} has no letters or digits", term.column)
        return _CTerm(label, patterns, (), title_only)

    def _entity_term(self, entity: Entity, label: str, title_only: bool) -> _CTerm:
        patterns: set[int] = set()
        for name in (*entity.names,):
            patterns.update(self._table.add(f) for f in _forms(name) if f)
        return _CTerm(label, tuple(sorted(patterns)), (), title_only, entity.id)

    # Matching ----------------------------------------------------------------------------------
    def rule_spec(self, team_id: str, rule_id: str) -> RuleSpec | None:
        index = self._rule_index.get((team_id, rule_id))
        return self._rules[index].spec if index is not None else None

    @property
    def rule_count(self) -> int:
        return len(self._rules)

    @property
    def pattern_count(self) -> int:
        return len(self._table.strings)

    def scan(self, article: Article) -> tuple[_Scan, NormText, NormText]:
        title = normalise(article.title)
        body = normalise(article.body)
        text = title.text + _FIELD_SEPARATOR + body.text
        words: dict[int, list[tuple[int, int]]] = {}
        prefixes: dict[int, list[tuple[int, int]]] = {}
        if self._automaton is not None:
            for pattern, start, end in self._automaton.find_matches_as_indexes(
                text, overlapping=True
            ):
                if not starts_word(text, start):
                    continue
                prefixes.setdefault(pattern, []).append((start, end))
                if ends_word(text, end):
                    words.setdefault(pattern, []).append((start, end))
        scan = _Scan(
            text, len(title.text), len(title.text) + len(_FIELD_SEPARATOR), words, prefixes
        )
        return scan, title, body

    def entities_of(self, article: Article) -> tuple[str, ...]:
        """Ids of the dictionary entities that ``article`` names in its title or body, sorted.

        Besides whole-word hits, a Latin-script name of four or more characters also counts
        when its word goes on with a short inflectional ending of the Polish, German and Swedish
        feeds (``Paryżu``, ``Zełenskiego``, ``Selenskyjs``); Cyrillic names have their inflected
        forms in the automaton already.
        """
        scan, _, _ = self.scan(article)
        entity_of = self._table.entity_of
        found = {entity_of[p] for p in scan.word_hits if p in entity_of}
        for pattern, spans in scan.prefix_hits.items():
            entity = entity_of.get(pattern)
            if entity is None or entity in found or len(self._table.strings[pattern]) < 4:
                continue
            for _, end in spans:
                rest = _WORD.match(scan.text, end)
                if rest is not None and rest.group() in _INFLECTIONS:
                    found.add(entity)
                    break
        return tuple(sorted(found))

    def match(self, article: Article) -> list[Match]:
        """Every (team, rule) that the article satisfies, with the terms that fired."""
        scan, title, body = self.scan(article)
        candidates: set[int] = set(self._always)
        for pattern in (*scan.word_hits, *scan.prefix_hits):
            candidates.update(self._rules_by_pattern.get(pattern, ()))
        if not candidates:
            return []
        entities = tuple(
            sorted({self._table.entity_of[p] for p in scan.word_hits if p in self._table.entity_of})
        )
        matches = []
        for index in sorted(candidates):
            rule = self._rules[index]
            fired: dict[q.Term, list[tuple[int, int]]] = {}
            if _evaluate(rule.node, rule, scan, article, fired, positive=True):
                matches.append(self._match(rule, article, scan, title, body, fired, entities))
        return matches

    def _match(
        self,
        rule: _Rule,
        article: Article,
        scan: _Scan,
        title: NormText,
        body: NormText,
        fired: dict[q.Term, list[tuple[int, int]]],
        entities: tuple[str, ...],
    ) -> Match:
        hits: list[Hit] = []
        labels: list[str] = []
        for term in q.terms(rule.node):
            spans = fired.get(term)
            if not spans:
                continue
            compiled = rule.terms.get(term)
            label = compiled.label if compiled else f"{term.field}:{term.text}"
            if label not in labels:
                labels.append(label)
            for start, end in spans:
                if end <= scan.title_len:
                    o_start, o_end = title.original_span(start, end)
                    hits.append(Hit(label, "title", o_start, o_end, article.title[o_start:o_end]))
                elif start >= scan.body_start:
                    o_start, o_end = body.original_span(
                        start - scan.body_start, end - scan.body_start
                    )
                    hits.append(Hit(label, "body", o_start, o_end, article.body[o_start:o_end]))
        return Match(
            team_id=rule.team_id,
            rule_id=rule.rule_id,
            article_id=article.id,
            matched=tuple(labels),
            hits=tuple(hits),
            entities=entities,
        )


def _needs_hit(node: q.Node) -> bool:
    """Whether the query can only be true when some text term is found."""
    if isinstance(node, q.Term):
        return node.field not in ("source", "lang")
    if isinstance(node, q.And):
        return any(_needs_hit(item) for item in node.items)
    if isinstance(node, q.Or):
        return all(_needs_hit(item) for item in node.items)
    return not isinstance(node, q.Not)  # a Near needs both its terms


def _term_spans(term: q.Term, rule: _Rule, scan: _Scan) -> list[tuple[int, int]]:
    compiled = rule.terms.get(term)
    if compiled is None:
        return []
    spans: list[tuple[int, int]] = []
    for pattern in compiled.words:
        spans.extend(scan.word_hits.get(pattern, ()))
    for pattern in compiled.prefixes:
        spans.extend(scan.prefix_hits.get(pattern, ()))
    if compiled.title_only:
        spans = [s for s in spans if s[1] <= scan.title_len]
    return spans


def _source_matches(value: str, article: Article) -> bool:
    value = value.lower().removeprefix("www.")
    domain = article.source.lower()
    if "." in value:
        return domain == value or domain.endswith("." + value)
    return value in domain.split(".") or value in normalise_pattern(article.outlet).split()


def _evaluate(
    node: q.Node,
    rule: _Rule,
    scan: _Scan,
    article: Article,
    fired: dict[q.Term, list[tuple[int, int]]],
    positive: bool,
) -> bool:
    if isinstance(node, q.Term):
        if node.field == "source":
            return _source_matches(node.text, article)
        if node.field == "lang":
            return (article.lang or "").lower() == node.text.lower()
        spans = _term_spans(node, rule, scan)
        if spans and positive:
            fired[node] = spans
        return bool(spans)
    if isinstance(node, q.And):
        # evaluate every item (not short-circuit) only while positive, to report all fired terms
        result = True
        for item in node.items:
            if not _evaluate(item, rule, scan, article, fired, positive):
                result = False
                if not positive:
                    return False
        return result
    if isinstance(node, q.Or):
        result = False
        for item in node.items:
            if _evaluate(item, rule, scan, article, fired, positive):
                result = True
        return result
    if isinstance(node, q.Not):
        return not _evaluate(node.item, rule, scan, article, fired, positive=False)
    return _near(node, rule, scan, fired, positive)


def _near(
    node: q.Near,
    rule: _Rule,
    scan: _Scan,
    fired: dict[q.Term, list[tuple[int, int]]],
    positive: bool,
) -> bool:
    left = _term_spans(node.left, rule, scan)
    right = _term_spans(node.right, rule, scan)
    if not left or not right:
        return False
    found_left: list[tuple[int, int]] = []
    found_right: list[tuple[int, int]] = []
    for ls, le in left:
        l_first, l_last = scan.word_index(ls), scan.word_index(le - 1)
        for rs, re_ in right:
            r_first, r_last = scan.word_index(rs), scan.word_index(re_ - 1)
            gap = r_first - l_last if r_first >= l_first else l_first - r_last
            if (ls, le) != (rs, re_) and 0 <= gap <= node.distance:
                found_left.append((ls, le))
                found_right.append((rs, re_))
    if not found_left:
        return False
    if positive:
        fired[node.left] = sorted(set(found_left))
        fired[node.right] = sorted(set(found_right))
    return True


def validate_query(query: str, dictionary: EntityDictionary) -> q.Node:
    """Parse a query and check what compiling it would check (entities exist, terms have
    letters). Raises QuerySyntaxError with the column of the offending term."""
    node = q.parse(query)
    for term in q.terms(node):
        if term.field in _ENTITY_FIELDS:
            entity = dictionary.get(term.text)
            if entity is None or entity.kind != term.field:
                known = [e.id for e in dictionary.entities() if e.kind == term.field]
                raise QuerySyntaxError(
                    f"unknown {term.field} {term.text!r}{_suggest(term.text.lower(), known)}",
                    term.column,
                )
        elif term.field not in ("source", "lang") and not normalise_pattern(term.text).strip(
            " '\"*"
        ):
            raise QuerySyntaxError(f"term {term.text!r} has no letters or digits", term.column)
    return node
