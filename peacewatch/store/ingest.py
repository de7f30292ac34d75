"""The ingest stream: new articles from every replica's watchers, each claimed once, in order.

An article counts as seen exactly when it is in the stream: one server-side script claims each
article's first sighting (``SET NX``) and appends it in the same step, so a crash can neither
leave an article seen but never queued nor queue it twice. The story assigner reads the stream
in order from its cursor; entries before the cursor are trimmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio as aioredis

from peacewatch.failpoints import failpoint
from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.store.codec import article_from_json, article_to_json

# KEYS[1] the stream, KEYS[2..] the articles' seen keys; ARGV[1] the claims' expiry, then one
# (payload, alerts flag) pair per article. Returns 1/0 per article: appended or already seen.
_SUBMIT = """
local out = {}
for i = 2, #KEYS do
  local payload = ARGV[2 * (i - 1)]
  local alerts = ARGV[2 * (i - 1) + 1]
  if redis.call('SET', KEYS[i], 'queued', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', 'a', payload, 'alerts', alerts)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
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
    def __init__(self, redis: aioredis.Redis, retention: timedelta = timedelta(days=90)) -> None:
        self._redis = redis
        self._ttl = int(retention.total_seconds())
        self._submit = redis.register_script(_SUBMIT)

    async def seen(self, article_id: str) -> bool:
        """Whether the article was ever queued (by any replica, before any restart)."""
        return bool(await self._redis.exists(keys.seen(article_id)))

    async def submit(self, batch: Sequence[tuple[Article, bool]]) -> list[bool]:
        """Queue each (article, may alert) not seen before, in the order given; returns, per
        item, whether it was new. Raises redis errors (then nothing of the batch after the
        failure point is seen, so the next poll offers it again).

        A feed that changed usually brings one new item among dozens queued at earlier polls:
        their claims are read first (one MGET) and only the others are encoded and sent to the
        claiming script, which claims each with SET NX, so an article another replica queued
        in between is still queued once."""
        if not batch:
            return []
        claims = [keys.seen(article.id) for article, _ in batch]
        held = await self._redis.mget(claims)
        fresh = [i for i, claim in enumerate(held) if claim is None]
        out = [False] * len(batch)
        if fresh:
            args: list[str | int] = [self._ttl]
            for i in fresh:
                article, alerts = batch[i]
                args += [article_to_json(article), "1" if alerts else "0"]
            reply = await self._submit(
                keys=[keys.ingest_stream(), *(claims[i] for i in fresh)], args=args
            )
            for i, flag in zip(fresh, reply, strict=True):
                out[i] = bool(int(flag))
        failpoint("ingest.after_submit")
        return out

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
