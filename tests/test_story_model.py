"""The story model: its signals, the shipped weights, and the decisions it is fitted on."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from peacewatch.models import Article
from peacewatch.stories.features import Features, features
from peacewatch.stories.model import SIGNALS, StoryModel, builtin_model
from peacewatch.stories.offline import decisions
from peacewatch.stories.rarity import builtin_background, idf_table
from peacewatch.stories.scoring import headline_similarity, story_score, story_signals
from tests.helpers import samples_dir

T0 = datetime(2026, 1, 6, 19, 0, tzinfo=UTC)


def news(aid: str, title: str, hours: float = 0.0, lang: str = "en", source: str = "") -> Article:
    return Article(
        id=aid,
        title=title,
        link=f"https://{source or aid + '.example'}/{aid}",
        published=T0 + timedelta(hours=hours),
        source=source or f"{aid}.example",
        lang=lang,
    )


UK_FRANCE = news("a", "UK and France agree to send troops to Ukraine after a ceasefire")
SAME = news("b", "Britain and France ready to deploy troops to Ukraine after ceasefire", 1)
OTHER = news("c", "Moscow stock exchange index falls two percent on weak oil", 1)


def idf_of(*feats: Features) -> dict[str, float]:
    return idf_table({t for f in feats for t in f.tokens}, {}, 0, builtin_background())


def test_shipped_model_is_the_fitted_one() -> None:
    model = builtin_model()
    assert set(model.weights) == set(SIGNALS)
    assert model.meta.get("fitted_on") == "bench/data/stories_labelled.yaml"
    # What the fit learnt: shared words pull an article in, time apart pushes it out.
    assert model.weights["lexical"] > 0 and model.weights["closest"] > 0
    assert model.weights["burst"] > 0
    assert 0 < model.threshold < 1


def test_signals_of_a_paraphrase_and_of_another_event() -> None:
    a, b, c = (features(x) for x in (UK_FRANCE, SAME, OTHER))
    idf = idf_of(a, b, c)
    same = story_signals(b, [a], idf)
    other = story_signals(c, [a], idf)
    assert set(same) == set(SIGNALS)
    assert same["lexical"] > other["lexical"] and same["closest"] > other["closest"]
    words = max(same["lexical"], same["closest"], same["headline"])
    assert same["burst"] == pytest.approx(words * math.exp(-1 / 12))
    assert same["same_language"] == 1.0 and same["members"] == pytest.approx(math.log1p(1))
    assert story_score(b, [a], idf) > builtin_model().threshold > story_score(c, [a], idf)


def test_headline_similarity_weighs_the_rare_words_both_headlines_carry() -> None:
    a, b, c = (features(x) for x in (UK_FRANCE, SAME, OTHER))
    idf = idf_of(a, b, c)
    assert headline_similarity(a, a, idf) == pytest.approx(1.0)
    assert headline_similarity(a, b, idf) == pytest.approx(headline_similarity(b, a, idf))
    assert headline_similarity(a, b, idf) > 0.3 > headline_similarity(a, c, idf)
    shared = sum(idf[t] for t in a.title_tokens & b.title_tokens)
    total = sum(idf[t] for t in a.title_tokens) + sum(idf[t] for t in b.title_tokens)
    assert headline_similarity(a, b, idf) == pytest.approx(2 * shared / total)


def test_time_apart_lowers_the_probability() -> None:
    a = features(UK_FRANCE)
    soon, late = features(SAME), features(news("d", SAME.title, 40))
    idf = idf_of(a, soon, late)
    assert story_score(soon, [a], idf) > story_score(late, [a], idf)
    assert story_score(soon, [], idf) == 0.0


def test_model_json_round_trip_and_validation() -> None:
    model = StoryModel({"lexical": 2.0, "same_language": -1.0}, -0.5, 0.4, {"note": "x"})
    again = StoryModel.from_json(model.to_json())
    assert again == model
    z = -0.5 + 2.0 * 0.5 - 1.0 * 0.25
    assert again.probability({"lexical": 0.5, "same_language": 0.25}) == pytest.approx(
        1 / (1 + math.exp(-z))
    )
    assert StoryModel({}, -800.0).probability({}) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="unknown story signals"):
        StoryModel({"colour": 1.0}, 0.0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        StoryModel.from_json(json.dumps({"weights": {}, "intercept": 0, "threshold": 1.5}))
    with pytest.raises(ValueError, match="finite"):
        StoryModel({"lexical": float("nan")}, 0.0)
    with pytest.raises(ValueError, match="finite"):
        StoryModel({}, float("inf"))


def test_decisions_score_each_candidate_and_place_by_the_labels() -> None:
    articles = [UK_FRANCE, SAME, OTHER, news("e", "UK, France sign troops pact for Ukraine", 2)]
    gold = {"a": "troops", "b": "troops", "c": "markets", "e": "troops"}
    rows = decisions(articles, gold)
    by_article: dict[str, list[bool]] = {}
    for aid, signals, same in rows:
        assert set(signals) == set(SIGNALS)
        by_article.setdefault(aid, []).append(same)
    assert "a" not in by_article  # nothing to choose from yet
    assert by_article["b"] == [True]
    assert True in by_article["e"]  # the labelled story is among its candidates
    assert all(not same for aid, _, same in rows if aid == "c")


def test_features_read_back_without_a_language() -> None:
    # Story state written before languages were kept still loads.
    old = json.dumps(["x", 1.0, "t", "s", ["s:troops"], ["n:5"]])
    feats = Features.from_json(old)
    assert feats.lang == "" and feats.tokens == {"s:troops", "n:5"}
    assert Features.from_json(features(SAME).to_json()).lang == "en"


def _bench_clusters() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "bench" / "clusters.py"
    spec = importlib.util.spec_from_file_location("bench_clusters", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not (samples_dir() / "items.jsonl").exists(), reason="the sample archive is not beside"
)
def test_shipped_model_is_what_the_labelled_set_fits() -> None:
    # The weights in the package come from the labelled stories through today's signals: a
    # change to the signals without a new fit (python bench/clusters.py --fit) fails here.
    from peacewatch.app import entity_names

    bench = _bench_clusters()
    articles, gold = bench.load(samples_dir())
    fitted = bench.fit(articles, gold, entity_names())
    shipped = builtin_model()
    assert fitted.threshold == shipped.threshold
    assert fitted.intercept == pytest.approx(shipped.intercept, abs=1e-3)
    for name in SIGNALS:
        assert fitted.weights[name] == pytest.approx(shipped.weights[name], abs=1e-3), name


def test_fallback_weights_are_the_shipped_ones_rounded() -> None:
    # Used when the package data is missing; it must decide as the shipped model does.
    from peacewatch.stories.model import _FALLBACK

    fallback = StoryModel.from_json(json.dumps(_FALLBACK))
    shipped = builtin_model()
    assert fallback.threshold == shipped.threshold
    assert fallback.intercept == pytest.approx(shipped.intercept, abs=0.01)
    assert set(fallback.weights) == set(shipped.weights)
    for name, weight in shipped.weights.items():
        assert fallback.weights[name] == pytest.approx(weight, abs=0.01), name


def entity_features(*articles: Article) -> list[Features]:
    from peacewatch.app import entity_names
    from peacewatch.stories.features import entity_engine

    engine = entity_engine(entity_names())
    return [features(a, engine) for a in articles]


def test_opposite_framing_of_one_development_reports_the_same_kind_of_event() -> None:
    did_not = news("a", "Zelensky did not reject the US peace plan, his office says")
    rejects = news("b", "Zelensky rejects key parts of US peace plan", 1)
    meets = news("c", "Zelensky meets Trump to discuss US peace plan", 1)
    a, b, c = entity_features(did_not, rejects, meets)
    idf = idf_of(a, b, c)
    framed = story_signals(b, [a], idf)
    other = story_signals(c, [a], idf)
    assert framed["event"] == 1.0  # a denial of a rejection is still about a rejection
    assert other["event"] == 0.0  # a meeting is another kind of development
    assert builtin_model().weights["event"] > 0
    assert story_score(b, [a], idf) >= builtin_model().threshold


def test_actors_named_in_another_script_are_shared_entities() -> None:
    russian = news("r", "Путин отверг мирный план", 1, lang="ru")
    english = news("e", "Putin rejects the peace plan for Ukraine")
    unrelated = news("u", "Macron hosts allies in Paris", 1)
    r, e, u = entity_features(russian, english, unrelated)
    idf = idf_of(r, e, u)
    assert story_signals(r, [e], idf)["entities"] == 1.0
    assert story_signals(u, [e], idf)["entities"] == 0.0
    assert story_score(r, [e], idf) >= builtin_model().threshold


def test_one_outlets_templated_series_is_never_one_story() -> None:
    from peacewatch.stories.memory import WindowIndex
    from peacewatch.stories.scoring import is_copy, is_sibling

    def rate(aid: str, code: str, source: str) -> Article:
        return news(aid, f"Kurs {code}/PLN 06 stycznia 2026 r.", 0.01, lang="pl", source=source)

    dkk, huf = rate("d", "DKK", "kursy.example"), rate("h", "HUF", "kursy.example")
    copy = rate("x", "DKK", "other.example")
    d, h, x = entity_features(dkk, huf, copy)
    assert is_copy(h, d) and is_sibling(h, d)  # near-identical, but another issue
    assert not is_sibling(x, d)  # another outlet's copy of the same rate
    reworded = news("w", "Kurs DKK/PLN 06 stycznia 2026 r. Złoty słabnie", lang="pl",
                    source="kursy.example")  # fmt: skip
    assert not is_sibling(entity_features(reworded)[0], d)  # words added: a re-headline
    index = WindowIndex()
    for article in (dkk, huf, copy):
        index.place(article)
    assert index.placed["h"][0] != index.placed["d"][0]
    assert index.placed["x"] == (index.placed["d"][0], "d")


def test_a_stored_member_keeps_its_outlet_for_comparison() -> None:
    from peacewatch.stories.memory import Member

    (feats,) = entity_features(SAME)
    assert feats.outlet == "b.example"
    member = Member("s1", feats, "b.example", None, (1, 0))
    back = Member.from_json("s1", member.to_json())
    assert back.features == feats and back.features.outlet == "b.example"


@pytest.mark.skipif(
    not (samples_dir() / "items.jsonl").exists(), reason="the sample archive is not beside"
)
def test_shipped_merge_model_is_what_the_labelled_set_fits() -> None:
    from peacewatch.app import entity_names
    from peacewatch.stories.merge import MERGE_SIGNALS, builtin_merge_model

    bench = _bench_clusters()
    articles, gold = bench.load(samples_dir())
    fitted = bench.fit_merge(articles, gold, entity_names(), builtin_model())
    shipped = builtin_merge_model()
    assert fitted.intercept == pytest.approx(shipped.intercept, abs=1e-3)
    for name in MERGE_SIGNALS:
        assert fitted.weights[name] == pytest.approx(shipped.weights[name], abs=1e-3), name


def test_merge_model_json_round_trip_and_validation() -> None:
    from peacewatch.stories.merge import MergeModel

    model = MergeModel({"bridge": 1.5, "gap": 2.0}, -1.0)
    back = MergeModel.from_json(model.to_json())
    assert back.weights == model.weights and back.intercept == model.intercept
    assert back.probability({"bridge": 1.0, "gap": 0.0}) == pytest.approx(1 / (1 + math.exp(-0.5)))
    with pytest.raises(ValueError, match="unknown merge signals"):
        MergeModel({"lexical": 1.0}, 0.0)
    with pytest.raises(ValueError, match="finite"):
        MergeModel({"gap": float("nan")}, 0.0)
