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

# KEYS[1] the stream, KEYS[2] the resight entries; then per article its seen key and its feeds
# key. ARGV[1] the claims' expiry, then per article (payload, alerts flag, feed id, resight flag).
# An unseen article is claimed and appended; a seen one has its feed noted, and when that feed is
# new to an article whose feeds were known and that may be resighted (recent: its story is still
# in the assigner's window, where placing it again finds its story), it is appended again
# (matched again for personal follows: the feed may bring it into a follow's scope). Returns 1/0
# per article: appended as new or not.
_SUBMIT = """
local out = {}
local n = (#KEYS - 2) / 2
for i = 1, n do
  local seen = KEYS[1 + 2 * i]
  local feeds = KEYS[2 + 2 * i]
  local payload = ARGV[4 * i - 2]
  local alerts = ARGV[4 * i - 1]
  local feed = ARGV[4 * i]
  local resight = ARGV[4 * i + 1]
  if redis.call('SET', seen, 'queued', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', 'a', payload, 'alerts', alerts)
    if feed ~= '' then
      redis.call('SADD', feeds, feed)
      redis.call('EXPIRE', feeds, ARGV[1])
    end
    out[#out + 1] = 1
  else
    if feed ~= '' then
      local had = redis.call('SCARD', feeds)
      local added = redis.call('SADD', feeds, feed)
      local left = redis.call('TTL', seen)
      if left > 0 then redis.call('EXPIRE', feeds, left) end
      if added == 1 and had > 0 and resight == '1' then
        local id = redis.call('XADD', KEYS[1], '*', 'a', payload, 'alerts', alerts)
        redis.call('SADD', KEYS[2], id)
      end
    end
    out[#out + 1] = 0
  end
end
return out
"""

RESIGHT_WINDOW = timedelta(hours=24)
"""An article a new feed carries is matched again for personal follows only while this recent
(well inside the story window, so placing it again finds its story)."""

# Read only: KEYS per article its seen key and its feeds key, ARGV its feed id. Returns 1 per
# article that must go to ``_SUBMIT`` (not seen, or seen but not yet noted as carried by this
# feed), else 0.
_CHECK = """
local out = {}
for i = 1, #ARGV do
  local todo = 0
  if redis.call('EXISTS', KEYS[2 * i - 1]) == 0 then
    todo = 1
  elseif ARGV[i] ~= '' and redis.call('SISMEMBER', KEYS[2 * i], ARGV[i]) == 0 then
    todo = 1
  end
  out[#out + 1] = todo
end
return out
"""


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
        self._check = redis.register_script(_CHECK)

    async def seen(self, article_id: str) -> bool:
        """Whether the article was ever queued (by any replica, before any restart)."""
        return bool(await self._redis.exists(keys.seen(article_id)))

    async def submit(self, batch: Sequence[tuple[Article, bool]]) -> list[bool]:
        """Queue each (article, may alert) not seen before, in the order given; returns, per
        item, whether it was new. Raises redis errors (then nothing of the batch after the
        failure point is seen, so the next poll offers it again).

        A feed that changed usually brings one new item among dozens queued at earlier polls:
        their claims, and whether this feed is noted as carrying them, are read first (one
        read-only script) and only the others are encoded and sent to the claiming script,
        which claims each with SET NX, so an article another replica queued in between is still
        queued once. An article seen before that a feed carries for the first time is noted
        as carried by it, and queued again for personal follows (see ``_SUBMIT``)."""
        if not batch:
            return []
        claims = [keys.seen(article.id) for article, _ in batch]
        sightings = [keys.article_feeds(article.id) for article, _ in batch]
        pairs = [k for pair in zip(claims, sightings, strict=True) for k in pair]
        unknown = await self._check(keys=pairs, args=[article.feed_id for article, _ in batch])
        todo = [i for i, flag in enumerate(unknown) if int(flag)]
        out = [False] * len(batch)
        if todo:
            args: list[str | int] = [self._ttl]
            script_keys = [keys.ingest_stream(), keys.resight_entries()]
            for i in todo:
                article, alerts = batch[i]
                recent = alerts and article.published >= self._clock() - RESIGHT_WINDOW
                flags = ["1" if alerts else "0", article.feed_id, "1" if recent else "0"]
                args += [article_to_json(article), *flags]
                script_keys += [claims[i], sightings[i]]
            reply = await self._submit(keys=script_keys, args=args)
            for i, flag in zip(todo, reply, strict=True):
                out[i] = bool(int(flag))
        failpoint("ingest.after_submit")
        return out

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
