"""`peacewatch run` checks every destination at start: served, or refused with exit 2."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.discord_api import FakeDiscord
from tests.fakes.feed_server import FeedServer
from tests.helpers import SAMPLE_ITEMS, dated, free_port, rss, start_run

ROOT = Path(__file__).resolve().parents[1]


def run_config(tmp_path: Path, text: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``peacewatch run --config`` with a config it must refuse before it starts anything."""
    config = tmp_path / "desk.yaml"
    config.write_text(text)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    clean.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "peacewatch", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**clean, "PEACEWATCH_DATA_DIR": str(tmp_path / "data"),
             "PEACEWATCH_HTTP_PORT": str(free_port()), "PEACEWATCH_HTTP_HOST": "127.0.0.1", **env},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("channels", "line", "says"),
    [
        ("['slak:C0123ABCD']", "3:16", "unknown platform 'slak'"),
        ("['slack:#general']", "3:16", "names a channel, but alerts need its id"),
        ("[]", "3:15", "has no channels, so its alerts would go nowhere"),
    ],
)
def test_run_refuses_what_config_check_refuses(
    tmp_path: Path, channels: str, line: str, says: str
) -> None:
    done = run_config(tmp_path, f"rules:\n  - id: desk\n    channels: {channels}\n    query: x\n")
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"desk.yaml:{line}: " in done.stderr and says in done.stderr
    assert "peacewatch running" not in done.stderr


def test_a_platform_without_credentials_is_an_error_at_start(tmp_path: Path) -> None:
    done = run_config(
        tmp_path,
        "rules:\n"
        "  - {id: kyiv-desk, query: Witkoff, channels: ['console:desk', 'slack:C0123ABCD']}\n"
        "  - {id: envoys, query: Dmitriev, channels: ['discord:112233445566778899']}\n",
    )
    assert done.returncode == 2, done.stderr[-2000:]
    err = done.stderr
    assert "rule 'kyiv-desk'" in err and "'slack:C0123ABCD'" in err and "SLACK_BOT_TOKEN" in err
    assert "rule 'envoys'" in err and "'discord:112233445566778899'" in err
    assert "DISCORD_TOKEN" in err and "peacewatch running" not in err


async def test_a_webhook_only_discord_deployment_posts_without_a_bot_token(
    tmp_path: Path,
) -> None:
    items = dated(SAMPLE_ITEMS[:1], datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=5))
    fake = FakeDiscord()
    await fake.start()
    try:
        hook = fake.add_webhook(fake.add_channel())
        hook_id = hook.split("/")[-2]
        async with FeedServer() as feeds:
            feeds.set_feed("/feed.xml", rss(items))
            config = tmp_path / "config.yaml"
            config.write_text(
                "feeds:\n"
                f"  - {{id: local, url: '{feeds.url('/feed.xml')}', interval: 10}}\n"
                "rules:\n"
                f"  - {{id: envoys, query: 'Witkoff', channels: ['discordhook:{hook}']}}\n"
            )
            proc = await start_run(
                config, tmp_path / "data", free_port(), {"DISCORD_API_URL": fake.api_url}
            )
            try:
                route = f"/webhooks/{hook_id}/"
                await fake.wait_for(lambda: bool(fake.of("POST", route)), 30)
            finally:
                proc.send_signal(signal.SIGTERM)
                _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        log = stderr.decode()
        assert proc.returncode == 0, log[-2000:]
        assert "Discord webhooks: webhooks, no bot token needed; serves 1 destination" in log
        assert "console: alerts printed on stdout; serves 0 destinations" in log
        assert "Slack:" not in log and "Discord bot:" not in log
        assert hook.split("/")[-1] not in log  # the webhook token is a secret
        assert not fake.identified  # no gateway, no bot
    finally:
        await fake.close()


async def test_a_discord_channel_outside_the_teams_server_stops_the_start(tmp_path: Path) -> None:
    fake = FakeDiscord()
    await fake.start()
    try:
        ours = fake.add_channel()
        config = tmp_path / "config.yaml"
        config.write_text(
            "team: discord:999999999999\n"  # another server than the channel's
            "rules:\n"
            f"  - {{id: envoys, query: Witkoff, channels: ['discord:{ours}']}}\n"
            "  - {id: lost, query: Lavrov, channels: ['discord:123456789012']}\n"
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
        _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await fake.close()
    log = stderr.decode()
    assert proc.returncode == 2, log[-2000:]
    assert f"rule 'envoys': 'discord:{ours}': Channel {ours} is not in this server" in log
    assert "rule 'lost': 'discord:123456789012': Discord has no channel" in log
    assert fake.token not in log
