"""What a compiled rule set keeps of a rules file: each rule's values and the file's errors.

Kept apart from ``rulefile`` (the schema, its pydantic models and the YAML loader) so that
reading a compiled rule set back from the disk cache imports neither.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from peacewatch.models import Severity

if TYPE_CHECKING:
    from peacewatch.rules.rulefile import RuleSpec

__all__ = ["Digest", "Located", "RuleMeta"]

Digest = Literal["none", "hourly", "daily"]


@functools.cache
def _given(fields: frozenset[str]) -> tuple[str, ...]:
    """One tuple for each set of fields given: the rules of a file share a handful of them."""
    return tuple(sorted(fields))


class RuleMeta(NamedTuple):
    """What a compiled rule set keeps of a ``RuleSpec``: its values as a plain tuple (a model
    per rule is large and slow to read back from the disk cache), the spec made again from it
    (``spec``) only when asked for."""

    id: str
    query: str
    channels: tuple[str, ...]
    min_sources: int
    digest: Digest
    severity: Severity | None
    given: tuple[str, ...]
    """The fields the spec was given (its ``model_fields_set``), sorted."""

    @classmethod
    def of(cls, spec: RuleSpec) -> RuleMeta:
        return cls(
            spec.id,
            spec.query,
            tuple(spec.channels),
            spec.min_sources,
            spec.digest,
            spec.severity,
            _given(frozenset(spec.model_fields_set)),
        )

    def spec(self) -> RuleSpec:
        """The ``RuleSpec`` these values came from (already validated once: not again)."""
        from peacewatch.rules.rulefile import RuleSpec

        return RuleSpec.model_construct(
            _fields_set=set(self.given),
            id=self.id,
            query=self.query,
            channels=list(self.channels),
            min_sources=self.min_sources,
            digest=self.digest,
            severity=self.severity,
        )


@dataclass(frozen=True, slots=True)
class Located:
    """An error (or, with ``warning``, a warning) at a place in a file."""

    path: str
    line: int
    column: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.path}:{self.line}:{self.column}: {kind}{self.message}"
