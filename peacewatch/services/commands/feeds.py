"""Feed commands: add (a URL, a news search, a Telegram channel, a catalogue entry), list, drop."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from peacewatch.errors import FeedError, InputError, ParseError, UrlRefused
from peacewatch.pipeline.summarise import clip
from peacewatch.services import parsing as p
from peacewatch.services.replies import Caller, Reply
from peacewatch.services.teamfeeds import TeamFeeds, chat_feed_id, from_config
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.parse import HtmlPageError, linked_feeds
from peacewatch.watchers.sourceconfig import ChatSource, chat_source
from peacewatch.watchers.sources import parse_kind

if TYPE_CHECKING:
    from peacewatch.watchers.fetch import Fetcher
from peacewatch.services.commands.base import (
    CMD,
    GOOGLE_NEWS_SEARCH,
    MAX_FEEDS,
    PAGE,
    CommandBase,
    _answers,
    _footer,
    _item,
)
from peacewatch.services.commands.registry import Command


class FeedCommands(CommandBase):
    """Commands that read and change the feeds a team receives."""

    # Feeds -------------------------------------------------------------------------------------
    def _news_search(self, text: str) -> str:
        return self._news_search_url.replace("{query}", quote_plus(text))

    async def _get_fetcher(self) -> Fetcher:
        if self._fetcher is None:
            from peacewatch.watchers.fetch import Fetcher
            from peacewatch.watchers.guard import GuardPolicy

            self._fetcher = Fetcher(GuardPolicy())
        return self._fetcher

    @_answers
    async def feeds_add(
        self, caller: Caller, url: str | None = None, search: str | None = None, page: str = ""
    ) -> Reply:
        """Add a feed for the team (``page``: the web page whose link led to ``url``)."""
        hint = (
            f"{CMD} feeds add https://www.themoscowtimes.com/rss/news, "
            f'{CMD} feeds add --search "Witkoff Dmitriev", {CMD} feeds add tg:MID_Russia or '
            f"{CMD} feeds add --catalogue mid-ru (peacewatch sources list)"
        )
        if (refused := await self._refuse(caller)) is not None:
            return refused
        search_template = (
            None if self._news_search_url == GOOGLE_NEWS_SEARCH else self._news_search_url
        )
        source = ChatSource("")
        if search is not None and p.unquote(search):
            text = p.unquote(search)
            url = self._news_search(text)
            label = f"News search: {clip(text, 100)}"
        elif url:
            try:  # tg:NAME, --catalogue NAME, or a URL (Slack sends <https://x|x>)
                source = chat_source(url, search_template)
            except InputError as exc:
                return Reply.fail(str(exc), hint=hint)
            url, label = source.url, source.outlet
        else:
            return Reply.fail("Add which feed?", hint=hint)
        if (watched := await TeamFeeds(self._redis).watched(url)) is not None:
            return await self._subscribe_feed(caller, watched)
        feed_id = chat_feed_id(caller.team_id, url)
        own = await self._teams.feed_ids(caller.team_id)
        if feed_id in own:
            return Reply(title=f"This team already watches that feed ({feed_id})", ephemeral=True)
        if len(own) >= MAX_FEEDS:
            return Reply.fail(f"This team already has {MAX_FEEDS} feeds.", f"{CMD} feeds remove ID")
        try:
            fetched = await (await self._get_fetcher()).fetch(url)
            read = (source.kind, source.selectors, fetched.body, fetched.content_type, fetched.url)
            if self._parser is not None:  # a body that hangs or crashes the parser costs a worker
                parsed = await self._parser.run(parse_kind, *read)
            else:
                parsed = await asyncio.to_thread(parse_kind, *read)
        except UrlRefused as exc:
            return Reply.fail(
                f"That address is not allowed: {exc}", hint="Use a public http(s) feed URL."
            )
        except HtmlPageError as exc:
            links = [u for u in linked_feeds(exc, fetched.url) if not page and u != url]
            if links:
                added = await self.feeds_add(caller, links[0], page=url)
                note = f"{clip(url, 150)} is a web page; it links the feed {clip(links[0], 200)}"
                return replace(added, text=f"{note}.\n{added.text}".strip())
            return Reply.fail(
                f"{exc} ({clip(url, 150)}), and the page links no feed.",
                hint="Look for the site's RSS link (often /rss, /feed or /rss.xml). " + hint,
            )
        except ParseError as exc:
            if source.kind != "rss":
                return Reply.fail(f"Could not read {url}: {clip(str(exc), 200)}", hint=hint)
            return Reply.fail(
                "That address answered, but it is not an RSS or Atom feed "
                f"({clip(str(exc), 150)}).",
                hint="Look for the site's RSS link (often /rss, /feed or /rss.xml). " + hint,
            )
        except FeedError as exc:
            return Reply.fail(f"Could not fetch that feed: {clip(str(exc), 200)}", hint=hint)
        outlet = label or parsed.title or url
        await self._feeds.put(
            FeedSpec(
                id=feed_id,
                url=url,
                outlet=outlet,
                team_id=caller.team_id,
                kind=source.kind,
                interval=source.interval,
                selectors=source.selectors,
            )
        )
        await self._teams.add_feed(caller.team_id, feed_id)
        if self._on_feeds_changed is not None:
            await self._on_feeds_changed()
        newest = max(parsed.entries, key=lambda e: e.published or 0.0, default=None)
        return Reply(
            title=f"Added feed {feed_id}: {clip(outlet, 120)}",
            text=f"{len(parsed.entries)} items now"
            + (f"; newest: {clip(newest.title, 150)}" if newest and newest.title else ""),
            footer=f"Remove it with {CMD} feeds remove {feed_id}",
            ephemeral=True,
        )

    async def _subscribe_feed(self, caller: Caller, feed: FeedSpec) -> Reply:
        """The team receives an already watched feed; it is not polled a second time."""
        shown = f"{clip(feed.outlet or feed.url, 120)} ({feed.id})"
        if feed.id in await self._teams.feed_ids(caller.team_id):
            return Reply(title=f"This team already receives {shown}", ephemeral=True)
        if from_config(feed):
            return Reply(
                title=f"This team already receives {shown}",
                text="It is a config feed: every team receives it.",
                ephemeral=True,
            )
        await self._teams.add_feed(caller.team_id, feed.id)
        return Reply(
            title=f"Subscribed to {shown}",
            text="That feed is already watched, so this team now receives it too; it is polled "
            "once for every team.",
            footer=f"Stop receiving it with {CMD} feeds remove {feed.id}",
            ephemeral=True,
        )

    @_answers
    async def feeds_list(self, caller: Caller, page: int = 1) -> Reply:
        received = await TeamFeeds(self._redis).of(caller.team_id)
        feeds = [f.spec for f in received]
        own = {f.spec.id for f in received if f.origin != "config"}
        label = {f.spec.id: f.label for f in received}
        if not feeds:
            return Reply(title="No feeds yet", text=f"Add one: {CMD} feeds add URL")
        chosen = feeds[(page - 1) * PAGE : page * PAGE]
        items = [
            _item(
                f"{f.outlet or f.url}",
                f.url,
                "",
                f"{f.id} · {label[f.id]}",
            )
            for f in chosen
        ]
        return Reply(
            title=f"{len(feeds)} feeds ({len(feeds) - len(own)} from the config, {len(own)}"
            " added by this team)",
            items=tuple(items),
            footer=_footer(len(items), len(feeds), page, f"{CMD} feeds list"),
        )

    @_answers
    async def feeds_remove(self, caller: Caller, feed_id: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        removed = await TeamFeeds(self._redis).leave(caller.team_id, feed_id)
        if removed is None:
            return Reply.fail(
                f"This team did not add a feed {feed_id[:40]!r} (config feeds are the operator's).",
                hint=f"{CMD} feeds list shows the ids",
            )
        if not removed:
            return Reply(
                title=f"This team no longer receives feed {feed_id}",
                text="Others still receive it, so it keeps being polled for them.",
                ephemeral=True,
            )
        if self._on_feeds_changed is not None:
            await self._on_feeds_changed()
        return Reply(title=f"Removed feed {feed_id}", ephemeral=True)


COMMANDS = (
    Command(
        "feeds_add",
        lambda s, c, cmd: s.feeds_add(c, cmd.arg or None, cmd.search),
        changes_state=True,
        example='feeds add --search "Witkoff Dmitriev"',
    ),
    Command("feeds_list", lambda s, c, cmd: s.feeds_list(c, cmd.page)),
    Command(
        "feeds_remove",
        lambda s, c, cmd: s.feeds_remove(c, cmd.arg),
        changes_state=True,
        example="feeds remove f0000000feed",
    ),
)
