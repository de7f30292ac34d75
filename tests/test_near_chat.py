"""Group NEAR and look-alike warnings where teams meet them: `rules add` and history search."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from peacewatch.bot.replies import Caller
from peacewatch.services.commands import CommandService
from peacewatch.store.history import HistoryIndex
from tests.test_history import ALL_TIME, NOW, store_samples

ADMIN = Caller("slack", "slack:T1", "U1", "slack:C1", platform_admin=True)


async def test_rules_add_shows_warnings_and_keeps_the_rule(redis_client: aioredis.Redis) -> None:
    service = CommandService(redis_client, clock=lambda: NOW)
    reply = await service.rules_add(ADMIN, "w", "Putin NEAR5 Trump and Zelensky")
    assert not reply.error, reply.text
    assert "Warning, column 7: did you mean NEAR/5? 'NEAR5' is searched as a word" in reply.text
    assert "Warning, column 19: did you mean AND? lower-case 'and' is searched" in reply.text
    (listed,) = (await service.rules_list(ADMIN)).items
    assert "Putin NEAR5 Trump and Zelensky" in listed.title + listed.text
    clean = await service.rules_add(ADMIN, "g", "(Donbas OR Crimea) NEAR/10 (talks OR plan*)")
    assert not clean.error and "Warning" not in clean.text


@pytest.mark.parametrize(
    "query",
    [
        "(Putin OR Lavrov) NEAR/5 (Trump OR summit)",
        "(Donbas OR Crimea) NEAR/10 (withdraw* OR plan)",
        'title:(Witkoff OR Dmitriev) NEAR/3 (Putin OR "Trump Envoy")',
    ],
)
async def test_history_search_with_near_groups_answers_what_a_full_scan_answers(
    redis_client: aioredis.Redis, query: str
) -> None:
    history = HistoryIndex(redis_client, retention=timedelta(days=365), clock=lambda: NOW)
    await store_samples(redis_client, history)
    indexed = await history.search(query, ALL_TIME, keep=50)
    scanned = await history.scan(query, ALL_TIME, keep=50)
    assert indexed.hits == scanned.hits
    assert indexed.total >= 1
