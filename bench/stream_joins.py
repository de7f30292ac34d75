"""Story clustering on the whole news stream: how many joins, and how many of them are right.

The labelled stories of ``bench/clusters.py`` are all about the peace talks. In production every
article of every feed goes through the story index, most of it unrelated news (sport, weather,
markets, other politics), where two reports close in time and sharing a few words are often two
developments. This benchmark runs the in-memory grouping (the same decisions as the Redis
index) over every entry of whole days of the sample exports (``feeds-2026-01``: 45 feeds a day)
and scores each join - an article placed in an existing story, paired with the member it is
most like - against ``bench/data/stream_pairs_judged.jsonl``: pairs of such reports judged
"same" or "different" development by readers who saw only the two reports, drawn as random
samples of the joins that earlier versions of the clustering made on these days. A join that
nobody judged counts as unknown; the coverage says how many were judged.

Prints, per day and method (the shipped model and, as the baseline, the previous release's
rule of joining on a word score of 0.3), the joins, the judged share and the precision among
the judged.

    python bench/stream_joins.py [--samples ../shared/samples]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from clusters import WORDS_ONLY, plain  # noqa: E402

from peacewatch.app import entity_names  # noqa: E402
from peacewatch.models import Article  # noqa: E402
from peacewatch.stories.model import StoryModel, builtin_model  # noqa: E402
from peacewatch.stories.offline import placements  # noqa: E402

JUDGED = ROOT / "bench" / "data" / "stream_pairs_judged.jsonl"
MORE_JUDGED = sorted((ROOT / "bench" / "data").glob("stream_pairs_judged_*.jsonl"))
"""Later judged days, one file each: pairs drawn at random from the candidate stories an
earlier model scored at 0.15 or more, judged from the two headlines before any model decided
on them (``stream_pairs_judged_2026-01-07.jsonl``)."""


def day_articles(samples: Path, day: str) -> list[Article]:
    """Every dated entry with a headline of one day's exports, in publication order."""
    out: dict[str, Article] = {}
    for path in sorted((samples / "feeds-2026-01" / "2026" / "01" / day).glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            if not entry.get("title") or not entry.get("date_published"):
                continue
            try:
                published = datetime.fromisoformat(entry["date_published"].replace("Z", "+00:00"))
            except ValueError:
                continue
            if published.tzinfo is None:
                published = published.replace(tzinfo=UTC)
            link = entry.get("link") or ""
            out[str(entry["id"])] = Article(
                id=str(entry["id"]),
                title=entry["title"],
                link=link,
                published=published,
                source=(urlsplit(link).hostname or "").removeprefix("www."),
                summary=plain(entry.get("description"))[:600],
                lang=(entry.get("language") or "")[:2] or None,
            )
    return sorted(out.values(), key=lambda a: a.published)


def _lines() -> list[str]:
    return [
        line for path in (JUDGED, *MORE_JUDGED) for line in path.read_text("utf-8").splitlines()
    ]


def judged() -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for line in _lines():
        row = json.loads(line)
        a, b = sorted(row["ids"])
        out[(a, b)] = row["label"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "samples")
    args = parser.parse_args()
    labels = judged()
    days = sorted({json.loads(line)["day"] for line in _lines()})
    names = entity_names()
    methods: list[tuple[str, StoryModel]] = [
        (f"shipped model p>={builtin_model().threshold:g}", builtin_model()),
        ("word score >= 0.3 (previous rule)", WORDS_ONLY),  # on today's features
    ]
    print(f"judged pairs: {len(labels)} ({dict(Counter(labels.values()))})")
    print(
        f"{'day':<12}{'method':<36}{'articles':>9}{'joins':>7}{'judged':>8}{'same':>6}{'prec':>7}"
    )
    for day in days:
        articles = day_articles(args.samples, day)
        for label, model in methods:
            placed = placements(articles, entity_names=names, model=model)
            joins = [tuple(sorted((p.article_id, p.closest))) for p in placed if p.closest]
            seen = [labels[j] for j in joins if j in labels]  # type: ignore[index]
            same, different = seen.count("same"), seen.count("different")
            precision = same / (same + different) if same + different else float("nan")
            print(
                f"{day:<12}{label:<36}{len(articles):>9}{len(joins):>7}"
                f"{len(seen) / max(1, len(joins)):>8.0%}{same:>6}{precision:>7.2f}"
            )
    pooled = [
        [labels[j] for d in days for p in placements(day_articles(args.samples, d),
         entity_names=names, model=model) if p.closest
         and (j := tuple(sorted((p.article_id, p.closest)))) in labels]  # type: ignore[index]
        for _, model in methods
    ]  # fmt: skip
    ours, base = (s.count("same") / max(1, s.count("same") + s.count("different")) for s in pooled)
    print(f"FIGURE name=stream_join_precision value={ours:.2f} baseline={base:.2f} "
          f"target=>=0.85 met={'yes' if ours >= 0.85 else 'no'}")  # fmt: skip


if __name__ == "__main__":
    main()
