"""One compiled matcher for every rule of every team: a single Aho-Corasick scan per article.

All terms of all rules (and every name of the entity dictionary) go into one automaton over
normalised text whose words are marked (``marking``), so the automaton itself finds whole words
(or word starts, for ``prefix*``). The terms an article holds are found at once from the
patterns found; an index of rules by their rarest terms (``ruleindex``) means only the rules
those terms can satisfy are looked at, so the cost of an article grows with its length and its
hits, not with the number of rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import starmap
from typing import TYPE_CHECKING, Any

from peacewatch.errors import InputError
from peacewatch.models import Article, Hit, Match
from peacewatch.rules import compiled as c
from peacewatch.rules import fastpath as fp
from peacewatch.rules import query as q
from peacewatch.rules.entities import Entity, EntityDictionary, builtin_dictionary
from peacewatch.rules.lazymatch import ArticleHits, lazy_matches
from peacewatch.rules.ruleindex import RuleIndex
from peacewatch.rules.rulemeta import RuleMeta
from peacewatch.rules.scanner import Scanner
from peacewatch.rules.termcompile import TermCompiler
from peacewatch.rules.termcompile import validate_query as validate_query
from peacewatch.rules.textnorm import NormText, normalise

if TYPE_CHECKING:
    from peacewatch.rules.rulefile import RuleSpec

__all__ = ["RuleEngine", "RuleError", "TeamRuleSet", "validate_query"]

_WORD = re.compile(r"\w+")
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
    meta: RuleMeta
    """The rule's spec, as plain values."""
    node: c.Node
    labels: tuple[c.TermRef, ...]
    """Every text term of the query, in query order (for reporting what fired)."""
    near: bool = False
    """The query has a NEAR (outside NOT): what fired is worked out from the tree."""
    flat: fp.Flat | None = None
    """The query as term-id sets when it is flat enough (``compiled.flat``): decided by set
    operations on the article's present terms instead of ``check``."""
    check: fp.Check | None = None
    """The query as one function of the article's context, for a query that is not flat:
    built when first evaluated (closures do not pickle, and most rules are never evaluated)."""

    @classmethod
    def of(
        cls,
        team_id: str,
        spec: RuleSpec,
        node: c.Node,
        labels: tuple[c.TermRef, ...],
        shared: dict[frozenset[int], frozenset[int]],
    ) -> _Rule:
        """``shared``: term-id sets already made, used again for the same sets."""
        flat = fp.flat(node, shared)
        return cls(team_id, spec.id, RuleMeta.of(spec), node, labels, c.has_near(node), flat)

    def state(self) -> _RuleState:
        return self.team_id, self.rule_id, self.meta, self.node, self.labels, self.near, self.flat


_RuleState = tuple[str, str, RuleMeta, c.Node, tuple[c.TermRef, ...], bool, "fp.Flat | None"]
"""A compiled rule as it is pickled: ``_Rule``'s fields but ``check``."""


class RuleEngine:
    """Matches articles against every compiled rule. Build it with ``RuleEngine.compile``."""

    def __init__(self) -> None:
        self._compiler = TermCompiler()
        self._terms = self._compiler.terms
        self._rules: list[_Rule] = []
        self._sets: dict[frozenset[int], frozenset[int]] = {}
        """Term-id sets of the flat queries, one object for equal sets."""
        self._rule_index: dict[tuple[str, str], int] = {}
        self._specs: dict[int, RuleSpec] = {}
        """Specs made again from the rules' values (``rule_spec``), by rule number."""
        self._team_entity_of: dict[str, dict[int, str]] = {}
        self._scanner = Scanner(())
        self._entity_scanner: Scanner | None = None
        self._term_index = c.TermIndex(())
        self._index = RuleIndex((), (), ())
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
        compiler = engine._compiler
        for entity in engine.dictionary.entities():
            compiler.entity_names(entity)
        for team in teams:
            team_dict = engine.dictionary.extended(team.entities)
            own = engine._team_entity_of.setdefault(team.team_id, {})
            for entity in team.entities:
                for pattern in compiler.entity_names(entity, shared=False):
                    own.setdefault(pattern, entity.id)
            for spec in team.rules:
                try:
                    engine._add_rule(team.team_id, spec, team_dict)
                except InputError as exc:
                    engine.errors.append(RuleError(team.team_id, spec.id, str(exc)))
        engine._build()
        return engine

    def _add_rule(self, team_id: str, spec: RuleSpec, dictionary: EntityDictionary) -> None:
        labels: list[c.TermRef] = []
        node = self._compiler.node(q.parse(spec.query), dictionary, labels)
        self._rule_index[(team_id, spec.id)] = len(self._rules)
        self._rules.append(_Rule.of(team_id, spec, node, tuple(labels), self._sets))

    def _build(self) -> None:
        """The automaton and the indexes, from the compiled terms and rules."""
        compiler = self._compiler
        strings = compiler.table.strings
        self._scanner = Scanner(strings, compiler.prefixes)
        self._entity_scanner = None
        self._term_index = c.TermIndex(self._terms)
        self._term_index.prepare(self._scanner.layout)
        self._index = RuleIndex(
            [r.node for r in self._rules],
            [r.flat for r in self._rules],
            [fp.guess_cost(term, strings) for term in self._terms],
            self._sets,
        )

    # Pickling (a compiled engine cached on disk) -----------------------------------------------
    def __getstate__(self) -> dict[str, object]:
        """The built indexes and tables as they are (a load is a plain read of them), the rules
        as tuples; not the entity automaton (built when first asked for), the rules' closures
        (built when first evaluated), the specs made again, nor the sets kept for compiling."""
        state = dict(self.__dict__)
        for name in ("_entity_scanner", "_sets", "_specs", "_rule_index"):
            state.pop(name, None)
        state["_rules"] = [rule.state() for rule in self._rules]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        rules: list[_RuleState] = state.pop("_rules")
        self.__dict__.update(state)
        self._sets = {}
        self._specs = {}
        self._entity_scanner = None
        self._rules = list(starmap(_Rule, rules))
        self._rule_index = {(r[0], r[1]): i for i, r in enumerate(rules)}

    # Matching ----------------------------------------------------------------------------------
    def rule_spec(self, team_id: str, rule_id: str) -> RuleSpec | None:
        index = self._rule_index.get((team_id, rule_id))
        if index is None:
            return None
        found = self._specs.get(index)
        if found is None:
            found = self._specs[index] = self._rules[index].meta.spec()
        return found

    @property
    def rule_count(self) -> int:
        return len(self._rules)

    @property
    def pattern_count(self) -> int:
        return len(self._compiler.table.strings)

    def scan(self, article: Article) -> tuple[c.Scan, NormText, NormText]:
        """One pass of the automaton over the normalised title and body."""
        title = normalise(article.title)
        body = normalise(article.body)
        return self._scanner.scan(title.text, body.text), title, body

    def entities_of(self, article: Article) -> tuple[str, ...]:
        """Ids of the dictionary entities that ``article`` names in its title or body, sorted.

        Besides whole-word hits, a name of four or more characters also counts when its word
        goes on with a short inflectional ending of the Polish, German and Swedish feeds
        (``Paryżu``, ``Zełenskiego``, ``Selenskyjs``); Cyrillic names have their inflected
        forms in the automaton already.
        """
        table = self._compiler.table
        entity_of, strings = table.entity_of, table.strings
        if self._entity_scanner is None:
            longer = {p for p in entity_of if len(strings[p]) >= 4}
            self._entity_scanner = Scanner(strings, longer, only=entity_of.keys())
        title, body = normalise(article.title).text, normalise(article.body).text
        scan = self._entity_scanner.scan(title, body)
        found = {entity_of[p] for p in scan.word_set if p in entity_of}
        for pattern in scan.prefix_set:
            entity = entity_of[pattern]
            if entity in found:
                continue
            for _, end in scan.prefix_spans(pattern):
                rest = _WORD.match(scan.text, end)
                if rest is not None and rest.group() in _INFLECTIONS:
                    found.add(entity)
                    break
        return tuple(sorted(found))

    def match(self, article: Article) -> list[Match]:
        """Every (team, rule) that the article satisfies, in rule order, with the terms that
        fired: each match works out its values when first read (``LazyMatch``)."""
        scan, title, body = self.scan(article)
        present_ids = self._term_index.present_ids(scan)
        mask = self._index.mask(present_ids)
        candidates = self._index.candidates(present_ids, mask)
        if not len(candidates):
            return []
        # which terms are present, read from the mask's bytes: no set of them is made
        ctx = c.Context(scan, article, self._terms, None, present_ids, mask.tobytes())
        rules = self._rules
        listed = candidates.tolist()
        undecided = self._index.undecided(candidates)
        if undecided:  # the rules that being listed does not decide: evaluated
            failed = {i for i in undecided if not _holds(rules[i], ctx)}
            if failed:  # one pass, however many failed (NEAR rules whose words are far apart)
                listed = [i for i in listed if i not in failed]
        if not listed:
            return []
        entity_of = self._compiler.table.entity_of
        team_entity_of = self._team_entity_of
        shared: list[tuple[str, ...]] = []

        def named(team_id: str) -> tuple[str, ...]:  # asked once per team, when first read
            if not shared:
                shared.append(
                    tuple(sorted({entity_of[p] for p in scan.word_set & entity_of.keys()}))
                )
            entities = shared[0]
            own = team_entity_of.get(team_id)
            if not own:
                return entities
            extra = {own[p] for p in scan.word_set & own.keys()}
            return tuple(sorted(set(entities) | extra)) if extra else entities

        # the values of each match are worked out when first read
        return lazy_matches(
            listed, ArticleHits(article, ctx, title, body, self.hits_at, rules, named)
        )

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


def _holds(rule: _Rule, ctx: c.Context) -> bool:
    """Whether a rule listed for an article (``RuleIndex.candidates``) holds."""
    sets = rule.flat
    if sets is None:
        check = rule.check
        if check is None:
            check = rule.check = fp.build(rule.node)
        return check(ctx)
    present = ctx.present_set()
    assert present is not None
    need, anys, nones = sets
    if not need <= present or (nones and not present.isdisjoint(nones)):
        return False
    return not anys or _meets_each(anys, present)


def _meets_each(sets: tuple[frozenset[int], ...], present: set[int]) -> bool:
    for options in sets:  # noqa: SIM110 - a plain loop is faster than all() of a generator
        if present.isdisjoint(options):
            return False
    return True
