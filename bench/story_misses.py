"""Why labelled same-story reports end up apart: each missed join, put down to its cause.

Replays each training period (A, B, C of ``bench/data/stories_labelled.yaml``; never D-F) with
a story model fitted on the other training periods (as ``bench/clusters.py`` fits it), in
publication order through the same :class:`WindowIndex` the assigner uses. Whenever an article
has labelled story-mates already placed and does not join a story that holds one of them, the
miss is put down, per such story, to the first cause that applies:

- ``outside window``: no member of that story lies within the story window of the article;
- ``not a candidate``: the token index did not offer the story for comparison (recall lost
  before scoring); the probability it would have had is still computed;
- ``scored low``: compared, but its join probability stayed below the threshold;
- ``lost to another``: it reached the threshold, but another story scored higher.

Each miss is also split by language (the article's language among its mates' or not) and its
probability is binned. ``--show`` lists every miss with the two headlines and the signals.

    python bench/story_misses.py [--samples ../shared/samples] [--show]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from clusters import TRAIN, fit, load, period  # noqa: E402

from peacewatch.app import entity_names  # noqa: E402
from peacewatch.models import Article  # noqa: E402
from peacewatch.stories.features import entity_engine  # noqa: E402
from peacewatch.stories.memory import WindowIndex  # noqa: E402
from peacewatch.stories.model import StoryModel  # noqa: E402
from peacewatch.stories.scoring import near_members, story_score, story_signals  # noqa: E402

WINDOW = timedelta(hours=48)
BINS = (0.1, 0.3, 0.55)


def _bin(p: float) -> str:
    low = 0.0
    for high in BINS:
        if p < high:
            return f"p {low:.2f}-{high:.2f}"
        low = high
    return f"p >= {low:.2f}"


def misses(
    articles: list[Article],
    gold: dict[str, str],
    names: dict[str, str],
    model: StoryModel,
    show: bool,
) -> Counter[str]:
    """The causes of the missed joins of one period (see the module's docstring)."""
    index = WindowIndex(WINDOW, entity_engine(names), model=model)
    by_id = {a.id: a for a in articles}
    out: Counter[str] = Counter()
    for article in articles:
        feats = index.features_of(article)
        chosen, _ = index.candidates(feats)
        joined, _ = index.decide(feats)
        mates = {index.placed[a][0] for a in index.placed if gold[a] == gold[article.id]}
        for story_id in sorted(mates - {joined}):
            members = index.stories[story_id].members_since(-float("inf"))
            near = near_members(feats, members, WINDOW)
            idf = index.idf_of(feats, *members)
            p = story_score(feats, near, idf, model) if near else 0.0
            if not near:
                cause = "outside window"
            elif story_id not in chosen:
                cause = "not a candidate"
            elif p < index.threshold:
                cause = "scored low"
            else:
                cause = "lost to another"
            langs = {m.lang for m in members}
            tongue = "same language" if feats.lang in langs else "other language"
            out[cause] += 1
            out[f"{cause} / {tongue}"] += 1
            out[f"{cause} / {_bin(p)}"] += 1
            out["all"] += 1
            if show:
                mate = by_id.get(members[0].article_id)
                print(f"{cause:16} {tongue:14} p={p:.2f} [{gold[article.id]}]")
                print(f"    {article.lang} {article.title[:100]!r}")
                if mate is not None:
                    print(f"    {mate.lang} {mate.title[:100]!r} (+{len(members) - 1} more)")
                if near:
                    signals = story_signals(feats, near, idf)
                    print("    " + " ".join(f"{k}={v:.2f}" for k, v in signals.items()))
        index.place(article, feats=feats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "samples")
    parser.add_argument("--show", action="store_true", help="list every miss")
    args = parser.parse_args()
    articles, gold = load(args.samples)
    names = entity_names()
    train = [a for a in articles if period(a) in TRAIN]
    total: Counter[str] = Counter()
    for held in TRAIN:
        others = [a for a in train if period(a) != held]
        model = fit(others, gold, names)
        seen = "+".join(p for p in TRAIN if p != held)
        print(f"period {held}: model fitted on {seen} (threshold {model.threshold:g})")
        total += misses([a for a in train if period(a) == held], gold, names, model, args.show)
    print(f"\nmissed joins in {', '.join(TRAIN)} (article vs. a story holding a labelled mate):")
    for key, count in sorted(total.items(), key=lambda kv: (kv[0].split(" / ")[0], kv[0])):
        print(f"  {key:<40}{count:>6}{count / total['all']:>8.0%}")


if __name__ == "__main__":
    main()
