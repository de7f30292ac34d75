"""`peacewatch run` with Discord: alerts reach the channel, commands arrive over the gateway."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fakes.discord_api import FakeDiscord
from tests.fakes.feed_server import FeedServer
from tests.helpers import SAMPLE_ITEMS, dated, free_port, rss, start_run
from tests.test_discord_commands import command


async def test_run_delivers_to_discord_and_answers_over_the_gateway(tmp_path: Path) -> None:
    items = dated(SAMPLE_ITEMS[:1], datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=5))
    fake = FakeDiscord()
    await fake.start()
    try:
        channel = fake.add_channel()
        async with FeedServer() as feeds:
            feeds.set_feed("/feed.xml", rss(items))
            config = tmp_path / "config.yaml"
            config.write_text(
                f"team: discord:{fake.guild_id}\n"
                "feeds:\n"
                f"  - {{id: local, url: '{feeds.url('/feed.xml')}', interval: 10}}\n"
                "rules:\n"
                f"  - {{id: envoys, query: 'Witkoff', channels: ['discord:{channel}']}}\n"
            )
            proc = await start_run(
                config,
                tmp_path / "data",
                free_port(),
                {
                    "DISCORD_TOKEN": fake.token,
                    "DISCORD_API_URL": fake.api_url,
                    "DISCORD_APPLICATION_ID": str(fake.application_id),
                },
            )
            try:
                await fake.wait_for(lambda: bool(fake.identified), 30)
                route = f"/channels/{channel}/messages"
                await fake.wait_for(lambda: bool(fake.of("POST", route)), 30)
                (posted,) = fake.of("POST", route)
                assert items[0]["title"] in str(posted.body)
                payload = fake.interaction_payload(command("help"), channel_id=channel)
                await fake.dispatch("INTERACTION_CREATE", payload)
                await fake.wait_for(lambda: bool(fake.answers(payload)), 15)
            finally:
                proc.send_signal(signal.SIGTERM)
                _, stderr = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 0, stderr.decode()[-2000:]
            assert fake.token not in stderr.decode()
    finally:
        await fake.close()
