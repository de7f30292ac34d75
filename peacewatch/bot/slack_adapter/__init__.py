"""The Slack adapter: alerts as Block Kit, /peacewatch commands, Socket Mode or HTTP mode.

The app uses ``SlackAdapter`` only; the rest is exported for tests and tools.
"""

from __future__ import annotations

from peacewatch.bot.slack_adapter.adapter import SlackAdapter, bolt_config
from peacewatch.bot.slack_adapter.oauth import (
    RedisInstallationStore,
    RedisOAuthStateStore,
    SlackTokens,
)
from peacewatch.bot.slack_adapter.pacing import ChannelPacer
from peacewatch.bot.slack_adapter.sink import SlackSink

__all__ = [
    "ChannelPacer",
    "RedisInstallationStore",
    "RedisOAuthStateStore",
    "SlackAdapter",
    "SlackSink",
    "SlackTokens",
    "bolt_config",
]
