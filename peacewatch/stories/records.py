"""What the story index keeps of placed articles: members, stories and where an article went."""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import math
import sys
from dataclasses import dataclass, field
from operator import attrgetter

from peacewatch.models import Article
from peacewatch.stories.features import Features, Kept

MAX_MEMBER_FEATURES = 64
"""Members whose features a story keeps for comparison (the first ones); later members still
join it and still find it through the token index."""
RECENT = 21
"""Articles of a story an assignment names (the article and the twenty placed before it)."""
NO_HORIZON = -math.inf
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(..., ensure_ascii=False)`` without building an encoder per call."""


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """Where an article went: its story and what the story looks like now."""

    story_id: str
    is_new: bool
    """This article started the story (also on a repeated assignment of that same article)."""
    size: int
    """Articles in the story after this one."""
    outlets: tuple[str, ...]
    """Distinct outlets (source domains, or outlet names when the source is empty), first first."""
    first_article_id: str
    duplicate_of: str | None
    """The story member this article is a syndicated copy or a near-identical re-headline of."""
    recent: tuple[str, ...] = ()
    """The story's last ``RECENT`` articles placed up to this one, in the order placed (what a
    follow-up compares itself with; the same after a restart)."""


@dataclass(frozen=True, slots=True)
class Member:
    """One placed article as the index keeps it (and as Redis stores it for a rebuild)."""

    story_id: str
    features: Features
    outlet: str
    duplicate_of: str | None
    seq: tuple[int, int]
    """Place in the order of assignment (the ingest stream's entry id)."""

    def to_json(self) -> str:
        return _ENCODE(
            [self.features.to_json(), self.outlet, self.duplicate_of or "", list(self.seq)]
        )

    @classmethod
    def from_json(cls, story_id: str, text: str) -> Member:
        feats, outlet, duplicate_of, seq = json.loads(text)
        return cls(
            story_id,
            dataclasses.replace(Features.from_json(feats), outlet=sys.intern(str(outlet))),
            sys.intern(str(outlet)),
            str(duplicate_of) or None,
            (int(seq[0]), int(seq[1])),
        )


@dataclass(slots=True)
class Story:
    """A story as the index holds it."""

    story_id: str
    first: str
    outlets: list[str] = field(default_factory=list)
    size: int = 0
    latest: float = NO_HORIZON
    """Publication time of its newest member (epoch seconds)."""
    members: list[Kept] = field(default_factory=list)
    """The first ``MAX_MEMBER_FEATURES`` members in the order they were placed."""
    by_time: list[Kept] = field(default_factory=list)
    """``members`` by publication time (ties in the order placed), kept so on each addition."""
    articles: list[str] = field(default_factory=list)
    """Every member's id, in the order placed."""

    @property
    def recent(self) -> list[str]:
        """Ids of the last ``RECENT`` members placed (not kept apart: the window holds tens of
        thousands of stories)."""
        return self.articles[-RECENT:]

    def keep(self, feats: Features | Kept, ordered: tuple[str, ...] = ()) -> None:
        """Keep ``feats`` for comparison (while the story keeps fewer than it may);
        ``ordered``: as :meth:`Kept.of` takes it."""
        if len(self.members) < MAX_MEMBER_FEATURES:
            kept = feats if isinstance(feats, Kept) else Kept.of(feats, ordered)
            self.members.append(kept)
            at = bisect.bisect_right(self.by_time, kept.published, key=_published)
            self.by_time.insert(at, kept)

    def members_since(self, horizon: float) -> list[Kept]:
        """The kept members published at or after ``horizon``, oldest first."""
        return self.by_time[bisect.bisect_left(self.by_time, horizon, key=_published) :]


_published = attrgetter("published")


def story_id_for(article_id: str) -> str:
    """A story's id, derived from the article that started it."""
    return hashlib.sha1(article_id.encode()).hexdigest()[:16]  # noqa: S324 - a name, not a secret


def outlet_of(article: Article) -> str:
    return article.source or article.outlet
