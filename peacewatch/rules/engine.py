"""One compiled matcher for every rule of every team: a single Aho-Corasick scan per article.

All terms of all rules (and every name of the entity dictionary) go into one automaton over
normalised text. A hit is kept only where it is a whole word (or a word start, for ``prefix*``).
An index from pattern to rules means only the rules with a hit are evaluated, so the cost of an
article grows with its length and its hits, not with the number of rules.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick_rs

from peacewatch.errors import InputError, QuerySyntaxError
from peacewatch.models import Article, Hit, Match
from peacewatch.rules import compiled as c
from peacewatch.rules import query as q
from peacewatch.rules.entities import Entity, EntityDictionary, builtin_dictionary
from peacewatch.rules.lazymatch import ArticleHits, LazyMatch
from peacewatch.rules.morph import surface_forms
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.rules.textnorm import NormText, normalise, normalise_pattern

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


@dataclass(slots=True)
class _Rule:
    team_id: str
    rule_id: str
    spec: RuleSpec
    node: c.Node
    labels: tuple[c.TermRef, ...]
    """Every text term of the query, in query order (for reporting what fired)."""
    check: c.Check
    near: bool = False
    """The query has a NEAR (outside NOT): what fired is worked out from the tree."""
    flat: c.Flat | None = None
    """The query as term-id sets when it is flat enough (``compiled.flat``): decided by set
    operations on the article's present terms instead of ``check``."""

    @classmethod
    def of(
        cls, team_id: str, rule_id: str, spec: RuleSpec, node: c.Node, labels: tuple[c.TermRef, ...]
    ) -> _Rule:
        return cls(
            team_id, rule_id, spec, node, labels, c.build(node), c.has_near(node), c.flat(node)
        )


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


@functools.lru_cache(maxsize=65536)
def _forms(name: str) -> frozenset[str]:
    """The patterns of a name: itself, plus its inflected forms when it is Cyrillic."""
    if _CYRILLIC.search(name):
        forms = {normalise_pattern(f) for f in surface_forms(name)} | {normalise_pattern(name)}
    else:
        forms = {normalise_pattern(name)}
    return frozenset(f for f in forms if f)


class RuleEngine:
    """Matches articles against every compiled rule. Build it with ``RuleEngine.compile``."""

    def __init__(self) -> None:
        self._table = _PatternTable()
        self._terms: list[c.CTerm] = []
        self._term_ids: dict[tuple[object, ...], int] = {}
        self._entity_patterns: dict[tuple[str, int], frozenset[int]] = {}
        self._rules: list[_Rule] = []
        self._by_word: dict[int, list[int]] = {}
        self._by_prefix: dict[int, list[int]] = {}
        self._always: list[int] = []
        self._rule_index: dict[tuple[str, str], int] = {}
        self._word_counts: Counter[int] = Counter()
        self._prefix_counts: Counter[int] = Counter()
        self._team_entity_of: dict[str, dict[int, str]] = {}
        self._articles_seen = 0
        self._next_reindex = 256
        self._automaton: ahocorasick_rs.AhoCorasick | None = None
        self._term_index = c.TermIndex(())
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
            engine._entity_names(entity)
        for team in teams:
            team_dict = engine.dictionary.extended(team.entities)
            own = engine._team_entity_of.setdefault(team.team_id, {})
            for entity in team.entities:
                for pattern in engine._entity_names(entity, shared=False):
                    own.setdefault(pattern, entity.id)
            for spec in team.rules:
                try:
                    engine._add_rule(team.team_id, spec, team_dict)
                except InputError as exc:
                    engine.errors.append(RuleError(team.team_id, spec.id, str(exc)))
        engine._build_automaton()
        return engine

    def _build_automaton(self) -> None:
        self._term_index = c.TermIndex(self._terms)
        self._automaton = None
        if self._table.strings:
            self._automaton = ahocorasick_rs.AhoCorasick(
                self._table.strings, matchkind=ahocorasick_rs.MatchKind.Standard
            )

    # Pickling (a compiled engine cached on disk) -----------------------------------------------
    def __getstate__(self) -> dict[str, object]:
        """Everything but the automaton and the rules' closures, which are rebuilt on load."""
        state = dict(self.__dict__)
        state["_automaton"] = None
        state.pop("_term_index", None)
        state["_rules"] = [(r.team_id, r.rule_id, r.spec, r.node, r.labels) for r in self._rules]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        rules = state.pop("_rules")
        self.__dict__.update(state)
        self._rules = [_Rule.of(t, r, spec, node, labels) for t, r, spec, node, labels in rules]
        self._build_automaton()

    def _entity_names(self, entity: Entity, shared: bool = True) -> frozenset[int]:
        """The pattern indexes of every name of ``entity`` (computed once per entity).

        Only shared (built-in) entities are reported in every team's matches; a team's own
        entities are reported in that team's matches alone."""
        key = (entity.id, id(entity))
        found = self._entity_patterns.get(key)
        if found is None:
            patterns: set[int] = set()
            for name in entity.names:
                for form in _forms(name):
                    index = self._table.add(form)
                    if shared:
                        self._table.entity_of.setdefault(index, entity.id)
                    patterns.add(index)
            found = frozenset(patterns)
            self._entity_patterns[key] = found
        return found

    def _term_id(self, key: tuple[object, ...], make: Callable[[], c.CTerm]) -> int:
        found = self._term_ids.get(key)
        if found is None:
            found = len(self._terms)
            self._terms.append(make())
            self._term_ids[key] = found
        return found

    def _add_rule(self, team_id: str, spec: RuleSpec, dictionary: EntityDictionary) -> None:
        labels: list[c.TermRef] = []
        node = self._compile_node(q.parse(spec.query), dictionary, labels)
        index = len(self._rules)
        self._rules.append(_Rule.of(team_id, spec.id, spec, node, tuple(labels)))
        self._rule_index[(team_id, spec.id)] = index
        self._index_rule(index, lambda t: c.guess_cost(t, self._table.strings))

    def _index_rule(self, index: int, cost: c.Cost) -> None:
        needed = c.trigger(self._rules[index].node, self._terms, cost)
        if needed is None:
            self._always.append(index)
            return
        for pattern, is_prefix in needed:
            (self._by_prefix if is_prefix else self._by_word).setdefault(pattern, []).append(index)

    def _learn(self, scan: c.Scan) -> None:
        """Count how often patterns are found; at 256, 1,024, 4,096, … articles, index every
        rule again under the required term that has proved rarest in the news actually seen."""
        self._word_counts.update(scan.word_set)
        self._prefix_counts.update(scan.prefix_set)
        self._articles_seen += 1
        if self._articles_seen < self._next_reindex:
            return
        self._next_reindex *= 4
        strings = self._table.strings

        counts = (self._word_counts, self._prefix_counts)

        def cost(patterns: c.Trigger) -> float:
            seen = sum(counts[is_prefix][p] for p, is_prefix in patterns)
            return seen + 0.01 * c.guess_cost(patterns, strings)

        self._by_word, self._by_prefix, self._always = {}, {}, []
        for index in range(len(self._rules)):
            self._index_rule(index, cost)

    def _compile_node(
        self, node: q.Node, dictionary: EntityDictionary, labels: list[c.TermRef]
    ) -> c.Node:
        if isinstance(node, q.Term):
            if node.field in ("source", "lang"):
                return c.Field(node.field, node.text.lower())
            ref = self._compile_term(node, dictionary)
            labels.append(ref)
            return ref
        if isinstance(node, q.And):
            return c.AllOf(tuple(self._compile_node(i, dictionary, labels) for i in node.items))
        if isinstance(node, q.Or):
            return c.AnyOf(tuple(self._compile_node(i, dictionary, labels) for i in node.items))
        if isinstance(node, q.Not):
            return c.NoneOf(self._compile_node(node.item, dictionary, []))
        left = tuple(self._compile_term(t, dictionary) for t in q.terms(node.left))
        right = tuple(self._compile_term(t, dictionary) for t in q.terms(node.right))
        labels.extend((*left, *right))
        return c.Near(left, right, node.distance)

    def _compile_term(self, term: q.Term, dictionary: EntityDictionary) -> c.TermRef:
        title_only = term.field == "title"
        if term.field in _ENTITY_FIELDS:
            entity = _named_entity(term, dictionary)
            return self._entity_ref(entity, f"{term.field}:{entity.id}", title_only)
        if term.kind == "prefix":
            pattern = normalise_pattern(term.text)
            if not pattern:
                raise QuerySyntaxError("a prefix needs at least one letter", term.column)
            tid = self._term_id(
                ("prefix", pattern, title_only),
                lambda: c.CTerm(
                    f"{term.text}*", frozenset(), frozenset({self._table.add(pattern)}), title_only
                ),
            )
            return c.TermRef(tid, f"{term.text}*")
        if term.kind == "word":
            named = dictionary.lookup(term.text)
            if named is not None:
                return self._entity_ref(named, term.text, title_only)
            forms = _forms(term.text)
        else:
            pattern = normalise_pattern(term.text)
            forms = frozenset({pattern}) if pattern else frozenset()
        if not forms:
            raise QuerySyntaxError(f"term {term.text!r} has no letters or digits", term.column)
        tid = self._term_id(
            (term.kind, forms, title_only),
            lambda: c.CTerm(
                term.text, frozenset(self._table.add(f) for f in forms), frozenset(), title_only
            ),
        )
        return c.TermRef(tid, term.text)

    def _entity_ref(self, entity: Entity, label: str, title_only: bool) -> c.TermRef:
        patterns = self._entity_names(entity)
        tid = self._term_id(
            ("entity", entity.id, id(entity), title_only),
            lambda: c.CTerm(label, patterns, frozenset(), title_only, entity.id),
        )
        return c.TermRef(tid, label)

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

    def scan(self, article: Article) -> tuple[c.Scan, NormText, NormText]:
        """One pass of the automaton over the normalised title and body."""
        title = normalise(article.title)
        body = normalise(article.body)
        text = title.text + _FIELD_SEPARATOR + body.text
        raw = (
            self._automaton.find_matches_as_indexes(text, overlapping=True)
            if self._automaton is not None
            else []
        )
        # where words start and end, found once by the regex engine, so each raw hit of the
        # automaton costs a set look-up or two
        scan = c.Scan.of(text, len(title.text), len(title.text) + len(_FIELD_SEPARATOR), raw)
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
        found = {entity_of[p] for p in scan.word_set if p in entity_of}
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
        """Every (team, rule) that the article satisfies, in rule order, with the terms that
        fired: each match works out ``matched`` and ``hits`` when first read (``LazyMatch``)."""
        scan, title, body = self.scan(article)
        self._learn(scan)
        candidates: set[int] = set(self._always)
        by_word, by_prefix = self._by_word, self._by_prefix
        for pattern in scan.word_set & by_word.keys():
            candidates.update(by_word[pattern])
        for pattern in scan.prefix_set & by_prefix.keys():
            candidates.update(by_prefix[pattern])
        if not candidates:
            return []
        ctx = c.Context(scan, article, self._terms, self._term_index.present(scan))
        entity_of = self._table.entity_of
        entities = tuple(sorted({entity_of[p] for p in scan.word_set & entity_of.keys()}))
        shared = ArticleHits(article, ctx, title, body, self.hits_at)
        per_team: dict[str, tuple[str, ...]] = {}
        matches: list[Match] = []
        rules = self._rules
        present = ctx.found
        assert present is not None
        for index in sorted(candidates):
            rule = rules[index]
            sets = rule.flat
            if sets is None:
                if not rule.check(ctx):
                    continue
            else:
                need, anys, nones = sets
                if not need <= present or (nones and not present.isdisjoint(nones)):
                    continue
                if anys and not _meets_each(anys, present):
                    continue
            named = per_team.get(rule.team_id)
            if named is None:
                own = self._team_entity_of.get(rule.team_id, {})
                extra = {own[p] for p in scan.word_set & own.keys()}
                named = tuple(sorted(set(entities) | extra)) if extra else entities
                per_team[rule.team_id] = named
            # the terms that fired and their hits are worked out when first read
            matches.append(LazyMatch.of(rule.team_id, rule.rule_id, named, rule, shared))
        return matches

    def explain_parts(
        self, team_id: str, rule_id: str, article: Article
    ) -> tuple[c.Node, c.Context, NormText, NormText] | None:
        """A compiled rule and a fresh evaluation context over ``article``, for explaining
        why the rule matches or not; None for a rule that is not compiled."""
        index = self._rule_index.get((team_id, rule_id))
        if index is None:
            return None
        scan, title, body = self.scan(article)
        return self._rules[index].node, c.Context(scan, article, self._terms), title, body

    @staticmethod
    def hits_at(
        label: str,
        spans: list[tuple[int, int]],
        article: Article,
        scan: c.Scan,
        title: NormText,
        body: NormText,
    ) -> list[Hit]:
        """Hits at their place in the article's own title and body text."""
        out = []
        for start, end in spans:
            if end <= scan.title_len:
                o_start, o_end = title.original_span(start, end)
                out.append(Hit(label, "title", o_start, o_end, article.title[o_start:o_end]))
            elif start >= scan.body_start:
                o_start, o_end = body.original_span(start - scan.body_start, end - scan.body_start)
                out.append(Hit(label, "body", o_start, o_end, article.body[o_start:o_end]))
        return out


def _meets_each(sets: tuple[frozenset[int], ...], present: set[int]) -> bool:
    for options in sets:  # noqa: SIM110 - a plain loop is faster than all() of a generator
        if present.isdisjoint(options):
            return False
    return True


def _named_entity(term: q.Term, dictionary: EntityDictionary) -> Entity:
    """The entity ``actor:ID`` (``place:``, ``topic:``) names; QuerySyntaxError if unknown."""
    entity = dictionary.get(term.text)
    if entity is None or entity.kind != term.field:
        known = [e.id for e in dictionary.entities() if e.kind == term.field]
        raise QuerySyntaxError(
            f"unknown {term.field} {term.text!r}{_suggest(term.text.lower(), known)}",
            term.column,
        )
    return entity


def validate_query(query: str, dictionary: EntityDictionary) -> q.Node:
    """Parse a query and check what compiling it would check (entities exist, terms have
    letters). Raises QuerySyntaxError with the column of the offending term."""
    node = q.parse(query)
    for term in q.terms(node):
        if term.field in _ENTITY_FIELDS:
            _named_entity(term, dictionary)
        elif term.field not in ("source", "lang") and not normalise_pattern(term.text).strip(
            " '\"*"
        ):
            raise QuerySyntaxError(f"term {term.text!r} has no letters or digits", term.column)
    return node
