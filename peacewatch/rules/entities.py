"""Entity dictionaries: the built-in actors, places and topics, plus what a team adds."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from peacewatch.errors import ConfigError
from peacewatch.rules.textnorm import normalise_pattern
from peacewatch.rules.yamlload import safe_load

EntityKind = Literal["actor", "place", "topic"]
KINDS: tuple[EntityKind, ...] = ("actor", "place", "topic")
_LOOKUP_MEMO = 65_536
"""Most distinct names ``EntityDictionary.lookup`` remembers before it starts afresh."""


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    kind: EntityKind
    names: tuple[str, ...]
    description: str = ""


class EntityDictionary:
    """Entities by id and by any of their names (normalised)."""

    def __init__(self, entities: Iterable[Entity]) -> None:
        self._by_id: dict[str, Entity] = {}
        self._by_name: dict[str, Entity] = {}
        # lookup's answers by the name as asked: compiling many rules asks for the same few
        # thousand words again and again, and normalising one costs more than the dict probe.
        self._looked_up: dict[str, Entity | None] = {}
        for entity in entities:
            self._by_id[entity.id] = entity  # a later entity with the same id replaces the earlier
        for entity in self._by_id.values():
            for name in (entity.id, *entity.names):
                self._by_name.setdefault(normalise_pattern(name), entity)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, entity_id: str) -> Entity | None:
        return self._by_id.get(entity_id.lower())

    def __getstate__(self) -> dict[str, object]:
        # A pickled dictionary (inside a cached rule set) leaves the lookup memo behind.
        return {"_by_id": self._by_id, "_by_name": self._by_name}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._looked_up = {}

    def lookup(self, name: str) -> Entity | None:
        """The entity whose id or one of whose names is ``name``, if any."""
        seen = self._looked_up
        try:
            return seen[name]
        except KeyError:
            pass
        found = self._by_name.get(normalise_pattern(name))
        if len(seen) >= _LOOKUP_MEMO:
            seen.clear()
        seen[name] = found
        return found

    def entities(self) -> tuple[Entity, ...]:
        return tuple(self._by_id.values())

    def extended(self, extra: Iterable[Entity]) -> EntityDictionary:
        """This dictionary plus ``extra`` (a team's own entities win on a shared id)."""
        extra = tuple(extra)
        if not extra:
            return self
        return EntityDictionary((*self._by_id.values(), *extra))


def entity_from_mapping(data: Mapping[str, object], where: str = "") -> Entity:
    """Build an Entity from YAML data; raises ConfigError naming ``where`` on bad fields."""
    entity_id = data.get("id")
    kind = data.get("kind")
    names = data.get("names")
    prefix = f"{where}: " if where else ""
    if not isinstance(entity_id, str) or not entity_id or not entity_id.isascii():
        raise ConfigError(f"{prefix}entity id must be a non-empty ASCII string")
    if kind not in KINDS:
        raise ConfigError(f"{prefix}entity {entity_id!r}: kind must be one of {', '.join(KINDS)}")
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ConfigError(f"{prefix}entity {entity_id!r}: names must be a list of strings")
    description = data.get("description", "")
    return Entity(
        id=entity_id.lower(),
        kind=kind,
        names=tuple(n.strip() for n in names),
        description=description if isinstance(description, str) else "",
    )


@functools.cache
def builtin_dictionary() -> EntityDictionary:
    """The dictionary shipped with the package (``peacewatch/rules/data/entities.yaml``)."""
    path = resources.files("peacewatch.rules") / "data" / "entities.yaml"
    data = safe_load(path.read_text(encoding="utf-8")) or {}
    items = data.get("entities", []) if isinstance(data, dict) else []
    return EntityDictionary(
        entity_from_mapping(item, f"entities.yaml entry {i + 1}") for i, item in enumerate(items)
    )


def name_index(dictionary: EntityDictionary | None = None) -> dict[str, str]:
    """Normalised entity name -> entity id (the built-in dictionary by default), for story
    clustering across languages."""
    out: dict[str, str] = {}
    for entity in (dictionary or builtin_dictionary()).entities():
        for name in entity.names:
            out.setdefault(normalise_pattern(name), entity.id)
    return out
