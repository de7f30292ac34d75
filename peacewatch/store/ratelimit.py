"""Per-destination send rates as token buckets in Redis, shared by every replica."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from peacewatch.store import keys

# Tokens refill continuously at ``rate`` per second up to ``burst``; a send takes one token or,
# when none is left, learns how long to wait. Redis's own clock, so replicas agree.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local data = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(data[1]) or burst
local at = tonumber(data[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if tokens < 1 then
  return tostring((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return '0'
"""


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int


# Slack: about one message per second per channel, short bursts allowed. Discord: about 30
# messages a minute per channel sustained (webhooks share it), bursts of five.
DEFAULT_RATES: dict[str, Rate] = {
    "slack": Rate(1.0, 3),
    "discord": Rate(0.5, 5),
    "discordhook": Rate(0.5, 5),
}


class SendRates:
    def __init__(self, redis: aioredis.Redis, rates: dict[str, Rate] | None = None) -> None:
        self._redis = redis
        self._rates = DEFAULT_RATES if rates is None else rates
        self._script = redis.register_script(_TAKE)

    async def take(self, destination: str) -> float:
        """Take a send slot for ``destination``: 0.0 when taken, else seconds to wait first."""
        rate = self._rates.get(destination.partition(":")[0])
        if rate is None:
            return 0.0
        wait = await self._script(
            keys=[keys.channel_bucket(destination)], args=[rate.per_second, rate.burst]
        )
        return float(wait)
