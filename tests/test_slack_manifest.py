"""The Slack app manifest asks for the scopes the OAuth install asks for, and docs/slack.md
explains each of them."""

from __future__ import annotations

import yaml

from peacewatch.bot.slack_adapter.app import BOT_SCOPES
from tests.helpers import REPO_ROOT


def test_manifest_install_and_docs_agree_on_the_bot_scopes() -> None:
    manifest = yaml.safe_load((REPO_ROOT / "slack-manifest.yaml").read_text())
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert sorted(scopes) == sorted(BOT_SCOPES)
    assert {"channels:history", "groups:history"} <= set(scopes)  # the check before a repost
    guide = (REPO_ROOT / "docs" / "slack.md").read_text()
    assert [s for s in scopes if f"`{s}`" not in guide] == []
