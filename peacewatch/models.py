"""Frozen domain values that flow through the pipeline: articles, matches, alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Article:
    """One news item, normalised: plain text, UTC time, a stable id, a clean link."""

    id: str
    title: str
    link: str
    published: datetime
    source: str
    """The outlet's domain, e.g. ``themoscowtimes.com``."""
    outlet: str = ""
    """The outlet's display name, e.g. ``The Moscow Times``."""
    summary: str = ""
    content: str = ""
    lang: str | None = None
    feed_id: str = ""

    @property
    def body(self) -> str:
        """Summary and content joined, without repeating a summary that opens the content."""
        if not self.content:
            return self.summary
        if not self.summary or self.content.startswith(self.summary[:80]):
            return self.content
        return f"{self.summary}\n\n{self.content}"


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a query term in an article field (character offsets in that field)."""

    term: str
    field: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    """An article that satisfied one rule of one team."""

    team_id: str
    rule_id: str
    article_id: str
    matched: tuple[str, ...]
    """The query terms that fired, in query order."""
    hits: tuple[Hit, ...] = ()
    entities: tuple[str, ...] = ()
    """Ids of dictionary entities whose names were found."""


class Severity(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return {"low": 0, "normal": 1, "high": 2}[self.value]


class AlertKind(StrEnum):
    NEW = "new"
    FOLLOWUP = "followup"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where an alert goes: ``console:-``, ``slack:C0123ABCD``, ``discord:1122...``."""

    platform: str
    target: str

    @classmethod
    def parse(cls, text: str) -> Destination:
        platform, sep, target = text.partition(":")
        if not sep or not platform or not target:
            raise ValueError(f"destination {text!r} must look like platform:channel")
        return cls(platform.strip().lower(), target.strip())

    def __str__(self) -> str:
        return f"{self.platform}:{self.target}"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """One outlet's article inside a story."""

    outlet: str
    source: str
    link: str
    published: datetime
    title: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    """A formatted, platform-neutral alert for one destination."""

    alert_id: str
    """Idempotency key: the same team, destination and article always give the same id."""
    team_id: str
    rule_id: str
    story_id: str
    article_id: str
    destination: Destination
    headline: str
    summary: str
    link: str
    matched: tuple[str, ...]
    entities: tuple[str, ...]
    sources: tuple[SourceRef, ...]
    severity: Severity = Severity.NORMAL
    kind: AlertKind = AlertKind.NEW
    outlet_count: int = 1
    outlets: tuple[str, ...] = ()
    """Every outlet of the story so far, first first."""
    created: datetime | None = None
    lang: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    matched_words: tuple[str, ...] = ()
    """The matched terms as the article wrote them (``Zelensky``, ``security guarantees``),
    title first; empty when not known (the renderers then find them in the alert's text)."""
