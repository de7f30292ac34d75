"""Recall, near-miss precision and compile cost of Cyrillic name inflection, beside two baselines.

Usage (from the repository root):
    python bench/morph_precision.py [--cases bench/data/morph_cases.yaml]
                                    [--entities peacewatch/rules/data/entities.yaml]

Methods, each judged on the same hand-made cases (a text matches a name when its case-folded,
apostrophe-normalised form is one of the name's patterns):
  surface_forms  every inflected form generated with pymorphy3 (peacewatch.rules.morph)
  exact          the name itself only, as a literal matcher without morphology would do
  prefix         any text that starts with the name (a naive stemmer)
Compile cost is measured over every Cyrillic name of the built-in entity dictionary, if the
file is there and readable.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from peacewatch.rules import morph  # noqa: E402

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})


def _norm(text: str) -> str:
    return " ".join(text.translate(_APOSTROPHES).casefold().split())


Matcher = Callable[[str, str], bool]

METHODS: dict[str, Matcher] = {
    "surface_forms": lambda name, text: _norm(text) in morph.surface_forms(name),
    "exact": lambda name, text: _norm(text) == _norm(name),
    "prefix": lambda name, text: _norm(text).startswith(_norm(name)),
}


@dataclass(frozen=True, slots=True)
class Score:
    """Outcome of one method on the case file."""

    hits: int
    positives: int
    false_positives: int
    near_misses: int

    @property
    def recall(self) -> float:
        return self.hits / self.positives if self.positives else 0.0

    @property
    def precision(self) -> float:
        found = self.hits + self.false_positives
        return self.hits / found if found else 0.0


def score(
    match: Matcher, positive: Sequence[dict[str, Any]], near: Sequence[dict[str, Any]]
) -> Score:
    hits = sum(1 for c in positive if match(c["name"], c["text"]))
    false_positives = sum(1 for c in near if match(c["name"], c["text"]))
    return Score(hits, len(positive), false_positives, len(near))


def cyrillic_entity_names(path: Path) -> list[str] | None:
    """Every Cyrillic name of the entity dictionary, or None if it is missing or unreadable."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries = data["entities"] if isinstance(data, dict) else data
        names = [str(n) for e in entries for n in e.get("names", [])]
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        print(f"entity dictionary {path}: skipped ({type(exc).__name__}: {exc})")
        return None
    return [n for n in names if morph.detect_cyrillic_lang(n) is not None]


def cold_start() -> float:
    """Seconds of the first two calls in the process, which build both analyzers."""
    start = time.perf_counter()
    morph.surface_forms("Путин")
    morph.surface_forms("Путін")
    return time.perf_counter() - start


def compile_cost(names: Sequence[str], cold: float) -> None:
    morph.surface_forms.cache_clear()
    per_name: list[float] = []
    counts: list[int] = []
    for name in names:
        t0 = time.perf_counter()
        forms = morph.surface_forms(name)
        per_name.append((time.perf_counter() - t0) * 1000)
        counts.append(len(forms))
    total = sum(per_name)
    print(f"compile cost over {len(names)} Cyrillic entity names (analyzers loaded first)")
    print(f"  first two calls (uk + ru analyzers load) {cold * 1000:.1f} ms, once per process")
    print(f"  all names                  {total:8.1f} ms")
    print(
        f"  ms per name                median {statistics.median(per_name):.2f}, "
        f"mean {statistics.fmean(per_name):.2f}, max {max(per_name):.1f}"
    )
    print(
        f"  forms per name             median {statistics.median(counts):.0f}, "
        f"max {max(counts)} ({names[counts.index(max(counts))]}), total {sum(counts)}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=ROOT / "bench/data/morph_cases.yaml")
    parser.add_argument(
        "--entities", type=Path, default=ROOT / "peacewatch/rules/data/entities.yaml"
    )
    args = parser.parse_args(argv)
    cold = cold_start()

    cases = yaml.safe_load(args.cases.read_text(encoding="utf-8"))
    positive, near = cases["positive"], cases["near_miss"]
    known = sum(1 for c in positive if c.get("known_miss"))
    print(
        f"cases: {len(positive)} inflected forms ({known} marked known_miss, counted here), "
        f"{len(near)} near misses"
    )
    print(f"{'method':<15}{'recall':>16}{'false pos.':>14}{'precision':>11}")
    for label, match in METHODS.items():
        s = score(match, positive, near)
        print(
            f"{label:<15}{s.hits:>5}/{s.positives:<4} {s.recall:6.1%}"
            f"{s.false_positives:>7}/{s.near_misses:<4}{s.precision:>10.1%}"
        )
    missed = [c for c in positive if not METHODS["surface_forms"](c["name"], c["text"])]
    for c in missed:
        print(f"  surface_forms misses {c['name']} -> {c['text']}")
    print()

    names = cyrillic_entity_names(args.entities)
    if names:
        compile_cost(names, cold)
    elif names is not None:
        print("entity dictionary has no Cyrillic names")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
