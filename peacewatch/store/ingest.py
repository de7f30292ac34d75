"""The ingest stream: new articles from every replica's watchers, each claimed once, in order.

An article counts as seen exactly when it is in the stream: one server-side script claims each
article's first sighting (``SET NX``) and appends it in the same step, so a crash can neither
leave an article seen but never queued nor queue it twice. The story assigner reads the stream
in order from its cursor; entries before the cursor are trimmed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from peacewatch.failpoints import failpoint
from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.store.codec import article_from_json, article_to_json

# A claim's value is "queued" and then the id of every feed that carried the article, one a
# line: what a poll reads anyway (one MGET) says whether its feed is noted already, and noting one
# is an APPEND to a key that exists (its TTL kept), no key of its own.
#
# KEYS[1] the stream, KEYS[2] the resight entries, KEYS[3..] the articles' claims. ARGV[1] the
# claims' expiry, then per article (payload, alerts flag, feed id, resight flag). An unseen
# article is claimed and appended; a seen one has its feed noted, and when that feed is new to an
# article whose feeds were noted and that may be resighted (recent: its story is still in the
# assigner's window, where placing it again finds its story), it is appended again (matched again
# for personal follows: the feed may bring it into a follow's scope). Returns 1/0 per article:
# appended as new or not. A claim notes feeds up to 2,000 characters.
_SUBMIT = r"""
local out = {}
for i = 1, #KEYS - 2 do
  local seen = KEYS[2 + i]
  local payload = ARGV[4 * i - 2]
  local alerts = ARGV[4 * i - 1]
  local feed = ARGV[4 * i]
  local resight = ARGV[4 * i + 1]
  local value = 'queued'
  if feed ~= '' then value = value .. '\n' .. feed end
  if redis.call('SET', seen, value, 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', 'a', payload, 'alerts', alerts)
    out[#out + 1] = 1
  else
    local held = redis.call('GET', seen)
    if feed ~= '' and held and #held < 2000
        and not string.find(held .. '\n', '\n' .. feed .. '\n', 1, true) then
      redis.call('APPEND', seen, '\n' .. feed)
      if string.find(held, '\n', 1, true) and resight == '1' then
        local id = redis.call('XADD', KEYS[1], '*', 'a', payload, 'alerts', alerts)
        redis.call('SADD', KEYS[2], id)
      end
    end
    out[#out + 1] = 0
  end
end
return out
"""

# After a batch of the story assigner, in one step fenced by its lease: the cursor moves, the
# batch's resight marks are dropped and its entries trimmed. KEYS[1] the lease, KEYS[2] the
# cursor, KEYS[3] the stream, KEYS[4] the resight entries; ARGV[1] the holder's token, ARGV[2]
# the cursor's value, ARGV[3] the first entry id kept, ARGV[4..] the resight entries finished.
# Returns the entries still waiting, or -1 (nothing done) when the token no longer holds it.
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
redis.call('SET', KEYS[2], ARGV[2])
for i = 4, #ARGV, 1000 do
  redis.call('SREM', KEYS[4], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('XTRIM', KEYS[3], 'MINID', ARGV[3])
return redis.call('XLEN', KEYS[3])
"""

RESIGHT_WINDOW = timedelta(hours=24)
"""An article a new feed carries is matched again for personal follows only while this recent
(well inside the story window, so placing it again finds its story)."""


def noted_feeds(claim: str | None) -> list[str]:
    """The feeds a claim's value notes as carrying its article (none for an old "queued")."""
    return (claim or "").split("\n")[1:]


@dataclass(frozen=True, slots=True)
class IngestEntry:
    """One stream entry: the article and whether it may alert (a feed's first poll and old
    items only record)."""

    entry_id: str
    article: Article | None
    """None when the entry cannot be read (it is skipped and logged by the reader)."""
    alerts: bool
    raw: str = ""

    @property
    def seq(self) -> tuple[int, int]:
        return parse_id(self.entry_id)


def parse_id(entry_id: str) -> tuple[int, int]:
    """``"1700000000000-3"`` -> (1700000000000, 3)."""
    millis, _, n = entry_id.partition("-")
    return int(millis), int(n or 0)


class IngestStream:
    def __init__(
        self,
        redis: aioredis.Redis,
        retention: timedelta = timedelta(days=90),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._ttl = int(retention.total_seconds())
        self._submit = redis.register_script(_SUBMIT)
        self._finish = redis.register_script(_FINISH)

    async def seen(self, article_id: str) -> bool:
        """Whether the article was ever queued (by any replica, before any restart)."""
        return bool(await self._redis.exists(keys.seen(article_id)))

    async def unseen(self, article_ids: Sequence[str], feed_id: str) -> list[bool]:
        """Per id (one MGET of the claims), whether ``submit`` has work for it from ``feed_id``:
        never queued, or queued but not yet noted as carried by that feed. A poll normalises
        only these; ``submit`` claims them with SET NX all the same, so an article another
        replica queued in between is still queued once."""
        if not article_ids:
            return []
        held = await self._redis.mget([keys.seen(i) for i in article_ids])
        feed = _feed_id(feed_id)
        return [claim is None or bool(feed and feed not in noted_feeds(claim)) for claim in held]

    async def submit(
        self, batch: Sequence[tuple[Article, bool]], checked: bool = False
    ) -> list[bool]:
        """Queue each (article, may alert) not seen before, in the order given; returns, per
        item, whether it was new. Raises redis errors (then nothing of the batch after the
        failure point is seen, so the next poll offers it again).

        A feed that changed usually brings one new item among dozens queued at earlier polls:
        their claims, which note the feeds that carried them, are read first (one MGET) and
        only the others (new, or new to this feed) are encoded and sent to the claiming script,
        which claims each with SET NX, so an article another replica queued in between is still
        queued once. An article seen before that a feed carries for the first time is noted
        as carried by it, and queued again for personal follows (see ``_SUBMIT``).

        ``checked``: the caller just read the claims itself (``unseen``) and passes only the
        articles with work: they go to the script without a second read."""
        if not batch:
            return []
        claims = [keys.seen(article.id) for article, _ in batch]
        if checked:
            todo = list(range(len(batch)))
        else:
            held = await self._redis.mget(claims)
            todo = [
                i
                for i, claim in enumerate(held)
                if claim is None
                or (_feed(batch[i][0]) and _feed(batch[i][0]) not in noted_feeds(claim))
            ]
        out = [False] * len(batch)
        if todo:
            args: list[str | int] = [self._ttl]
            script_keys = [keys.ingest_stream(), keys.resight_entries()]
            for i in todo:
                article, alerts = batch[i]
                recent = alerts and article.published >= self._clock() - RESIGHT_WINDOW
                flags = ["1" if alerts else "0", _feed(article), "1" if recent else "0"]
                args += [article_to_json(article), *flags]
                script_keys.append(claims[i])
            reply = await self._submit(keys=script_keys, args=args)
            for i, flag in zip(todo, reply, strict=True):
                out[i] = bool(int(flag))
        failpoint("ingest.after_submit")
        return out

    async def carried_by(self, article: Article) -> list[str]:
        """The feeds that carried ``article``: the one it came with, then any other noted."""
        later = noted_feeds(await self._redis.get(keys.seen(article.id)))
        return [article.feed_id, *(f for f in later if f != article.feed_id)]

    async def resights(self, entry_ids: Sequence[str]) -> set[str]:
        """Which of ``entry_ids`` carry an article again for a feed new to it (one read)."""
        if not entry_ids:
            return set()
        flags = await self._redis.smismember(keys.resight_entries(), list(entry_ids))
        return {e for e, flag in zip(entry_ids, flags, strict=True) if flag}

    async def resights_done(self, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            await self._redis.srem(keys.resight_entries(), *entry_ids)

    async def read_after(
        self, cursor: str, count: int = 500, block_ms: int | None = None
    ) -> list[IngestEntry]:
        """Entries after ``cursor`` in stream order (waiting up to ``block_ms`` when none)."""
        reply = await self._redis.xread({keys.ingest_stream(): cursor}, count=count, block=block_ms)
        out: list[IngestEntry] = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                raw = str(fields.get("a", ""))
                try:
                    article: Article | None = article_from_json(raw)
                except (ValueError, KeyError, TypeError):
                    article = None
                out.append(IngestEntry(str(entry_id), article, fields.get("alerts") == "1", raw))
        return out

    async def finish(
        self,
        lease: str,
        token: str,
        cursor_key: str,
        cursor: str,
        last: str,
        resights: Sequence[str] = (),
    ) -> int | None:
        """A reader's batch up to entry ``last`` is done: if ``token`` still holds ``lease``,
        set ``cursor_key`` to ``cursor``, drop the batch's ``resights`` marks (:meth:`resights`)
        and the entries up to ``last`` (:meth:`trim_before`), in one step, and return the
        entries still waiting (:meth:`backlog`); None, with nothing done, when it does not."""
        millis, n = parse_id(last)
        waiting = await self._finish(
            keys=[lease, cursor_key, keys.ingest_stream(), keys.resight_entries()],
            args=[token, cursor, f"{millis}-{n + 1}", *resights],
        )
        return None if int(waiting) < 0 else int(waiting)

    async def trim_before(self, cursor: str) -> int:
        """Drop entries up to and including ``cursor`` (the assigner finished them)."""
        millis, n = parse_id(cursor)
        return int(
            await self._redis.xtrim(
                keys.ingest_stream(), minid=f"{millis}-{n + 1}", approximate=False
            )
        )

    async def backlog(self) -> int:
        """Entries still waiting: the assigner trims what it finished, so the stream's length."""
        return int(await self._redis.xlen(keys.ingest_stream()))


def _feed(article: Article) -> str:
    """The feed id a claim notes for ``article`` ("" for none, or one it cannot hold)."""
    return _feed_id(article.feed_id)


def _feed_id(feed_id: str) -> str:
    return "" if "\n" in feed_id else feed_id
