"""Search plans: a parsed query turned into a combination of the history's token sets.

A plan holds every article the query can match (an over-approximation that the matcher then
narrows)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from peacewatch.rules import querytree as q
from peacewatch.rules.entities import EntityDictionary
from peacewatch.rules.morph import surface_forms
from peacewatch.rules.textnorm import normalise_pattern
from peacewatch.store import keys
from peacewatch.store.historytokens import MAX_TOKEN, word_tokens

__all__ = ["Plan", "Planner"]

# Plans: ("k", key) one set; ("and", parts) / ("or", parts); None means "any article".
Plan = tuple[str, object]
_NOTHING: Plan = ("or", ())


def _all(parts: Iterable[Plan | None]) -> Plan | None:
    kept = [p for p in parts if p is not None]
    if any(p == _NOTHING for p in kept):
        return _NOTHING
    unique = list(dict.fromkeys(kept))
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else ("and", tuple(unique))


def _any(parts: Iterable[Plan | None]) -> Plan | None:
    kept: list[Plan] = []
    for part in parts:
        if part is None:
            return None
        if part != _NOTHING:
            kept.append(part)
    unique = list(dict.fromkeys(kept))
    if not unique:
        return _NOTHING
    return unique[0] if len(unique) == 1 else ("or", tuple(unique))


_ENTITY_FIELDS = ("actor", "place", "topic")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@functools.lru_cache(maxsize=4096)
def _forms(name: str) -> frozenset[str]:
    """The strings the matcher looks for when a query names ``name``: the name itself and, for
    a Cyrillic name, its inflected forms (as the rule engine expands them)."""
    forms = {normalise_pattern(name)}
    if _CYRILLIC.search(name):
        forms |= {normalise_pattern(f) for f in surface_forms(name)}
    return frozenset(f for f in forms if f)


class Planner:
    """Turns a parsed query into a candidate plan over the token sets."""

    def __init__(self, node: q.Node, dictionary: EntityDictionary) -> None:
        self.node = node
        self.dictionary = dictionary
        self._patterns: dict[q.Term, tuple[frozenset[str], frozenset[str]]] = {}

    def patterns(self, term: q.Term) -> tuple[frozenset[str], frozenset[str]]:
        """(whole-word patterns, prefix patterns) a text term stands for."""
        found = self._patterns.get(term)
        if found is not None:
            return found
        words: frozenset[str] = frozenset()
        prefixes: frozenset[str] = frozenset()
        entity = None
        if term.field in _ENTITY_FIELDS:
            entity = self.dictionary.get(term.text)
        elif term.kind == "word":
            entity = self.dictionary.lookup(term.text)
            words = _forms(term.text) if entity is None else words
        elif term.kind == "prefix":
            prefixes = frozenset({normalise_pattern(term.text)})
        else:
            words = frozenset({normalise_pattern(term.text)})
        if entity is not None:
            words = frozenset(f for name in entity.names for f in _forms(name))
        found = (words, prefixes)
        self._patterns[term] = found
        return found

    def prefixes(self) -> set[str]:
        out: set[str] = set()
        for term in q.terms(self.node):
            if term.field in ("source", "lang"):
                continue
            for pattern in self.patterns(term)[1]:
                words = word_tokens(pattern)
                if words and len(words[-1]) <= MAX_TOKEN:
                    out.add(words[-1])
        return out

    def plan(self, expansions: dict[str, list[str] | None]) -> Plan | None:
        return self._node(self.node, expansions)

    def _node(self, node: q.Node, expansions: dict[str, list[str] | None]) -> Plan | None:
        if isinstance(node, q.Term):
            return self._term(node, expansions)
        if isinstance(node, q.Near):
            return _all([self._node(node.left, expansions), self._node(node.right, expansions)])
        if isinstance(node, q.Not):
            return None
        parts = [self._node(item, expansions) for item in node.items]
        return _all(parts) if isinstance(node, q.And) else _any(parts)

    def _term(self, term: q.Term, expansions: dict[str, list[str] | None]) -> Plan | None:
        if term.field == "source":
            return ("k", keys.history_token("src:" + term.text.lower().removeprefix("www.")))
        if term.field == "lang":
            return ("k", keys.history_token("lang:" + term.text.lower()))
        words, prefixes = self.patterns(term)
        parts: list[Plan | None] = []
        for pattern in sorted(words):
            parts.append(_all(_word(w) for w in word_tokens(pattern)))
        for pattern in sorted(prefixes):
            runs = word_tokens(pattern)
            if not runs:
                parts.append(None)
                continue
            expanded = expansions.get(runs[-1])
            last = (
                None if expanded is None else _any(("k", keys.history_token(w)) for w in expanded)
            )
            parts.append(_all([*(_word(w) for w in runs[:-1]), last]))
        return _any(parts)


def _word(word: str) -> Plan | None:
    return ("k", keys.history_token(word)) if len(word) <= MAX_TOKEN else None
