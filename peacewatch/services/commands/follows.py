"""Personal follows: follow QUERY, unfollow ID|QUERY, follows (each user's own; no admin needed).

A follow sends its user a direct message for each new story from the team's feeds that matches
the query; later articles of the story go into that message's thread. It changes nothing for
anyone else, so any member may follow; follows are per user and per team.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from peacewatch.errors import InputError, QuerySyntaxError
from peacewatch.pipeline.summarise import clip
from peacewatch.rules.engine import validate_query
from peacewatch.rules.entities import builtin_dictionary
from peacewatch.rules.query import query_warnings
from peacewatch.services import parsing
from peacewatch.services.commands.base import (
    CMD,
    STORY_MUTE,
    CommandBase,
    _answers,
    _query_error,
    _when,
)
from peacewatch.services.commands.registry import Command
from peacewatch.services.replies import Caller, Reply
from peacewatch.services.views import dm_problem
from peacewatch.store import keys
from peacewatch.store.codec import alert_from_json
from peacewatch.store.follows import MAX_FOLLOWS, FollowStore, dm_user, same_query

DM_PLATFORMS = ("slack", "discord")
"""Where a follow can send direct messages."""
EXAMPLE = f"{CMD} follow actor:witkoff"
LINE_QUERY = 100
CHANGES_PER_HOUR = 60
"""Follows and unfollows one user may make in an hour."""
"""A query shown in the list is clipped to this many characters (20 lines fit one message)."""


class FollowCommands(CommandBase):
    """Commands that read and change the caller's own follows."""

    @property
    def _follows(self) -> FollowStore:
        return FollowStore(self._redis)

    async def _too_many_changes(self, caller: Caller) -> Reply | None:
        """A refusal once the caller changed their follows ``CHANGES_PER_HOUR`` times this
        hour: every change recompiles the matcher of all teams, which one person must not be
        able to keep busy."""
        key = keys.follow_changes(caller.team_id, caller.user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=3600, nx=True)  # the hour starts at the first change
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
        if int(count) <= CHANGES_PER_HOUR:
            return None
        minutes = max(1, -(-int(ttl) // 60))
        return Reply.fail(
            f"You changed your follows {CHANGES_PER_HOUR} times in the last hour, the most "
            f"one person may. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )

    @_answers
    async def follow(self, caller: Caller, query: str) -> Reply:
        """Follow ``query``: a DM to the caller for each new matching story of the team."""
        query = query.strip()
        if caller.platform not in DM_PLATFORMS or not caller.user_id:
            return Reply.fail("Follows send direct messages, on Slack or Discord only.")
        if not query:
            return Reply.fail("Follow which query?", hint=f'{EXAMPLE} or {CMD} follow "Donbas"')
        entities = await self._entities(caller.team_id)
        try:
            validate_query(query, builtin_dictionary().extended(entities))
        except QuerySyntaxError as exc:
            return _query_error(exc, query, EXAMPLE)
        if busy := await self._too_many_changes(caller):
            return busy
        added = await self._follows.add(
            caller.team_id, caller.user_id, caller.platform, query, self._clock().timestamp()
        )
        if added.follow is None:
            return Reply.fail(
                f"You already follow {MAX_FOLLOWS} queries here, the most one person may.",
                hint=f"Drop one first: {CMD} follows lists them, {CMD} unfollow ID removes one.",
            )
        follow = added.follow
        # following again is how a user who could not get direct messages (the bot blocked,
        # DMs closed) says they can now: the next alert is tried again
        await self._queue.resume(follow.destination)
        if not added.new:
            return Reply(
                title=f"You already follow this (follow {follow.follow_id})",
                text=f"`{clip(follow.query, 250)}`",
                footer=f"Stop: {CMD} unfollow {follow.follow_id}",
                ephemeral=True,
            )
        notes = "".join(f"\nWarning, column {w.column}: {w.message}" for w in query_warnings(query))
        return Reply(
            title=f"Following {clip(query, 120)} (follow {follow.follow_id})",
            text="You will get a direct message for each new story from this team's feeds that "
            f"matches `{clip(query, 250)}`; later articles of a story go into its thread.{notes}",
            footer=f"Stop: {CMD} unfollow {follow.follow_id} · "
            f"See what it would have caught: {CMD} rules test {clip(query, 120)}",
            ephemeral=True,
        )

    @_answers
    async def unfollow(self, caller: Caller, ref: str) -> Reply:
        """Stop a follow, named by its id or its query (``all`` stops every one)."""
        ref = ref.strip()
        held = await self._follows.of_user(caller.team_id, caller.user_id)
        if not ref:
            return Reply.fail("Unfollow which? Give its id or its query.", f"{CMD} unfollow 1")
        if ref.lower() == "all":
            chosen = held
        else:
            chosen = [f for f in held if f.follow_id == ref.lstrip("#")]
            chosen = chosen or [f for f in held if same_query(f.query, ref)]
        if not chosen:
            known = ", ".join(f"{f.follow_id} ({clip(f.query, 40)})" for f in held[:10])
            return Reply.fail(
                f"You follow nothing called {clip(ref, 64)!r}. "
                + (f"Your follows: {known}." if known else "You follow nothing here yet."),
                hint=f"{CMD} follows lists them.",
            )
        if busy := await self._too_many_changes(caller):
            return busy
        removed = await self._follows.remove(
            caller.team_id, caller.user_id, [f.follow_id for f in chosen]
        )
        if len(chosen) == 1:
            return Reply(
                title=f"Unfollowed {clip(chosen[0].query, 120)}",
                text="No more direct messages for it.",
                ephemeral=True,
            )
        return Reply(title=f"Unfollowed all {removed} of your follows", ephemeral=True)

    @_answers
    async def follows(self, caller: Caller) -> Reply:
        """The caller's follows in this team."""
        held = await self._follows.of_user(caller.team_id, caller.user_id)
        if not held:
            return Reply(
                title="You follow nothing here yet",
                text=f"Get a direct message for each new story that matches a query: {EXAMPLE}",
                ephemeral=True,
            )
        outages = await self._queue.outages()
        lines = []
        # every follow of the user goes to the same direct messages: their trouble is said once
        if (outage := outages.get(held[0].destination)) is not None:
            note = f"Direct messages to you are failing: {dm_problem(outage)}"
            if outage.paused:
                note += f"; paused until you follow a query again ({CMD} follow QUERY)"
            lines.append(clip(note, 400))
        for f in held:
            lines.append(
                f"{f.follow_id} · `{clip(f.query, LINE_QUERY)}` · since "
                + _when(datetime.fromtimestamp(f.created, UTC))
            )
        return Reply(
            title=f"You follow {len(held)} of at most {MAX_FOLLOWS} queries",
            text="\n".join(lines),
            footer=f"Stop one: {CMD} unfollow ID (or its query)",
            ephemeral=True,
        )

    def changes_follows(self, text: str) -> bool:
        """Whether a command as typed is ``follow`` or ``unfollow`` (the caller's own follows
        change: their App Home is refreshed)."""
        try:
            return parsing.parse_command(text).action in ("follow", "unfollow")
        except InputError:
            return False

    async def dm_team(self, platform: str, user_id: str, alert_id: str) -> str | None:
        """The team of a follow's direct message ``alert_id`` to ``user_id`` on ``platform``
        (a button pressed in a DM, where the platform names no team), or None when the alert
        is not a DM to that user."""
        if not alert_id or len(alert_id) > 80 or not user_id:
            return None
        raw = await self._redis.get(keys.alert_record(alert_id))
        alert = alert_from_json(raw) if raw else None
        if (
            alert is None
            or alert.destination.platform != platform
            or dm_user(alert.destination) != user_id
        ):
            return None
        return alert.team_id

    async def dm_feedback(
        self,
        caller: Caller,
        story_id: str,
        kind: Literal["mute_story", "not_relevant"],
        alert_id: str,
    ) -> Reply | None:
        """A button on a follow's direct message to the caller, which acts for them alone:
        "Mute this story" stops the story's follow-ups reaching them (no admin right needed;
        the story is the one the stored alert names, not what the button carries); "Not
        relevant" is their taste, not the team's, so it is not counted in the team's feedback
        (which admins see and ``rules suggest`` learns from). None for any other message,
        which the team's feedback answers."""
        if kind not in ("mute_story", "not_relevant") or not alert_id or len(alert_id) > 80:
            return None
        raw = await self._redis.get(keys.alert_record(alert_id))
        alert = alert_from_json(raw) if raw else None
        if (
            alert is None
            or alert.team_id != caller.team_id
            or alert.destination.platform != caller.platform
            or dm_user(alert.destination) != caller.user_id
        ):
            return None
        if kind == "not_relevant":
            return Reply(
                title="Noted, for you only",
                text="Your follows' direct messages do not count in the team's feedback. To "
                f"get fewer like it, narrow the follow: {CMD} follows lists them, then "
                f"{CMD} unfollow ID and {CMD} follow QUERY -term.",
                ephemeral=True,
            )
        await self._redis.set(
            keys.story_muted(caller.team_id, str(alert.destination), alert.story_id),
            caller.user_id,
            ex=int(STORY_MUTE.total_seconds()),
        )
        return Reply(
            title="Story muted in your direct messages for 14 days",
            text="No more follow-ups of this story will reach you.",
            ephemeral=True,
        )


COMMANDS = (
    Command("follow", lambda s, c, cmd: s.follow(c, cmd.arg)),
    Command("unfollow", lambda s, c, cmd: s.unfollow(c, cmd.arg)),
    Command("follows", lambda s, c, cmd: s.follows(c)),
)
