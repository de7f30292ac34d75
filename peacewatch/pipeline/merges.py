"""Merged stories in chat: the absorbed story's alerting state carried over to the survivor."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

import redis.asyncio as aioredis

from peacewatch.models import Alert, AlertKind
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.codec import alert_from_json

STORY_TTL = 14 * 86400


async def note_claim(redis: aioredis.Redis, story_id: str, team_id: str, destination: str) -> None:
    """Remember that a team's destination holds a claim on a story (a merge carries it)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.sadd(keys.story_claims(story_id), f"{team_id}\t{destination}")
        pipe.expire(keys.story_claims(story_id), STORY_TTL)
        await pipe.execute()


class StoryMerges:
    def __init__(self, redis: aioredis.Redis, queue: AlertQueue) -> None:
        self._redis = redis
        self._queue = queue

    async def merge(self, survivor: str, absorbed: str, now: datetime) -> list[Alert]:
        """Carry a story's alerting state over to the story it was merged into.

        Where only the absorbed story was alerted, its thread becomes the survivor's (later
        follow-ups go there); where both were, the absorbed thread gets one note pointing to
        the surviving alert, and later follow-ups go to the survivor's thread. Idempotent.
        """
        notes: list[Alert] = []
        for pair in sorted(await self._redis.smembers(keys.story_claims(absorbed))):
            team_id, _, destination = str(pair).partition("\t")
            claim = await self._redis.get(keys.story_alerted(team_id, destination, absorbed))
            if not claim:
                continue
            surviving = keys.story_alerted(team_id, destination, survivor)
            held = await self._redis.get(surviving)
            if held and str(held).partition(" ")[0] == str(claim).partition(" ")[0]:
                continue  # carried over before (the same batch handed on again)
            if not held and await self._redis.set(surviving, claim, nx=True, ex=STORY_TTL):
                await note_claim(self._redis, survivor, team_id, destination)
                muted = keys.story_muted(team_id, destination, absorbed)
                if await self._redis.exists(muted):
                    await self._redis.set(
                        keys.story_muted(team_id, destination, survivor), "1", ex=STORY_TTL
                    )
                continue
            note = await self._merge_note(team_id, destination, survivor, absorbed, claim, now)
            if note is not None:
                notes.append(note)
                await self._queue.enqueue(note)
        await self._redis.srem(keys.story_merges_pending(), f"{survivor} {absorbed}")
        return notes

    async def pending(self) -> list[tuple[str, str]]:
        """Merges the assigner recorded whose chat side is not done (after a crash)."""
        out: list[tuple[str, str]] = []
        for entry in sorted(await self._redis.smembers(keys.story_merges_pending())):
            survivor, _, absorbed = str(entry).partition(" ")
            if survivor and absorbed:
                out.append((survivor, absorbed))
        return out

    async def _merge_note(
        self, team_id: str, destination: str, survivor: str, absorbed: str, claim: str,
        now: datetime,
    ) -> Alert | None:  # fmt: skip
        """The note posted in an absorbed story's thread: where the story continues."""
        owner = claim.partition(" ")[0]
        surviving = (
            await self._redis.get(keys.story_alerted(team_id, destination, survivor)) or ""
        ).partition(" ")[0]
        root_json = await self._redis.get(keys.alert_record(surviving)) if surviving else None
        if not root_json:
            return None
        root = alert_from_json(root_json)
        thread = await self._queue.thread_ref(team_id, destination, survivor) or ""
        basis = f"{team_id}\x00{destination}\x00merged\x00{absorbed}"
        return replace(
            root,
            alert_id=hashlib.sha256(basis.encode()).hexdigest()[:32],
            story_id=absorbed,
            kind=AlertKind.FOLLOWUP,
            created=now,
            extra={
                "parent_alert": owner,
                "merged_into": survivor,
                "merged_alert": surviving,
                "merged_ref": thread,
            },
        )
