"""`peacewatch stories`: group a JSON-lines file into stories as the pipeline would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from peacewatch.cli.articles_io import LineError, read_articles
from peacewatch.models import Article
from peacewatch.rules.entities import name_index
from peacewatch.stories.offline import group, in_stream_order


def group_file(path: Path, out: TextIO, err: TextIO, threshold: float | None = None) -> bool:
    """Write one {"article_id", "story_id"} line per article, in input order. Returns whether any
    input line was broken (each is reported on ``err`` with its line number). ``threshold``:
    the probability a report needs to join a story (default: the shipped model's).

    The articles are placed in the order the pipeline places one batch of them (publication
    time, ties by id) by the same index the story assigner keeps."""
    items: list[Article] = []
    bad = False
    with path.open(encoding="utf-8") as stream:
        for item in read_articles(stream):
            if isinstance(item, LineError):
                err.write(f"{path}:{item.line}: {item.message}\n")
                bad = True
            else:
                items.append(item)
    story_of = group(in_stream_order(items), entity_names=name_index(), threshold=threshold)
    for article in items:
        out.write(json.dumps({"article_id": article.id, "story_id": story_of[article.id]}) + "\n")
    return bad
