"""Feed furniture never reaches a summary: real items of the sample archive, as published."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from peacewatch.cli.articles_io import article_from_dict
from peacewatch.models import Article
from peacewatch.pipeline.story_summary import summarise_story, what_it_adds
from peacewatch.pipeline.summarise import summarise
from peacewatch.watchers.text import html_to_text, strip_furniture

ITEMS = {
    item["id"]: item
    for item in map(
        json.loads,
        (Path(__file__).parent / "data" / "furniture_items.jsonl").read_text().splitlines(),
    )
}
REDDIT_TABLE = "4490173"  # r/worldnews, the post's summary is only "submitted by /u/bendubberley_"
REDDIT_PLAIN = "4490172"
GUARDIAN_LIVE = "8bac9022ebb09c93"  # ends with "Continue reading..."
GUARDIAN_READ_MORE = "4499442"  # a "Read more summer essentials" line inside the standfirst
ALJAZEERA_VIDEO = "8e73e76ff2ae99a5"  # channel links and a line of hashtags
FURNITURE = ("submitted by", "/u/", "[link]", "[comments]", "Continue reading", "Read more")


def article(item_id: str, **changes: str) -> Article:
    item = ITEMS[item_id]
    fields = {
        "id": item_id,
        "title": item["title"],
        "link": item["link"],
        "published": datetime.fromisoformat(item["published"]),
        "source": "example.org",
        "summary": html_to_text(item["summary"]),
        "lang": "en",
    }
    fields.update(changes)
    return Article(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("item_id", [REDDIT_TABLE, REDDIT_PLAIN])
def test_a_reddit_post_has_no_text_of_its_own(item_id: str) -> None:
    assert "submitted by" in ITEMS[item_id]["summary"]
    assert html_to_text(ITEMS[item_id]["summary"]) == ""
    assert summarise(article(item_id)) == ""  # no summary rather than "submitted by /u/..."


def test_furniture_already_stored_is_still_left_out_of_summaries() -> None:
    # an article normalised before furniture was stripped at ingest keeps the text it had
    stored = "submitted by /u/bendubberley_\n[link] [comments]"
    old = article(REDDIT_TABLE, summary=stored)
    assert summarise(old) == ""
    assert summarise_story([old]) == ""
    assert what_it_adds(old, [article(GUARDIAN_LIVE)]) == ""


def test_continue_reading_goes_and_the_article_stays() -> None:
    text = html_to_text(ITEMS[GUARDIAN_LIVE]["summary"])
    assert "Continue reading" not in text
    assert text.endswith("catastrophic for the Nato coalition.")
    summary = summarise(article(GUARDIAN_LIVE))
    assert summary.startswith("Volodymyr Zelenskyy will talk with leaders")
    assert not any(f in summary for f in FURNITURE)


def test_a_read_more_line_inside_the_text_goes() -> None:
    text = html_to_text(ITEMS[GUARDIAN_READ_MORE]["summary"])
    assert "Read more summer essentials" in ITEMS[GUARDIAN_READ_MORE]["summary"]
    assert "Read more" not in text
    assert text.startswith("As we age, we naturally lose mobility.")
    assert "You’re clinging to the overhead strap" in text


def test_channel_links_and_hashtags_go() -> None:
    text = html_to_text(ITEMS[ALJAZEERA_VIDEO]["summary"])
    assert "Subscribe" not in text and "#Ukraine" not in text and "http" not in text
    assert text.splitlines()[-1] == "Al Jazeera’s Natacha Butler reports from Paris, France."
    assert summarise(article(ALJAZEERA_VIDEO)).startswith("A new agreement has been reached")


def test_match_contract_prints_no_furniture_for_real_items() -> None:
    # `peacewatch match` reads the same fields the feeds give (articles_io)
    for item_id, item in ITEMS.items():
        fields = ("id", "title", "summary", "link", "published")
        parsed = article_from_dict({k: item[k] for k in fields})
        assert not any(f in parsed.summary for f in FURNITURE), item_id


def test_furniture_words_inside_a_sentence_are_kept() -> None:
    text = (
        "Advertisement\n"
        "Spotify said the advertisements were part of a campaign.\n"
        "10.32 GMT – Zelenskyy arrives at the Élysée.\n"
        "Updated at 11.05 GMT\n"
        "Watch video below\n"
        "Troops would move at 10.30 under the plan. Read more"
    )
    assert strip_furniture(text) == (
        "Spotify said the advertisements were part of a campaign.\n"
        "Zelenskyy arrives at the Élysée.\n"
        "Troops would move at 10.30 under the plan."
    )


def test_stored_furniture_lines_of_any_kind_stay_out_of_a_summary() -> None:
    real = "Tusk echoed Denmark’s comments yesterday that any US attack on the Danish territory "
    real += "would be catastrophic for the Nato coalition."
    stored = "\n".join(
        ["Advertisement", "Watch video below", real, "Get our breaking news email, free app"]
    )
    assert summarise(article(GUARDIAN_LIVE, summary=stored)) == real
