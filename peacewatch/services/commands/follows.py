"""Personal follows: follow QUERY, unfollow ID|QUERY, follows (each user's own; no admin needed),
and for team admins unfollow @user ID|all and follows @user (another member's).

A follow sends its user a direct message for each new story from the team's feeds that matches
the query; later articles of the story go into that message's thread. It changes nothing for
anyone else, so any member may follow; follows are per user and per team. Admins may list and
remove another member's follows (a departed colleague's, a query that should not run).
"""

from __future__ import annotations

import logging
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
    NOT_ADMIN_HINT,
    PLATFORM_ADMINS,
    STORY_MUTE,
    CommandBase,
    _answers,
    _query_error,
    _when,
)
from peacewatch.services.commands.registry import Command
from peacewatch.services.membership import Departures
from peacewatch.services.replies import Caller, Reply
from peacewatch.services.views import dm_problem
from peacewatch.store import keys
from peacewatch.store.codec import alert_from_json
from peacewatch.store.follows import MAX_FOLLOWS, Follow, FollowStore, dm_user, same_query

log = logging.getLogger(__name__)

DM_PLATFORMS = ("slack", "discord")
"""Where a follow can send direct messages."""
EXAMPLE = f"{CMD} follow actor:witkoff"
LINE_QUERY = 100
"""A query shown in the list is clipped to this many characters (20 lines fit one message)."""
CHANGES_PER_HOUR = 60
"""Follows and unfollows one user may make in an hour."""


def mention(user_id: str) -> str:
    """A user as both Slack and Discord show them in a message."""
    return f"<@{user_id}>"


def others_refused(platform: str) -> Reply:
    """The refusal of ``follows @user`` or ``unfollow @user`` to someone who is no admin."""
    who = PLATFORM_ADMINS.get(platform, "platform admins")
    return Reply.fail(
        f"Only {who} and this team's peacewatch admins can list or remove another member's "
        "follows. Your own: follows, unfollow ID.",
        hint=NOT_ADMIN_HINT,
    )


def _listed(held: list[Follow]) -> str:
    """The first ten follows as ``ID (query)``, for a reply that names none of them."""
    return ", ".join(f"{f.follow_id} ({clip(f.query, 40)})" for f in held[:10])


def _chosen(held: list[Follow], ref: str) -> list[Follow]:
    """The follows ``ref`` names: ``all``, an id (``3`` or ``#3``), or a query."""
    if ref.lower() == "all":
        return held
    chosen = [f for f in held if f.follow_id == ref.lstrip("#")]
    return chosen or [f for f in held if same_query(f.query, ref)]


class FollowCommands(CommandBase):
    """Commands that read and change the caller's own follows."""

    @property
    def _follows(self) -> FollowStore:
        return FollowStore(self._redis)

    @property
    def departures(self) -> Departures:
        """What the chat adapters call when a follow's reader left the follow's team."""
        return Departures(self._redis)

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
        """Stop a follow, named by its id or its query (``all`` stops every one); an admin's
        ``unfollow @user ID|all`` stops another member's."""
        target, ref = parsing.split_user(ref)
        if target is not None and target != caller.user_id:
            return await self._unfollow_other(caller, target, ref)
        held = await self._follows.of_user(caller.team_id, caller.user_id)
        if not ref:
            return Reply.fail("Unfollow which? Give its id or its query.", f"{CMD} unfollow 1")
        chosen = _chosen(held, ref)
        if not chosen:
            known = _listed(held)
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

    async def _unfollow_other(self, caller: Caller, target: str, ref: str) -> Reply:
        """An admin removes another member's follows (by id, query or ``all``)."""
        if not await self.is_admin(caller):
            return others_refused(caller.platform)
        who = mention(target)
        if not ref:
            return Reply.fail(
                f"Unfollow which of {who}'s follows? Give its id, or all.",
                hint=f"{CMD} follows {who} lists them; {CMD} unfollow {who} all removes every one.",
            )
        held = await self._follows.of_user(caller.team_id, target)
        chosen = _chosen(held, ref)
        if not chosen:
            known = _listed(held)
            return Reply.fail(
                f"{who} follows nothing called {clip(ref, 64)!r} here. "
                + (f"Their follows: {known}." if known else "They follow nothing here."),
                hint=f"{CMD} follows {who} lists them.",
            )
        if busy := await self._too_many_changes(caller):
            return busy
        removed = await self._follows.remove(caller.team_id, target, [f.follow_id for f in chosen])
        log.info(
            "admin %s removed %d follow%s of %s in %s (%s)",
            caller.user_id, removed, "" if removed == 1 else "s", target, caller.team_id,
            ", ".join(f.follow_id for f in chosen),
            extra={"team_id": caller.team_id},
        )  # fmt: skip
        lines = [f"{f.follow_id} · `{clip(f.query, LINE_QUERY)}`" for f in chosen]
        return Reply(
            title=f"Removed {removed} of {who}'s follows"
            if len(chosen) > 1
            else f"Removed {who}'s follow {chosen[0].follow_id}",
            text="\n".join(lines)
            + f"\n{who} gets no more direct messages for {'them' if len(chosen) > 1 else 'it'}.",
            ephemeral=True,
        )

    @_answers
    async def follows(self, caller: Caller, who: str = "") -> Reply:
        """The caller's follows in this team; an admin's ``follows @user``: another member's."""
        target, rest = parsing.split_user(who)
        if who.strip() and (target is None or rest):
            return Reply.fail(
                "follows lists your own follows; admins add @user to list someone else's.",
                hint=f"{CMD} follows @maria",
            )
        if target is not None and target != caller.user_id:
            if not await self.is_admin(caller):
                return others_refused(caller.platform)
            return await self._listing(caller, target, mine=False)
        return await self._listing(caller, caller.user_id, mine=True)

    async def _listing(self, caller: Caller, user_id: str, mine: bool) -> Reply:
        held = await self._follows.of_user(caller.team_id, user_id)
        if not mine:
            who = mention(user_id)
            if not held:
                return Reply(title=f"{who} follows nothing here", ephemeral=True)
            return Reply(
                title=f"{who} follows {len(held)} of at most {MAX_FOLLOWS} queries",
                text="\n".join(await self._lines(held, "them")),
                footer=f"Remove one: {CMD} unfollow {who} ID (or all)",
                ephemeral=True,
            )
        if not held:
            return Reply(
                title="You follow nothing here yet",
                text=f"Get a direct message for each new story that matches a query: {EXAMPLE}",
                ephemeral=True,
            )
        return Reply(
            title=f"You follow {len(held)} of at most {MAX_FOLLOWS} queries",
            text="\n".join(await self._lines(held, "you")),
            footer=f"Stop one: {CMD} unfollow ID (or its query)",
            ephemeral=True,
        )

    async def _lines(self, held: list[Follow], whom: str) -> list[str]:
        """One line per follow, after the trouble of their direct messages if they have any
        (every follow of a user goes to the same direct messages: it is said once)."""
        lines = []
        if (outage := (await self._queue.outages()).get(held[0].destination)) is not None:
            note = f"Direct messages to {whom} are failing: {dm_problem(outage)}"
            if outage.paused:
                note += f"; paused until {'you follow' if whom == 'you' else 'they follow'} "
                note += f"a query again ({CMD} follow QUERY)"
            lines.append(clip(note, 400))
        for f in held:
            lines.append(
                f"{f.follow_id} · `{clip(f.query, LINE_QUERY)}` · since "
                + _when(datetime.fromtimestamp(f.created, UTC))
            )
        return lines

    def whose_follows(self, caller: Caller, text: str) -> str | None:
        """The user whose follows a command as typed changes, whose App Home is then
        refreshed: the caller's for ``follow`` and ``unfollow``, the member's for an admin's
        ``unfollow @member ...``; None for any other command."""
        try:
            command = parsing.parse_command(text)
            if command.action == "follow":
                return caller.user_id
            if command.action != "unfollow":
                return None
            target, _ = parsing.split_user(command.arg)
        except InputError:
            return None
        return target or caller.user_id

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
    Command("follows", lambda s, c, cmd: s.follows(c, cmd.arg)),
)
