"""The move of an existing deployment's keys from the untagged prefix of earlier versions
(``pw:v1:``) to the hash-tagged one (``pw:{v1}:``), done once when peacewatch connects.

Each key is renamed only while its new name is free (RENAME keeps its expiry, a stream keeps its
consumer groups), in small atomic batches, so a start that is interrupted, or two replicas that
start at once, simply go on where the other left off. When no untagged key is left a marker key
is set and later starts skip the scan. A key whose tagged name is already taken is left where it
is and reported. The move runs on a standalone server (embedded, ``redis://``, Sentinel's
master); a Redis Cluster never held working untagged keys (their multi-key commands were refused
there), so nothing is moved on one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis.asyncio as aioredis

from peacewatch.store import keys

log = logging.getLogger(__name__)

BATCH = 500
"""Keys renamed per script call."""

# KEYS: old, new, old, new, ...; returns {renamed, left because the new name is taken}.
_RENAME = """
local moved, taken = 0, 0
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    if redis.call('EXISTS', KEYS[i + 1]) == 0 then
      redis.call('RENAME', KEYS[i], KEYS[i + 1])
      moved = moved + 1
    else
      taken = taken + 1
    end
  end
end
return {moved, taken}
"""


@dataclass
class Moved:
    renamed: int = 0
    left: int = 0
    """Untagged keys whose tagged name already existed (not moved)."""


def tagged_name(old: str) -> str:
    """The tagged key of an untagged one (``pw:v1:feed:x`` -> ``pw:{v1}:feed:x``)."""
    return keys.PREFIX + old.removeprefix(keys.UNTAGGED_PREFIX)


async def migrate_untagged(redis: aioredis.Redis) -> Moved:
    """Rename every ``pw:v1:*`` key to its ``pw:{v1}:*`` name, unless done before."""
    moved = Moved()
    if await redis.exists(keys.keyspace_tagged()):
        return moved
    script = redis.register_script(_RENAME)
    batch: list[str] = []
    async for old in redis.scan_iter(match=keys.UNTAGGED_PREFIX + "*", count=1000):
        batch += [old, tagged_name(old)]
        if len(batch) >= 2 * BATCH:
            _add(moved, await script(keys=batch))
            batch = []
    if batch:
        _add(moved, await script(keys=batch))
    if moved.left:
        log.warning(
            "store: %d keys under %s were not moved: their %s names already exist",
            moved.left,
            keys.UNTAGGED_PREFIX,
            keys.PREFIX,
        )
    if moved.renamed:
        log.info(
            "store: %d keys moved from %s to %s", moved.renamed, keys.UNTAGGED_PREFIX, keys.PREFIX
        )
    await redis.set(keys.keyspace_tagged(), "1")
    return moved


def _add(moved: Moved, reply: list[int]) -> None:
    moved.renamed += int(reply[0])
    moved.left += int(reply[1])
