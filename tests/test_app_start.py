"""App.start compiles the rules and loads the language identifier before the first poll."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from peacewatch.app import App
from peacewatch.bot.console import ConsoleSink
from peacewatch.rules.morph import surface_forms
from peacewatch.rules.morphword import analyzer
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.settings import Settings
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers import language
from peacewatch.watchers.guard import GuardPolicy
from tests.helpers import redis_url


async def open_app(redis: dict[str, Any], data_dir: Path) -> App:
    settings = Settings(PEACEWATCH_DATA_DIR=data_dir, REDIS_URL=redis_url(redis))
    return await App.open(
        settings, sinks=[ConsoleSink(io.StringIO())], guard=GuardPolicy(allow_private=True)
    )


async def test_start_loads_the_rules_and_the_language_identifier_before_the_first_poll(
    redis_target: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("PEACEWATCH_CACHE_DIR", str(cache))
    app = await open_app(redis_target, tmp_path / "data")
    try:
        rule = RuleSpec(id="r1", query="Witkoff", channels=["console:news"])
        await app.teams.replace("default", [rule], [])
        # polled an hour from now at the earliest: nothing is read during the test
        await app.feeds.put(FeedSpec(id="f1", url="http://127.0.0.1:9/feed.xml", interval=3600))
        language._identifier.cache_clear()
        await app.start()
        assert list(cache.glob("teams-*.pickle"))  # the rules were compiled (and kept on disk)
        assert language._identifier.cache_info().currsize == 1
        assert app.scheduler.in_flight == 0
    finally:
        await app.close()


async def test_start_lets_go_of_the_morphology_dictionaries(
    redis_target: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEACEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    app = await open_app(redis_target, tmp_path / "data")
    try:
        rule = RuleSpec(id="r1", query="Бевз OR Witkoff", channels=["console:news"])
        await app.teams.replace("default", [rule], [])
        analyzer("uk")  # loaded, as inflecting the built-in names does at a first start
        await app.start()
        assert analyzer.cache_info().currsize == 0
        # names are still inflected (the dictionaries are loaded again when a name needs them)
        assert "харитоненковича зеленчукевича" in surface_forms("Харитоненкович Зеленчукевич")
    finally:
        await app.close()
