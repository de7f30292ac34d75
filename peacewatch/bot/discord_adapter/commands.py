"""The ``/peacewatch`` app command tree and the alert buttons, both answered by CommandService."""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

import discord
from discord import app_commands

from peacewatch.bot.discord_adapter import components, embeds
from peacewatch.bot.discord_adapter.client import PeacewatchClient, api_base, apply_api_base
from peacewatch.bot.discord_adapter.interactions import (
    FAILED,
    GUILD_ONLY,
    NOT_READY,
    caller_of,
    run,
    send_reply,
    service_of,
)
from peacewatch.bot.replies import Reply
from peacewatch.errors import ConfigError
from peacewatch.services.views import RuleForm
from peacewatch.settings import Settings

log = logging.getLogger(__name__)

AUTOCOMPLETE_MAX = 25
CHOICE_MAX = 100

Completion = Literal["rule", "feed", "entity"]


async def complete(
    interaction: discord.Interaction[Any], what: Completion, current: str
) -> list[app_commands.Choice[str]]:
    caller = caller_of(interaction)
    service = service_of(interaction)
    if caller is None or service is None:
        return []
    values = await service.complete(caller, what, current)
    return [
        app_commands.Choice(name=embeds.clip(value, CHOICE_MAX), value=value[:CHOICE_MAX])
        for value in values[:AUTOCOMPLETE_MAX]
    ]


def channel_arg(channel: app_commands.AppCommandChannel | None) -> str | None:
    return f"discord:{channel.id}" if channel is not None else None


async def open_editor(
    interaction: discord.Interaction[Any],
    rule_id: str,
    query: str | None,
    channel: str | None,
    *,
    existing_only: bool,
) -> None:
    """The rule editor modal for ``rule_id`` (a new rule when there is none, or an error with
    ``existing_only``), with the query and channel given on the command line filled in."""
    caller, service = caller_of(interaction), service_of(interaction)
    if caller is None or service is None:
        await send_reply(interaction, Reply.fail(GUILD_ONLY if caller is None else NOT_READY))
        return
    form = await service.rule_form(caller, rule_id)
    if rule_id and not form.existing:
        if existing_only:
            await send_reply(interaction, await service.no_such_rule(caller, rule_id))
            return
        form = RuleForm(rule_id=rule_id, channels=form.channels)
    if query is not None or channel is not None:
        form = RuleForm(
            form.rule_id,
            query if query is not None else form.query,
            (channel,) if channel is not None else form.channels,
            form.min_sources,
            form.digest,
            form.existing,
        )
    await components.open_editor(interaction, form)


class PeacewatchGroup(
    app_commands.Group,
    name="peacewatch",
    description="News alerts on the Russia-Ukraine peace talks",
    guild_only=True,
):
    """``/peacewatch``: the same commands as the Slack ``/peacewatch``, with typed options."""

    rules = app_commands.Group(name="rules", description="Your team's watch rules")
    feeds = app_commands.Group(name="feeds", description="Your team's news feeds")

    @app_commands.command(name="latest", description="The team's most recent alerts")
    @app_commands.describe(n="How many alerts (1-25)")
    async def latest(
        self, interaction: discord.Interaction[Any], n: app_commands.Range[int, 1, 25] = 5
    ) -> None:
        await run(interaction, lambda s, c: s.latest(c, n))

    @app_commands.command(name="search", description="Stories matching a query")
    @app_commands.describe(query="e.g. witkoff donbas", since="How far back, e.g. 24h or 7d")
    async def search(
        self, interaction: discord.Interaction[Any], query: str, since: str = "7d"
    ) -> None:
        await run(interaction, lambda s, c: s.search(c, query, since), slow=True)

    @app_commands.command(name="actor", description="What one actor did lately")
    @app_commands.describe(name="An actor, e.g. lavrov", since="How far back, e.g. 7d")
    async def actor(
        self, interaction: discord.Interaction[Any], name: str, since: str = "7d"
    ) -> None:
        await run(interaction, lambda s, c: s.actor(c, name, since))

    @actor.autocomplete("name")
    async def _actor_names(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await complete(interaction, "entity", current)

    @app_commands.command(name="digest", description="The period's top stories")
    @app_commands.describe(period="e.g. 24h or 7d")
    async def digest(self, interaction: discord.Interaction[Any], period: str = "24h") -> None:
        await run(interaction, lambda s, c: s.digest(c, period), slow=True)

    @app_commands.command(name="status", description="Feeds, rules and delivery health")
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        await run(interaction, lambda s, c: s.status(c), private=True)

    @app_commands.command(name="home", description="Your team's dashboard, shown to you alone")
    async def home(self, interaction: discord.Interaction[Any]) -> None:
        await run(interaction, lambda s, c: s.dashboard(c), private=True)

    @app_commands.command(name="help", description="What peacewatch can do")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        await run(interaction, lambda s, c: s.help(c), private=True)

    @app_commands.command(name="follow", description="A direct message for each new story")
    @app_commands.describe(query='What to follow, e.g. actor:witkoff or "security guarantees"')
    async def follow(self, interaction: discord.Interaction[Any], query: str) -> None:
        await run(interaction, lambda s, c: s.follow(c, query), private=True)

    @app_commands.command(name="unfollow", description="Stop one of your follows")
    @app_commands.describe(ref="Its id (see /peacewatch follows), its query, or all")
    async def unfollow(self, interaction: discord.Interaction[Any], ref: str) -> None:
        await run(interaction, lambda s, c: s.unfollow(c, ref), private=True)

    @app_commands.command(name="follows", description="Your follows, shown to you alone")
    @app_commands.describe(member="Admins: list this member's follows instead of yours")
    async def follows(
        self, interaction: discord.Interaction[Any], member: discord.User | None = None
    ) -> None:
        # a User, not a Member: a departed colleague's follows are the ones to look at, and
        # Discord resolves someone no longer in the server as a user only
        who = f"<@{member.id}>" if member is not None else ""
        await run(interaction, lambda s, c: s.follows(c, who), private=True)

    @app_commands.command(name="subscribe", description="Send a rule's alerts to a channel")
    @app_commands.describe(rule_id="The rule", channel="Where its alerts go (default: here)")
    async def subscribe(
        self,
        interaction: discord.Interaction[Any],
        rule_id: str,
        channel: app_commands.AppCommandChannel | None = None,
    ) -> None:
        target = channel_arg(channel) or f"discord:{interaction.channel_id}"
        await run(interaction, lambda s, c: s.subscribe(c, rule_id, target), private=True)

    @subscribe.autocomplete("rule_id")
    async def _subscribe_rules(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await complete(interaction, "rule", current)

    @app_commands.command(name="trend", description="A chart of a query's stories over time")
    @app_commands.describe(query="e.g. ceasefire", period="e.g. 30d")
    async def trend(
        self, interaction: discord.Interaction[Any], query: str, period: str = "30d"
    ) -> None:
        await run(interaction, lambda s, c: s.trend(c, query, period), slow=True)

    @rules.command(name="add", description="Add a watch rule (Manage Server or team admin)")
    @app_commands.describe(
        rule_id="A short id, e.g. witkoff-donbas",
        query='e.g. Witkoff AND (Donbas OR "security guarantees"); leave out to use the editor',
        channel="Where its alerts go (default: here)",
    )
    async def rules_add(
        self,
        interaction: discord.Interaction[Any],
        rule_id: str | None = None,
        query: str | None = None,
        channel: app_commands.AppCommandChannel | None = None,
    ) -> None:
        target = channel_arg(channel)
        if rule_id is not None and query is not None:
            await run(
                interaction, lambda s, c: s.rules_add(c, rule_id, query, target), private=True
            )
            return
        await open_editor(interaction, rule_id or "", query, target, existing_only=False)

    @rules.command(name="edit", description="Edit a rule in a form, with a 7-day backtest")
    @app_commands.describe(rule_id="The rule (leave out for a new one)")
    async def rules_edit(
        self, interaction: discord.Interaction[Any], rule_id: str | None = None
    ) -> None:
        await open_editor(interaction, rule_id or "", None, None, existing_only=True)

    @rules.command(name="suggest", description="A refinement learned from 'Not relevant'")
    @app_commands.describe(rule_id="The rule to refine")
    async def rules_suggest(self, interaction: discord.Interaction[Any], rule_id: str) -> None:
        await components.suggest(interaction, rule_id)

    @rules.command(name="list", description="The team's rules")
    async def rules_list(self, interaction: discord.Interaction[Any]) -> None:
        await run(interaction, lambda s, c: s.rules_list(c), private=True)

    @rules.command(name="remove", description="Remove a rule (Manage Server or team admin)")
    async def rules_remove(self, interaction: discord.Interaction[Any], rule_id: str) -> None:
        await run(interaction, lambda s, c: s.rules_remove(c, rule_id), private=True)

    @rules.command(name="test", description="What a query would have matched")
    @app_commands.describe(query="The query to try", since="How far back, e.g. 7d")
    async def rules_test(
        self, interaction: discord.Interaction[Any], query: str, since: str = "7d"
    ) -> None:
        await run(interaction, lambda s, c: s.rules_test(c, query, since), slow=True, private=True)

    @rules.command(name="mute", description="Pause a rule's alerts")
    @app_commands.describe(duration="e.g. 2h or 1d (default: until unmuted)")
    async def rules_mute(
        self, interaction: discord.Interaction[Any], rule_id: str, duration: str | None = None
    ) -> None:
        await run(interaction, lambda s, c: s.rules_mute(c, rule_id, duration), private=True)

    @rules.command(name="unmute", description="Resume a rule's alerts")
    async def rules_unmute(self, interaction: discord.Interaction[Any], rule_id: str) -> None:
        await run(interaction, lambda s, c: s.rules_unmute(c, rule_id), private=True)

    @rules_remove.autocomplete("rule_id")
    @rules_edit.autocomplete("rule_id")
    @rules_suggest.autocomplete("rule_id")
    @rules_mute.autocomplete("rule_id")
    @rules_unmute.autocomplete("rule_id")
    async def _rule_ids(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await complete(interaction, "rule", current)

    @feeds.command(name="add", description="Add an RSS/Atom feed or a news search")
    @app_commands.describe(url="A feed URL", search="Or: a news search query")
    async def feeds_add(
        self,
        interaction: discord.Interaction[Any],
        url: str | None = None,
        search: str | None = None,
    ) -> None:
        await run(interaction, lambda s, c: s.feeds_add(c, url, search), slow=True, private=True)

    @feeds.command(name="list", description="The team's feeds")
    async def feeds_list(self, interaction: discord.Interaction[Any]) -> None:
        await run(interaction, lambda s, c: s.feeds_list(c), private=True)

    @feeds.command(name="remove", description="Remove a feed (Manage Server or team admin)")
    async def feeds_remove(self, interaction: discord.Interaction[Any], feed_id: str) -> None:
        await run(interaction, lambda s, c: s.feeds_remove(c, feed_id), private=True)

    @feeds_remove.autocomplete("feed_id")
    async def _feed_ids(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await complete(interaction, "feed", current)


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=embeds.FEEDBACK_ID_RE,
):
    """ "Mute this story" / "Not relevant" under an alert; works after restarts because its
    state lives in the custom_id."""

    def __init__(self, kind: embeds.FeedbackKind, story_id: str, alert_id: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=embeds.FEEDBACK_LABELS[kind],
                custom_id=embeds.feedback_custom_id(kind, story_id, alert_id),
            )
        )
        self.kind: embeds.FeedbackKind = kind
        self.story_id = story_id
        self.alert_id = alert_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> FeedbackButton:
        kind: embeds.FeedbackKind = (
            "mute_story" if match["kind"] == "mute_story" else "not_relevant"
        )
        return cls(kind, match["story"], match["alert"] or "")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await run(
            interaction,
            lambda s, c: s.feedback(c, self.story_id, self.kind, self.alert_id),
            private=True,
        )


async def on_tree_error(
    interaction: discord.Interaction[Any], error: app_commands.AppCommandError
) -> None:
    """A failing command is logged and answered, so the user never sees "did not respond"."""
    if isinstance(error, app_commands.NoPrivateMessage):
        reply = Reply.fail(GUILD_ONLY)
    else:
        log.error("app command failed", exc_info=error)
        reply = Reply.fail(FAILED)
    try:
        await send_reply(interaction, reply, private=True)
    except discord.HTTPException:
        log.warning("could not tell the user about a failed command")


def install(client: PeacewatchClient) -> None:
    """Put ``/peacewatch`` on the client's tree and make the alert buttons answerable."""
    client.tree.add_command(PeacewatchGroup())
    client.tree.error(on_tree_error)
    client.add_dynamic_items(FeedbackButton, components.EditorButton)
    client.event(components.on_interaction)  # rule editor submissions


async def sync_commands(settings: Settings, guild_id: int | None) -> list[str]:
    """Register ``/peacewatch`` with Discord: in one server at once when ``guild_id`` is
    given, else globally (Discord may take a while to show global changes). Returns the names
    of the synced commands.

    Raises ConfigError when DISCORD_TOKEN is missing or rejected.
    """
    if settings.discord_token is None:
        raise ConfigError("DISCORD_TOKEN is not set")
    apply_api_base(api_base(settings))
    client = PeacewatchClient(application_id=settings_app_id(settings))
    install(client)
    try:
        try:
            await client.login(settings.discord_token.get_secret_value())
        except discord.LoginFailure as exc:
            raise ConfigError("DISCORD_TOKEN was rejected by Discord") from exc
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        if guild is not None:
            client.tree.copy_global_to(guild=guild)
        synced = await client.tree.sync(guild=guild)
        return [command.name for command in synced]
    finally:
        await client.close()


def settings_app_id(settings: Settings) -> int | None:
    app_id = settings.discord_application_id
    if app_id is None:
        return None
    if not app_id.strip().isdigit():
        raise ConfigError("DISCORD_APPLICATION_ID must be the application's numeric id")
    return int(app_id)
