"""Whether a follow's reader still belongs to its team, and what happens once they do not.

A personal follow sends its user direct messages of one team's stories. Someone removed from
that team (a Discord server they left or were removed from, a Slack account deactivated, or in
an Enterprise Grid removed from the workspace) must get nothing more from it, even though the
platform would still carry a direct message to them. Each chat adapter asks its platform before
it posts a follow's direct message and keeps the answer in a ``MemberCache`` for a while (a
burst of alerts costs one lookup per user); this module holds that cache and ``Departures``,
which acts on a "gone" answer the same way for every platform:

- the user's follows of that team are removed (logged once, counted in
  ``peacewatch_follow_members_gone_total``), so no more alerts are made for them and queued
  ones are dropped before they reach the platform;
- the direct message that found it out is not delivered: the sink raises ``ReaderGone``, and the
  dispatcher sets the alert aside as a dead letter whose reason starts "reader left the team".
  The destination is not paused nor counted as failing: the user's direct messages are one
  destination for all the teams of the platform, and their follows of other teams go on.

A membership that cannot be checked (the platform down, rate limited, a missing scope) or
whose answer does not say for sure (Slack's ``user_not_found``, also what a token of another
workspace gets) is ``UNKNOWN``: the message is delivered as before, never lost for a failed
check, and no follow is removed on it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum

import redis.asyncio as aioredis
from prometheus_client import Counter

from peacewatch import metrics
from peacewatch.errors import ReaderGone
from peacewatch.store.follows import FollowStore

log = logging.getLogger(__name__)

MEMBER_TTL = 600.0
"""Seconds a "member" answer is kept (a burst of alerts: one lookup per user). A "gone" answer
is not kept: it removes the follows, so no later alert asks again, and someone who rejoins and
follows again must not be taken for gone by an old answer."""
UNKNOWN_TTL = 60.0
"""Seconds an unanswered check is kept: a platform in trouble is not asked at every alert."""
MAX_ENTRIES = 10_000
"""Answers kept in memory (then the cache starts again)."""

MEMBERS_GONE = Counter(
    "peacewatch_follow_members_gone",
    "Follow readers found no longer members of the follow's team (their follows removed)",
    ["platform"],
    registry=metrics.REGISTRY,
)


class Membership(Enum):
    """What the platform said about a user in a team."""

    MEMBER = "member"
    GONE = "gone"
    UNKNOWN = "unknown"
    """It could not be asked or did not answer: deliver as before."""


class MemberCache:
    """Answers of membership checks by (team id, user id), each kept for its TTL."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._answers: dict[tuple[str, str], tuple[Membership, float]] = {}

    def get(self, team_id: str, user_id: str) -> Membership | None:
        """The answer kept for the user in the team, or None when there is none (or it aged)."""
        kept = self._answers.get((team_id, user_id))
        if kept is None:
            return None
        answer, until = kept
        if until <= self._clock():
            del self._answers[(team_id, user_id)]
            return None
        return answer

    def put(self, team_id: str, user_id: str, answer: Membership) -> None:
        if answer is Membership.GONE:
            self.forget(team_id, user_id)
            return
        if len(self._answers) >= MAX_ENTRIES:
            self._answers.clear()
        ttl = UNKNOWN_TTL if answer is Membership.UNKNOWN else MEMBER_TTL
        self._answers[(team_id, user_id)] = (answer, self._clock() + ttl)

    def forget(self, team_id: str, user_id: str) -> None:
        self._answers.pop((team_id, user_id), None)


class Departures:
    """Acts on a follow reader who is no longer a member of the follow's team."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._follows = FollowStore(redis)

    async def gone(
        self, platform: str, team_id: str, user_id: str, destination: str, why: str
    ) -> ReaderGone:
        """Remove the user's follows of ``team_id`` and return the ``ReaderGone`` the sink
        raises for the direct message that found it out. ``why`` is what the platform
        answered, e.g. ``"discord: Unknown Member (10007)"``; it names no secret."""
        removed = await self._follows.remove_all(team_id, user_id)
        reason = f"{why}: {user_id} is no longer a member of {team_id}"
        if removed:  # once: a second replica or a queued alert finds nothing left to remove
            MEMBERS_GONE.labels(platform).inc()
            log.warning(
                "%s; removed their %d follow%s there (%s); their direct messages from it stop",
                reason, len(removed), "" if len(removed) == 1 else "s",
                ", ".join(f.follow_id for f in removed),
                extra={"team_id": team_id, "destination": destination},
            )  # fmt: skip
        return ReaderGone(f"{reason}; their follows there were removed")
