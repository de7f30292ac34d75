"""Story grouping without Redis: ``peacewatch stories``, the benchmarks and model fitting."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from peacewatch.models import Article
from peacewatch.stories.features import Features, entity_engine
from peacewatch.stories.memory import Member, WindowIndex
from peacewatch.stories.merge import DEFAULT_MERGE
from peacewatch.stories.model import StoryModel
from peacewatch.stories.rarity import Background
from peacewatch.stories.scoring import WORD_FLOOR, near_members, similarity, story_signals


def in_stream_order(articles: Iterable[Article]) -> list[Article]:
    """``articles`` in the order the pipeline places a batch of them: by publication time,
    ties by id."""
    return sorted(articles, key=lambda a: (a.published, a.id))


def group(
    articles: Iterable[Article],
    window: timedelta = timedelta(hours=48),
    entity_names: Mapping[str, str] | None = None,
    threshold: float | None = None,
    background: Background | None = None,
    model: StoryModel | None = None,
    merge_threshold: float | None = DEFAULT_MERGE,
) -> dict[str, str]:
    """Article id -> story id for ``articles`` taken in the order given (the story each is in
    at the end, merges included).

    The same decisions as the story assigner (the same :class:`WindowIndex`).
    """
    engine = entity_engine(entity_names) if entity_names else None
    index = WindowIndex(window, engine, threshold, model, background, merge_threshold)
    ids: list[str] = []
    for article in articles:
        if article.id not in index.placed:
            index.place(article)
            ids.append(article.id)
    return {a: index.placed[a][0] for a in ids}


@dataclass(frozen=True, slots=True)
class Placement:
    """Where :func:`placements` put an article."""

    article_id: str
    story_id: str
    closest: str | None
    """The member of the story most like the article (its word score), None if it started it."""


def placements(
    articles: Iterable[Article],
    window: timedelta = timedelta(hours=48),
    entity_names: Mapping[str, str] | None = None,
    threshold: float | None = None,
    background: Background | None = None,
    model: StoryModel | None = None,
) -> list[Placement]:
    """:func:`group`'s decisions one by one, each with the member it is most like."""
    engine = entity_engine(entity_names) if entity_names else None
    index = WindowIndex(window, engine, threshold, model, background)
    out: list[Placement] = []
    for article in articles:
        if article.id in index.placed:
            continue
        feats = index.features_of(article)
        chosen, idf = index.candidates(feats)
        story, _ = index.decide(feats)
        closest = None
        if story is not None:
            near = near_members(feats, chosen[story], window)
            closest = max(near, key=lambda m: similarity(feats, m, idf)).article_id
        assignment, _ = index.place(article, feats=feats)
        out.append(Placement(article.id, assignment.story_id, closest))
    return out


def decisions(
    articles: Iterable[Article],
    gold: Mapping[str, str],
    window: timedelta = timedelta(hours=48),
    entity_names: Mapping[str, str] | None = None,
) -> list[tuple[str, dict[str, float], bool]]:
    """The choices an online clustering faces on labelled ``articles``, for fitting a model.

    Articles are taken in the order given and placed in their labelled story (``gold``:
    article id -> story id); before that, each is scored against every candidate story the
    index finds for it. Rows: (article id, signals, whether the candidate is its story).
    """
    engine = entity_engine(entity_names) if entity_names else None
    index = WindowIndex(window, engine)
    rows: list[tuple[str, dict[str, float], bool]] = []
    for article in articles:
        feats = index.features_of(article)
        chosen, idf = index.candidates(feats)
        for story, members in chosen.items():
            near = near_members(feats, members, window)
            if not near:
                continue
            signals = story_signals(feats, near, idf)
            if max(signals["lexical"], signals["closest"], signals["headline"]) >= WORD_FLOOR:
                rows.append((article.id, signals, story == gold[article.id]))
        index.add(Member(gold[article.id], feats, article.source, None, (0, 0)))
    return rows


def pair_decisions(
    articles: Iterable[Article],
    judged: Mapping[tuple[str, str], bool],
    window: timedelta = timedelta(hours=48),
    entity_names: Mapping[str, str] | None = None,
) -> list[tuple[str, dict[str, float], bool]]:
    """Rows as :func:`decisions` gives them for judged pairs of reports of a whole stream:
    each pair of ids (in either order) scored as the later report against a story of the
    earlier alone, with the IDF of the stream around it (articles taken in the
    order given, each counted as it comes)."""
    engine = entity_engine(entity_names) if entity_names else None
    index = WindowIndex(window, engine)
    partners: dict[str, list[tuple[str, bool]]] = {}
    for (one, other), same in judged.items():
        partners.setdefault(one, []).append((other, same))
        partners.setdefault(other, []).append((one, same))
    seen: dict[str, Features] = {}
    rows: list[tuple[str, dict[str, float], bool]] = []
    for article in articles:
        if article.id in seen:
            continue
        feats = index.features_of(article)
        for earlier, same in partners.get(article.id, []):
            member = seen.get(earlier)
            if member is None:
                continue
            signals = story_signals(feats, [member], index.idf_of(feats, member))
            rows.append((article.id, signals, same))
        seen[article.id] = feats
        index.add(Member(article.id, feats, article.source or article.outlet, None, (0, 0)))
    return rows


def merge_decisions(
    articles: Iterable[Article],
    gold: Mapping[str, str],
    model: StoryModel | None = None,
    window: timedelta = timedelta(hours=48),
    entity_names: Mapping[str, str] | None = None,
) -> list[tuple[str, dict[str, float], bool]]:
    """The merges an online clustering (``model``, merges off) is offered on labelled
    ``articles``, for fitting a merge model: each time an article joins a story and fits
    another at least at ``BRIDGE_FLOOR``, a row (article id, merge signals, whether the first
    articles of the two stories are labelled one story)."""
    engine = entity_engine(entity_names) if entity_names else None
    index = WindowIndex(window, engine, model=model, merge_threshold=None)
    rows: list[tuple[str, dict[str, float], bool]] = []
    for article in articles:
        if article.id in index.placed:
            continue
        feats = index.features_of(article)
        best, options = index.merge_options(feats)
        if best is not None:
            joined = gold[index.stories[best[1]].first]
            for story_id, signals in options:
                same = gold[index.stories[story_id].first] == joined
                rows.append((article.id, signals, same))
        index.place(article, feats=feats)
    return rows
