"""What the story index keeps of placed articles: members, stories and where an article went."""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import math
import sys
from collections import OrderedDict
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from peacewatch.models import Article
from peacewatch.stories.features import Features

MAX_MEMBER_FEATURES = 64
"""Members whose features a story keeps for comparison (the first ones); later members still
join it and still find it through the token index."""
RECENT = 21
"""Articles of a story an assignment names (the article and the twenty placed before it)."""
NO_HORIZON = -math.inf


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
        return json.dumps(
            [self.features.to_json(), self.outlet, self.duplicate_of or "", list(self.seq)],
            ensure_ascii=False,
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


Kept = tuple[Any, ...]
"""A kept member as a story holds it: the values of its :class:`Features` fields in their
order, with ``tokens`` a tuple of the tokens that are not the headline's. A member's token set
was the largest part of the index (1.4 KB of 4.5 KB per article); the tuple takes a sixth of
that. The headline's set stays as it is: the kinds of development are looked up by it
(:func:`peacewatch.stories.events.kinds_of`, whose cache is keyed by it)."""

_FIELDS = tuple(f.name for f in dataclasses.fields(Features))
_values = attrgetter(*_FIELDS)
_HEAD, _ALL = _FIELDS.index("title_tokens"), _FIELDS.index("tokens")
MATERIALIZED = 2048
"""Stories whose kept members are held as :class:`Features` at once (those read or added
last): a decision reads the members of up to eight stories, mostly of the latest news."""


def _compact(feats: Features) -> Kept | Features:
    """``feats`` as a story keeps it (itself when its headline tokens are not all tokens)."""
    values = list(_values(feats))
    head, every = values[_HEAD], values[_ALL]
    if type(feats) is not Features or not head <= every:
        return feats
    values[_ALL] = tuple(every - head)
    return tuple(values)


def _full(kept: Kept | Features) -> Features:
    """The :class:`Features` of a kept member."""
    if type(kept) is not tuple:
        return kept  # type: ignore[return-value]
    values = list(kept)
    values[_ALL] = values[_HEAD].union(values[_ALL])
    return Features(*values)


class Materialized:
    """The stories whose kept members are held as features, the least recently read first;
    past ``size`` the oldest one's are dropped (and rebuilt from the tuples when read again)."""

    __slots__ = ("_stories", "size")

    def __init__(self, size: int = MATERIALIZED) -> None:
        self.size = size
        self._stories: OrderedDict[Story, None] = OrderedDict()

    def touch(self, story: Story) -> None:
        stories = self._stories
        if story in stories:
            stories.move_to_end(story)
            return
        stories[story] = None
        if len(stories) > self.size:
            stories.popitem(last=False)[0]._held = None


_SHARED = Materialized()
"""For stories made outside an index (an index passes its own)."""


class Story:
    """A story as the index holds it."""

    __slots__ = (
        "_held",
        "_kept",
        "_materialized",
        "_order",
        "_times",
        "articles",
        "first",
        "latest",
        "outlets",
        "size",
        "story_id",
    )  # fmt: skip

    def __init__(self, story_id: str, first: str, materialized: Materialized | None = None) -> None:
        self.story_id = story_id
        self.first = first
        self.outlets: list[str] = []
        """Distinct outlets, first first."""
        self.size = 0
        self.latest = NO_HORIZON
        """Publication time of its newest member (epoch seconds)."""
        self.articles: list[str] = []
        """Every member's id, in the order placed."""
        self._kept: list[Kept | Features] = []
        """The first ``MAX_MEMBER_FEATURES`` members, compact, in the order they were placed."""
        self._order: list[int] = []
        """Places in ``_kept`` by publication time (ties in the order placed)."""
        self._times: list[float] = []
        """Publication times in the order of ``_order``."""
        self._held: tuple[list[Features], list[Features]] | None = None
        """``members`` and ``by_time`` as features, while ``_materialized`` holds the story."""
        self._materialized = materialized or _SHARED

    @property
    def members(self) -> list[Features]:
        """The first ``MAX_MEMBER_FEATURES`` members in the order they were placed."""
        return self._features()[0]

    @members.setter
    def members(self, members: list[Features]) -> None:
        self._kept, self._order, self._times, self._held = [], [], [], None
        for feats in members:
            self.keep(feats)

    @property
    def by_time(self) -> list[Features]:
        """``members`` by publication time (ties in the order placed)."""
        return self._features()[1]

    @by_time.setter
    def by_time(self, by_time: list[Features]) -> None:
        """Only to empty a story's members (as setting ``members`` to ``[]`` does)."""
        if by_time:
            raise ValueError("set members, not by_time")
        self.members = []

    @property
    def recent(self) -> list[str]:
        """Ids of the last ``RECENT`` members placed (not kept apart: the window holds tens of
        thousands of stories)."""
        return self.articles[-RECENT:]

    def keep(self, feats: Features) -> None:
        """Keep ``feats`` for comparison (while the story keeps fewer than it may)."""
        if len(self._kept) >= MAX_MEMBER_FEATURES:
            return
        at = bisect.bisect_right(self._times, feats.published)
        self._times.insert(at, feats.published)
        self._order.insert(at, len(self._kept))
        self._kept.append(_compact(feats))
        held = self._held
        if held is not None:
            held[0].append(feats)
            held[1].insert(at, feats)
        elif len(self._kept) == 1:  # a new story: the next articles likely compare with it
            self._held = ([feats], [feats])
            self._materialized.touch(self)

    def members_since(self, horizon: float) -> list[Features]:
        """The kept members published at or after ``horizon``, oldest first."""
        return self._features()[1][bisect.bisect_left(self._times, horizon) :]

    def _features(self) -> tuple[list[Features], list[Features]]:
        held = self._held
        if held is None:
            members = [_full(k) for k in self._kept]
            held = self._held = (members, [members[i] for i in self._order])
        self._materialized.touch(self)
        return held


def story_id_for(article_id: str) -> str:
    """A story's id, derived from the article that started it."""
    return hashlib.sha1(article_id.encode()).hexdigest()[:16]  # noqa: S324 - a name, not a secret


def outlet_of(article: Article) -> str:
    return article.source or article.outlet
