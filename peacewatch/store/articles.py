"""Articles in Redis: first-sighting claims and the stored history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.store.codec import article_from_json, article_to_json


class ArticleStore:
    def __init__(self, redis: aioredis.Redis, retention: timedelta = timedelta(days=90)) -> None:
        self._redis = redis
        self._ttl = int(retention.total_seconds())

    @property
    def ttl_seconds(self) -> int:
        """How long a stored article is kept (its record's expiry)."""
        return self._ttl

    async def claim(self, article_id: str, lease_seconds: int = 600) -> bool:
        """True if this process may handle the article now: nobody finished it (any replica,
        any restart) and nobody is handling it. The claim is a lease until ``done``: if the
        process dies half-way, it lapses and the article is handled again on a later poll."""
        return bool(
            await self._redis.set(keys.seen(article_id), "processing", nx=True, ex=lease_seconds)
        )

    async def busy(self, article_id: str) -> bool:
        """Whether someone holds the article's lease without having finished it."""
        state: str | None = await self._redis.get(keys.seen(article_id))
        return state == "processing"

    async def done(self, article_id: str) -> None:
        """The article was handled completely: never handle it again within the retention."""
        await self._redis.set(keys.seen(article_id), "done", ex=self._ttl)

    async def release(self, article_id: str) -> None:
        """Handling failed: let the next poll try the article again."""
        await self._redis.delete(keys.seen(article_id))

    async def exists(self, article_id: str) -> bool:
        return bool(await self._redis.exists(keys.seen(article_id)))

    async def save(self, article: Article) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            self.queue_save(pipe, article)
            await pipe.execute()

    def queue_save(self, pipe: Any, article: Article) -> None:
        """Queue on ``pipe`` the writes that store ``article`` (for batches)."""
        pipe.set(keys.article(article.id), article_to_json(article), ex=self._ttl)
        pipe.zadd(keys.articles_by_time(), {article.id: article.published.timestamp()})

    async def get(self, article_id: str) -> Article | None:
        text = await self._redis.get(keys.article(article_id))
        return article_from_json(text) if text else None

    async def get_many(self, article_ids: list[str]) -> list[Article]:
        if not article_ids:
            return []
        texts = await self._redis.mget([keys.article(a) for a in article_ids])
        return [article_from_json(t) for t in texts if t]

    async def prune(self, now: datetime) -> int:
        """Drop index entries of articles past the retention (their records have expired)."""
        cutoff = now.timestamp() - self._ttl
        return int(await self._redis.zremrangebyscore(keys.articles_by_time(), "-inf", cutoff))

    async def count(self) -> int:
        return int(await self._redis.zcard(keys.articles_by_time()))
