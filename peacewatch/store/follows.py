"""Personal follows in Redis: a user's queries, each sent to them as direct messages.

A follow is kept per team and per user (``follow actor:witkoff`` in one workspace says nothing
in another). The matcher compiles follows like rules, under an id no team rule can take
(``follow:USER:N``) and with one destination, the user's direct messages (``slack:@U123``,
``discord:@456``), so matching, story threads and exactly-once delivery are the rules' own.
Every change bumps the rules version, so the matcher recompiles.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from peacewatch.models import Alert, Destination
from peacewatch.rules.engine import TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.store import keys

MAX_FOLLOWS = 20
"""Follows one user may have in one team."""
DM_MARK = "@"
"""A destination whose target starts with it names a user, not a channel: their DMs."""
FOLLOW_RULE = "follow:"
"""How the matcher's id of a follow starts (a team rule id cannot hold a colon)."""
_WRITE_TRIES = 8


def dm_destination(platform: str, user_id: str) -> str:
    """The destination of a user's direct messages: ``slack:@U123``."""
    return f"{platform}:{DM_MARK}{user_id}"


def dm_user(destination: Destination | str) -> str | None:
    """The user whose direct messages ``destination`` names, or None for a channel."""
    if isinstance(destination, Destination):
        target = destination.target
    else:
        target = destination.partition(":")[2]
    if not target.startswith(DM_MARK):
        return None
    return target[len(DM_MARK) :] or None


def is_follow_rule(rule_id: str) -> bool:
    """Whether a matcher rule id is a personal follow rather than a team rule."""
    return rule_id.startswith(FOLLOW_RULE)


def same_query(a: str, b: str) -> bool:
    """Two spellings of one query: case and runs of spaces aside."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


@dataclass(frozen=True, slots=True)
class Follow:
    """One user's follow: a query whose new stories reach them as direct messages."""

    follow_id: str
    """A small number, unique among the user's follows in the team (``1``, ``2``, ...)."""
    user_id: str
    platform: str
    query: str
    created: float
    """Epoch seconds."""

    @property
    def destination(self) -> str:
        return dm_destination(self.platform, self.user_id)

    @property
    def rule_id(self) -> str:
        return f"{FOLLOW_RULE}{self.user_id}:{self.follow_id}"

    def as_rule(self) -> RuleSpec:
        """The follow as the matcher compiles it (its id is outside the rule id pattern on
        purpose, so it never collides with a team rule)."""
        spec = RuleSpec(id="follow", query=self.query, channels=[self.destination])
        return spec.model_copy(update={"id": self.rule_id})

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Follow:
        data = json.loads(text)
        return cls(
            follow_id=str(data["follow_id"]),
            user_id=str(data["user_id"]),
            platform=str(data["platform"]),
            query=str(data["query"]),
            created=float(data.get("created", 0.0)),
        )


@dataclass(frozen=True, slots=True)
class Added:
    """What ``FollowStore.add`` did: the follow, and whether it is new (False: the user
    already followed that query, or is at the limit and ``follow`` is None)."""

    follow: Follow | None
    new: bool


def _number(follow_id: str) -> int:
    return int(follow_id) if follow_id.isdigit() else 0


class FollowStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def of_user(self, team_id: str, user_id: str) -> list[Follow]:
        """The user's follows in the team, by id."""
        data = await self._redis.hgetall(keys.user_follows(team_id, user_id))
        follows = [Follow.from_json(v) for v in data.values()]
        return sorted(follows, key=lambda f: (_number(f.follow_id), f.follow_id))

    async def still_wanted(self, alert: Alert) -> bool:
        """Whether the user a direct message is for still follows a query it matched and has
        not muted its story (a message held by quiet hours, or queued before an unfollow or a
        mute, is then dropped, not sent)."""
        user = dm_user(alert.destination)
        if user is None:
            return True
        destination = str(alert.destination)
        if await self._redis.exists(keys.story_muted(alert.team_id, destination, alert.story_id)):
            return False
        matched = set(alert.extra.get("rules", "").split(",")) | {alert.rule_id}
        follows = {r for r in matched if is_follow_rule(r)}
        if not follows:
            return True  # not made by a follow
        return any(f.rule_id in follows for f in await self.of_user(alert.team_id, user))

    async def add(self, team_id: str, user_id: str, platform: str, query: str, now: float) -> Added:
        """Follow ``query`` for the user, with the smallest free id; the same query again is
        not added twice, and a user with ``MAX_FOLLOWS`` gets ``Added(None, False)``."""
        key = keys.user_follows(team_id, user_id)
        for _ in range(_WRITE_TRIES):  # optimistic: a concurrent change of the hash retries
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    held = [Follow.from_json(v) for v in (await pipe.hgetall(key)).values()]
                    for follow in held:
                        if same_query(follow.query, query):
                            return Added(follow, False)
                    if len(held) >= MAX_FOLLOWS:
                        return Added(None, False)
                    taken = {f.follow_id for f in held}
                    number = next(str(n) for n in range(1, MAX_FOLLOWS + 2) if str(n) not in taken)
                    follow = Follow(number, user_id, platform, query, now)
                    pipe.multi()
                    pipe.hset(key, number, follow.to_json())
                    pipe.sadd(keys.team_followers(team_id), user_id)
                    pipe.sadd(keys.follow_teams(), team_id)
                    pipe.incr(keys.rules_version())
                    await pipe.execute()
                    return Added(follow, True)
                except WatchError:
                    continue
        raise RuntimeError("the follows of this user kept changing; try again")

    async def remove(self, team_id: str, user_id: str, follow_ids: Sequence[str]) -> int:
        """Remove follows by id; returns how many were removed. A user left with no follow
        leaves the team's followers, and a team left with no follower the follow teams."""
        if not follow_ids:
            return 0
        key = keys.user_follows(team_id, user_id)
        followers = keys.team_followers(team_id)
        for _ in range(_WRITE_TRIES):  # optimistic: a concurrent change retries
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key, followers)
                    held = set(await pipe.hkeys(key))
                    gone = sorted(held & set(follow_ids))
                    others = set(await pipe.smembers(followers)) - {user_id}
                    pipe.multi()
                    if gone:
                        pipe.hdel(key, *gone)
                    if held <= set(gone):  # nothing left
                        pipe.srem(followers, user_id)
                        if not others:
                            pipe.srem(keys.follow_teams(), team_id)
                    pipe.incr(keys.rules_version())
                    await pipe.execute()
                    return len(gone)
                except WatchError:
                    continue
        raise RuntimeError("the follows of this user kept changing; try again")

    async def remove_all(self, team_id: str, user_id: str) -> list[Follow]:
        """Remove every follow of the user in the team (they left it, or an admin removed
        them); returns the follows removed, by id."""
        held = await self.of_user(team_id, user_id)
        if held:
            await self.remove(team_id, user_id, [f.follow_id for f in held])
        return held

    async def follows_elsewhere(self, platform: str, user_id: str, team_id: str) -> bool:
        """Whether the user follows anything in a team of ``platform`` other than ``team_id``
        (their direct messages, one destination for all those teams, are still wanted)."""
        for other in await self._redis.smembers(keys.follow_teams()):
            if other == team_id or not str(other).startswith(f"{platform}:"):
                continue
            if await self._redis.sismember(keys.team_followers(other), user_id):
                return True
        return False

    async def by_team(self) -> dict[str, list[Follow]]:
        """Every follow of every team (what the matcher compiles)."""
        out: dict[str, list[Follow]] = {}
        for team_id in sorted(await self._redis.smembers(keys.follow_teams())):
            for user_id in sorted(await self._redis.smembers(keys.team_followers(team_id))):
                out.setdefault(team_id, []).extend(await self.of_user(team_id, user_id))
        return out


def with_follows(
    rule_sets: Sequence[TeamRuleSet], follows: dict[str, list[Follow]]
) -> list[TeamRuleSet]:
    """The teams' rule sets with each team's follows added as rules (a team with follows and
    no rules gets a set of its own); a follow sees its team's own entities, as rules do."""
    out: list[TeamRuleSet] = []
    for rule_set in rule_sets:
        extra = [f.as_rule() for f in follows.get(rule_set.team_id, ())]
        out.append(TeamRuleSet(rule_set.team_id, [*rule_set.rules, *extra], rule_set.entities))
    known = {r.team_id for r in rule_sets}
    for team_id, team_follows in sorted(follows.items()):
        if team_id not in known and team_follows:
            out.append(TeamRuleSet(team_id, [f.as_rule() for f in team_follows]))
    return out
