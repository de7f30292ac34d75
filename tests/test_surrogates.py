"""A lone surrogate (a JSON ``\\ud800`` escape, a character reference to one) is no character
and cannot be encoded as UTF-8: it becomes U+FFFD, and the item that carries it is read with
the rest instead of stopping the feed or the command."""

from __future__ import annotations

import json
from pathlib import Path

from peacewatch.watchers.parse import parse_bytes
from peacewatch.watchers.text import html_to_text
from tests.test_cli import cli

RULES = 'rules:\n  - id: envoy\n    query: Witkoff\n    channels: ["slack:C0123ABCD"]\n'


def test_a_feed_with_a_reference_to_a_surrogate_keeps_every_item() -> None:
    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
        b"<item><title>Witkoff &#55296; meets &#xDFFF; Putin &#x0D800;</title>"
        b"<description>Talks &amp;#56000; in Moscow</description></item>"
        b"<item><title>Second report</title></item>"
        b"<item><title>Not a surrogate: &#55295; &#57344;</title></item>"
        b"</channel></rss>"
    )
    parsed = parse_bytes(feed)
    titles = [entry.title for entry in parsed.entries]
    assert titles == [
        "Witkoff \ufffd meets \ufffd Putin \ufffd",
        "Second report",
        "Not a surrogate: \ud7ff \ue000",
    ]
    assert html_to_text(parsed.entries[0].summary) == "Talks \ufffd in Moscow"


def test_html_to_text_replaces_lone_surrogates() -> None:
    assert html_to_text("Witkoff \ud800 in <b>Moscow\udfff</b>") == "Witkoff \ufffd in Moscow\ufffd"
    assert html_to_text("Kyiv &#55296; talks") == "Kyiv \ufffd talks"
    assert html_to_text("Київ і Москва") == "Київ і Москва"  # other text passes unchanged


def test_match_reads_an_article_with_a_lone_surrogate_with_the_others(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    articles = tmp_path / "a.jsonl"
    lines = [
        json.dumps({"id": "a\ud800", "title": "Witkoff meets Putin \udc00 in Moscow"}),
        json.dumps({"id": "b", "title": "Witkoff meets Putin in Moscow"}),
    ]
    assert "\\ud800" in lines[0]  # a JSON escape, as a producer of broken text writes it
    articles.write_text("\n".join(lines) + "\n")
    result = cli("match", "--rules", str(rules), "--articles", str(articles))
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["article_id"], o["rule_id"]) for o in out] == [("a\ufffd", "envoy"), ("b", "envoy")]
