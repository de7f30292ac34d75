"""Rule commands: add, list, remove, test, mute, unmute, subscribe; alert feedback."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from peacewatch.errors import QuerySyntaxError
from peacewatch.pipeline.summarise import clip
from peacewatch.rules.engine import validate_query
from peacewatch.rules.entities import builtin_dictionary
from peacewatch.rules.query import query_warnings
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services import parsing as p
from peacewatch.services.replies import Caller, Reply
from peacewatch.store import keys

if TYPE_CHECKING:
    pass
from peacewatch.services.commands.base import (
    _RULE_ID,
    CMD,
    COMPLETIONS,
    DEFAULT_MUTE,
    MAX_RULES,
    PAGE,
    STORY_MUTE,
    CommandBase,
    _answers,
    _footer,
    _item,
    _n,
    _query_error,
    _when,
)
from peacewatch.services.commands.registry import Command


class RuleCommands(CommandBase):
    """Commands that read and change the team's watch rules."""

    # Rules -------------------------------------------------------------------------------------
    @_answers
    async def rules_add(
        self, caller: Caller, rule_id: str, query: str, channel: str | None = None
    ) -> Reply:
        example = f'{CMD} rules add witkoff-donbas Witkoff AND (Donbas OR "security guarantees")'
        if (refused := await self._refuse(caller)) is not None:
            return refused
        if not _RULE_ID.match(rule_id or ""):
            return Reply.fail(
                f"{rule_id[:64]!r} cannot be a rule id: use letters, digits, '-', '_' or '.', "
                "up to 64 characters, starting with a letter or digit.",
                hint=example,
            )
        query = query.strip()
        if not query:
            return Reply.fail("The rule needs a query.", hint=example)
        destination = await self._destination(channel, caller) if channel else caller.channel
        if (invalid := await self._check_destination(destination, caller)) is not None:
            return Reply.fail(invalid, hint=example)
        entities = await self._entities(caller.team_id)
        try:
            validate_query(query, builtin_dictionary().extended(entities))
        except QuerySyntaxError as exc:
            return _query_error(exc, query, example)
        existing = await self._teams.rule(caller.team_id, rule_id)
        if existing is None and len(await self._teams.rules(caller.team_id)) >= MAX_RULES:
            return Reply.fail(f"This team already has {MAX_RULES} rules.", f"{CMD} rules remove ID")
        channels = list(existing.channels) if existing else []
        if destination not in channels:
            channels.append(destination)
        try:
            if existing is not None:
                rule = existing.model_copy(update={"query": query, "channels": channels})
                RuleSpec.model_validate(rule.model_dump())
            else:
                rule = RuleSpec(id=rule_id, query=query, channels=channels)
        except ValueError as exc:
            return Reply.fail(f"The rule is not valid: {exc}", hint=example)
        await self._teams.put_rule(caller.team_id, rule)
        verb = "Updated" if existing else "Added"
        notes = "".join(f"\nWarning, column {w.column}: {w.message}" for w in query_warnings(query))
        return Reply(
            title=f"{verb} rule {rule.id}",
            text=f"`{rule.query}` → {', '.join(map(p.show_destination, rule.channels))}{notes}",
            footer=f"See what it would have caught: {CMD} rules test {clip(query, 120)}",
            ephemeral=True,
        )

    @_answers
    async def rules_list(self, caller: Caller, page: int = 1) -> Reply:
        rules = await self._teams.rules(caller.team_id)
        if not rules:
            return Reply(
                title="No rules yet",
                text=f"Add one: {CMD} rules add witkoff Witkoff AND Dmitriev <#C0123ABCD>",
            )
        mutes = await self._teams.muted_until(caller.team_id)
        now = self._clock().timestamp()
        chosen = rules[(page - 1) * PAGE : page * PAGE]
        items = []
        for rule in chosen:
            meta = ["channels: " + (", ".join(map(p.show_destination, rule.channels)) or "none")]
            until = mutes.get(rule.id, 0.0)
            if until > now:
                meta.append("muted until " + _when(datetime.fromtimestamp(until, UTC)))
            if rule.digest != "none":
                meta.append(f"{rule.digest} digest")
            if rule.min_sources > 1:
                meta.append(f"needs {rule.min_sources} outlets")
            items.append(_item(rule.id, text=rule.query, meta=" · ".join(meta)))
        return Reply(
            title=f"{len(rules)} rules",
            items=tuple(items),
            footer=_footer(len(items), len(rules), page, f"{CMD} rules list"),
        )

    @_answers
    async def rules_remove(self, caller: Caller, rule_id: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        if await self._teams.remove_rule(caller.team_id, rule_id):
            return Reply(title=f"Removed rule {rule_id}", ephemeral=True)
        return await self._no_rule(caller, rule_id)

    @_answers
    async def rules_test(
        self, caller: Caller, query: str, since: str = "7d", page: int = 1
    ) -> Reply:
        example = f"{CMD} rules test Witkoff AND Dmitriev --since 30d"
        query = query.strip()
        if not query:
            return Reply.fail("Test which query?", hint=example)
        try:
            items, stories, articles, exact, note = await self._story_page(
                caller, query, since, page, self._story_item
            )
        except QuerySyntaxError as exc:
            return _query_error(exc, query, example)
        count = f"{articles}" if exact else f"about {articles}"
        more = f"{CMD} rules test {clip(query, 150)} --since {since}"
        return Reply(
            title=f"Backtest: {count} articles in {_n(stories, 'story')} "
            f"over the last {since}{note}",
            text=f"`{clip(query, 250)}` would have caught these (newest first).",
            items=tuple(items),
            ephemeral=True,
            footer=_footer(len(items), stories, page, more, exact)
            or f"Nothing would have alerted. Try a wider query or --since 30d: {more}",
        )

    @_answers
    async def rules_mute(self, caller: Caller, rule_id: str, duration: str | None = None) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        span = p.parse_duration(duration) if duration else DEFAULT_MUTE
        if await self._teams.rule(caller.team_id, rule_id) is None:
            return await self._no_rule(caller, rule_id)
        until = self._clock() + span
        await self._teams.mute(caller.team_id, rule_id, until)
        return Reply(
            title=f"Muted {rule_id} for {p.format_duration(span)}",
            text=f"No alerts from it until {_when(until)}.",
            footer=f"Undo: {CMD} unmute {rule_id}",
            ephemeral=True,
        )

    @_answers
    async def rules_unmute(self, caller: Caller, rule_id: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        if await self._teams.unmute(caller.team_id, rule_id):
            return Reply(title=f"Unmuted {rule_id}", ephemeral=True)
        if await self._teams.rule(caller.team_id, rule_id) is None:
            return await self._no_rule(caller, rule_id)
        return Reply(title=f"{rule_id} was not muted", ephemeral=True)

    @_answers
    async def subscribe(self, caller: Caller, rule_id: str, channel: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        destination = await self._destination(channel, caller)
        if (invalid := await self._check_destination(destination, caller)) is not None:
            return Reply.fail(invalid, hint=f"{CMD} subscribe {rule_id} <#C0123ABCD>")
        rule = await self._teams.subscribe(caller.team_id, rule_id, destination)
        if rule is None:
            return await self._no_rule(caller, rule_id)
        return Reply(
            title=f"{rule_id} now also posts to {p.show_destination(destination)}",
            text="Channels: " + ", ".join(map(p.show_destination, rule.channels)),
            ephemeral=True,
        )

    # Feedback, autocomplete, admins, settings ------------------------------------------------
    @_answers
    async def feedback(
        self,
        caller: Caller,
        story_id: str,
        kind: Literal["mute_story", "not_relevant"],
        alert_id: str = "",
    ) -> Reply:
        if not story_id or len(story_id) > 80:
            return Reply.fail("That button belongs to an unknown story.")
        if kind == "mute_story":
            # it silences the story for everyone in the channel: a change only admins make
            if refused := await self._refuse(caller):
                return refused
            await self._redis.set(
                keys.story_muted(caller.team_id, caller.channel, story_id),
                caller.user_id or "1",
                ex=int(STORY_MUTE.total_seconds()),
            )
            return Reply(
                title="Story muted here for 14 days",
                text="No more follow-ups of this story in this channel.",
                ephemeral=True,
            )
        if kind == "not_relevant":
            await self._teams.record_not_relevant(caller.team_id, alert_id or story_id)
            return Reply(
                title="Thanks, noted as not relevant",
                text="Admins see the count in /peacewatch status; a rule can be narrowed with "
                f"-term, e.g. {CMD} rules add ID QUERY -opinion",
                ephemeral=True,
            )
        return Reply.fail(f"Unknown feedback {str(kind)[:30]!r}.")

    async def complete(
        self, caller: Caller, what: Literal["rule", "feed", "entity"], prefix: str
    ) -> list[str]:
        low = prefix.strip().lower()
        if what == "rule":
            options = [r.id for r in await self._teams.rules(caller.team_id)]
        elif what == "feed":
            options = await self._teams.feed_ids(caller.team_id)
        elif what == "entity":
            dictionary = builtin_dictionary().extended(await self._entities(caller.team_id))
            options = sorted(e.id for e in dictionary.entities())
        else:
            return []
        return [o for o in options if o.lower().startswith(low)][:COMPLETIONS]


COMMANDS = (
    Command(
        "rules_add",
        lambda s, c, cmd: s.rules_add(c, cmd.rule_id, cmd.arg, cmd.channel),
        changes_state=True,
        example="rules add r2 Witkoff AND Dmitriev",
    ),
    Command("rules_list", lambda s, c, cmd: s.rules_list(c, cmd.page)),
    Command(
        "rules_remove",
        lambda s, c, cmd: s.rules_remove(c, cmd.rule_id),
        changes_state=True,
        example="rules remove r1",
    ),
    Command("rules_test", lambda s, c, cmd: s.rules_test(c, cmd.arg, cmd.since or "7d", cmd.page)),
    Command(
        "rules_mute",
        lambda s, c, cmd: s.rules_mute(c, cmd.rule_id, cmd.since),
        changes_state=True,
        example="mute r1 for 2h",
    ),
    Command(
        "rules_unmute",
        lambda s, c, cmd: s.rules_unmute(c, cmd.rule_id),
        changes_state=True,
        example="unmute r1",
    ),
    Command(
        "subscribe",
        lambda s, c, cmd: s.subscribe(c, cmd.rule_id, cmd.channel or ""),
        changes_state=True,
        example="subscribe r1 <#C0999ZZZZ>",
    ),
)
