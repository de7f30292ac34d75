"""Queries to compiled trees: each term to the automaton patterns it stands for (every name of
a dictionary entity, the inflected forms of a Cyrillic word), shared by every rule that names it.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable

from peacewatch.errors import QuerySyntaxError
from peacewatch.rules import compiled as c
from peacewatch.rules import query as q
from peacewatch.rules.entities import Entity, EntityDictionary
from peacewatch.rules.morph import surface_forms
from peacewatch.rules.textnorm import normalise_pattern

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
ENTITY_FIELDS = ("actor", "place", "topic")


class PatternTable:
    """Every pattern string once, by index; ``entity_of`` names the built-in entity of a name."""

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


class TermCompiler:
    """Compiles query trees over one pattern table and one list of terms (``terms``): a term
    that two rules share (the same word, phrase, prefix or entity) is compiled once."""

    def __init__(self) -> None:
        self.table = PatternTable()
        self.terms: list[c.CTerm] = []
        self.prefixes: set[int] = set()
        """Patterns searched at the start of a word (``prefix*`` terms)."""
        self._term_ids: dict[tuple[object, ...], int] = {}
        self._entity_patterns: dict[tuple[str, int], frozenset[int]] = {}
        self._refs: dict[tuple[int, str], c.TermRef] = {}

    _MEMOS = ("_term_ids", "_entity_patterns", "_refs")
    """What only shares work while compiling (some keyed by the entities' object ids, which mean
    nothing in another process): left out of a pickle. A compiler read back compiles more
    correctly, only without sharing terms with what it compiled before."""

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        for name in self._MEMOS:
            del state[name]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        for name in self._MEMOS:
            setattr(self, name, {})

    def entity_names(self, entity: Entity, shared: bool = True) -> frozenset[int]:
        """The pattern indexes of every name of ``entity`` (computed once per entity).

        Only shared (built-in) entities are reported in every team's matches; a team's own
        entities are reported in that team's matches alone."""
        key = (entity.id, id(entity))
        found = self._entity_patterns.get(key)
        if found is None:
            patterns: set[int] = set()
            for name in entity.names:
                for form in _forms(name):
                    index = self.table.add(form)
                    if shared:
                        self.table.entity_of.setdefault(index, entity.id)
                    patterns.add(index)
            found = frozenset(patterns)
            self._entity_patterns[key] = found
        return found

    def _term_id(self, key: tuple[object, ...], make: Callable[[], c.CTerm]) -> int:
        found = self._term_ids.get(key)
        if found is None:
            found = len(self.terms)
            self.terms.append(make())
            self._term_ids[key] = found
        return found

    def node(self, node: q.Node, dictionary: EntityDictionary, labels: list[c.TermRef]) -> c.Node:
        """The compiled tree of ``node``; its text terms are added to ``labels`` in query
        order (not those under NOT). QuerySyntaxError for an unknown entity or an empty term."""
        if isinstance(node, q.Term):
            if node.field in ("source", "lang"):
                return c.Field(node.field, node.text.lower())
            ref = self.term(node, dictionary)
            labels.append(ref)
            return ref
        if isinstance(node, q.And):
            return c.AllOf(tuple(self.node(i, dictionary, labels) for i in node.items))
        if isinstance(node, q.Or):
            return c.AnyOf(tuple(self.node(i, dictionary, labels) for i in node.items))
        if isinstance(node, q.Not):
            return c.NoneOf(self.node(node.item, dictionary, []))
        left = tuple(self.term(t, dictionary) for t in q.terms(node.left))
        right = tuple(self.term(t, dictionary) for t in q.terms(node.right))
        labels.extend((*left, *right))
        return c.Near(left, right, node.distance)

    def term(self, term: q.Term, dictionary: EntityDictionary) -> c.TermRef:
        title_only = term.field == "title"
        table = self.table
        if term.field in ENTITY_FIELDS:
            entity = named_entity(term, dictionary)
            return self._entity_ref(entity, f"{term.field}:{entity.id}", title_only)
        if term.kind == "prefix":
            pattern = normalise_pattern(term.text)
            if not pattern:
                raise QuerySyntaxError("a prefix needs at least one letter", term.column)
            index = table.add(pattern)
            self.prefixes.add(index)
            tid = self._term_id(
                ("prefix", pattern, title_only),
                lambda: c.CTerm(f"{term.text}*", frozenset(), frozenset({index}), title_only),
            )
            return self._ref(tid, f"{term.text}*")
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
                term.text, frozenset(table.add(f) for f in forms), frozenset(), title_only
            ),
        )
        return self._ref(tid, term.text)

    def _entity_ref(self, entity: Entity, label: str, title_only: bool) -> c.TermRef:
        patterns = self.entity_names(entity)
        tid = self._term_id(
            ("entity", entity.id, id(entity), title_only),
            lambda: c.CTerm(label, patterns, frozenset(), title_only, entity.id),
        )
        return self._ref(tid, label)

    def _ref(self, tid: int, label: str) -> c.TermRef:
        """The one ``TermRef`` of a term and label, shared by every rule that names them: a
        compiled rule set pickles (and reads back) each once."""
        key = (tid, label)
        found = self._refs.get(key)
        if found is None:
            found = self._refs[key] = c.TermRef(tid, label)
        return found


def _suggest(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def named_entity(term: q.Term, dictionary: EntityDictionary) -> Entity:
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
        if term.field in ENTITY_FIELDS:
            named_entity(term, dictionary)
        elif term.field not in ("source", "lang") and not normalise_pattern(term.text).strip(
            " '\"*"
        ):
            raise QuerySyntaxError(f"term {term.text!r} has no letters or digits", term.column)
    return node
