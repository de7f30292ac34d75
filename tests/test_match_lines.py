"""`peacewatch match` writes each match as the JSON that ``json.dumps`` would write for its
record, with hits shared between the matches of an article written once."""

from __future__ import annotations

import json

from peacewatch.cli.match_lines import MatchLines
from peacewatch.models import Hit, Match


def record_line(article_id: str, match: Match, summary: str) -> str:
    """The line as the command wrote it before: a dict through json.dumps."""
    record = {
        "article_id": article_id,
        "rule_id": match.rule_id,
        "matched": list(match.matched),
        "hits": [
            {"term": h.term, "field": h.field, "start": h.start, "end": h.end, "text": h.text}
            for h in match.hits
        ],
        "entities": list(match.entities),
        "summary": summary,
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


def test_lines_are_the_json_of_the_record() -> None:
    quoted = Hit('"security" guarantees', "body", 12, 31, "“security”\tguarantees\\")
    cyrillic = Hit("Уиткофф", "title", 0, 7, "Уиткоффа")
    control = Hit("peace", "body", 1_000_000, 1_000_005, "pe\x00ace\u2028")
    matches = [
        Match("file", "r1", 'a"1', ("Уиткофф", '"security" guarantees'), (cyrillic, quoted)),
        Match("file", "r2", 'a"1', (), (), ("ent:ukraine", "ent:\u0445")),
        Match("file", "r\n3", 'a"1', ("peace",), (control, quoted, control)),
    ]
    writer = MatchLines('a"1')
    for match, summary in zip(matches, ["", "Talks “go on” — in Kyiv…", "\x7f\ud7ff"], strict=True):
        line = writer.line(match, summary)
        assert line == record_line('a"1', match, summary)
        assert json.loads(line)["rule_id"] == match.rule_id


def test_a_hit_seen_before_is_written_as_itself() -> None:
    """Two hits that hold the same values but are distinct objects, and a hit dropped and
    another made in its place, each get their own text."""
    writer = MatchLines("a")
    first = Hit("Kyiv", "body", 0, 4, "Kyiv")
    assert '"start": 0' in writer.line(Match("t", "r", "a", ("Kyiv",), (first,)), "")
    for start in range(50):  # new hits, made while earlier ones are freed
        hit = Hit("Kyiv", "body", start, start + 4, "Kyiv")
        line = writer.line(Match("t", "r", "a", ("Kyiv",), (hit,)), "")
        assert f'"start": {start}, "end": {start + 4}' in line


def test_entities_and_summaries_are_each_written_as_themselves() -> None:
    """A team's entities and a summary are one object for many matches, and their JSON is made
    once: values made anew (earlier ones freed, their ids free to be taken) still get their own
    text, and the lines stay those of the records."""
    writer = MatchLines("a")
    shared = ("ent:kyiv", "ent:ukraine")
    summary = "Talks go on."
    for n in range(50):
        entities = shared if n % 2 else tuple(f"ent:{n}-{i}" for i in range(n % 3))
        text = summary if n % 3 else "".join(("Summary ", str(n), "."))
        match = Match("t", f"r{n}", "a", (), (), entities)
        line = writer.line(match, text)
        assert line == record_line("a", match, text)
