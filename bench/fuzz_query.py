"""Fuzz the rule query parser for a bounded time and report its speed beside str.split().

    python bench/fuzz_query.py --seconds 20 --seed 1

Random and mutated queries (from a corpus of realistic ones) go to ``parse``. Every input must
either parse, and then read back from ``to_text`` to the same tree, or raise QuerySyntaxError.
Anything else (another exception, a round trip that changes the tree) is printed and makes the
script exit 1. The figures printed: queries per second, parsed vs rejected, the slowest parse
and the length of that input, and the cost of ``str.split()`` over the same inputs as a floor.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import random
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peacewatch.errors import QuerySyntaxError
from peacewatch.rules.query import MAX_QUERY_LENGTH, parse
from peacewatch.rules.querytree import Near, Node, Not, Term, to_text

SEEDS = [
    'Witkoff AND (Donbas OR "security guarantees") -opinion',
    "Witkoff Kushner Dmitriev NEAR/5 talks",
    'title:(ceasefire OR truce OR перемир\'я) lang:uk -"live blog"',
    "actor:zelensky AND place:donbas -source:rt.com",
    '“peace plan” NEAR/10 "28-point" OR 28-point',
    "(Putin OR Путин OR Путін) NEAR talks",
    '(Donbas OR Crimea) NEAR/10 (talks OR plan* OR "peace plan") -opinion',
    "negotiat* (Istanbul OR Geneva OR Riyadh) NOT sport*",
    "Zelensky's AND U.S. AND (minerals OR «мирный план»)",
    'topic:security-guarantees OR (NATO NEAR/3 "Article 5")',
    "Umerov AND 10:30 AND -(weather OR football)",
    "title:Lavrov source:tass.ru lang:ru",
    "„Waffenstillstand“ OR Waffenruhe* OR ceasefire",
    "a AND (b OR (c AND (d OR (e AND -f))))",
]

TOKENS = [
    "AND", "OR", "NOT", "NEAR", "NEAR/3", "NEAR/0", "NEAR/101", "(", ")", '"', "“", "”", "„",
    "«", "»", "-", "*", ":", "'", "’", "title:", "source:", "lang:", "actor:", "place:", "topic:",
    "Witkoff", "Donbas", "мир", "28-point", "U.S.", "10:30", "x", "ＡＮＤ", "⑴", "ﬁ", "\u0301",
    "\x00", "\t", "\n", " ", "  ", ",", "/", "\u200d", "\ud800",
]  # fmt: skip

_ALPHABETS = [(0x20, 0x7E), (0xA0, 0x17F), (0x300, 0x36F), (0x400, 0x4FF), (0x2000, 0x206F),
              (0x2460, 0x24FF), (0xFB00, 0xFB4F), (0xFF00, 0xFFEF), (0x1D400, 0x1D7FF)]  # fmt: skip


def _random_char(rng: random.Random) -> str:
    lo, hi = rng.choice(_ALPHABETS)
    return chr(rng.randint(lo, hi))


def _soup(rng: random.Random) -> str:
    return "".join(
        rng.choice(TOKENS) + rng.choice(["", " ", " "]) for _ in range(rng.randint(0, 30))
    )


def _mutate(rng: random.Random, text: str, corpus: list[str]) -> str:
    n = len(text)
    i, j = sorted((rng.randint(0, n), rng.randint(0, n)))
    op = rng.randrange(10)
    if op == 0:
        return text[:i] + text[j:]
    if op == 1:
        return text[:i] + rng.choice(TOKENS) + text[i:]
    if op == 2:
        return text[:i] + text[i:j] * rng.randint(2, 6) + text[j:]
    if op == 3:
        return text[:i] + _random_char(rng) + text[i + 1 :]
    if op == 4:
        k = rng.randint(1, 60)
        return "(" * k + text + ")" * rng.choice((k, k - 1, k + 1))
    if op == 5:
        return rng.choice(["-", "NOT ", "-(", "title:", "title:("]) + text
    if op == 6:
        other = rng.choice(corpus)
        return text[:i] + other[rng.randint(0, len(other)) :]
    if op == 7:
        return (text + " ") * max(1, MAX_QUERY_LENGTH // max(1, n + 1)) if n else "a " * 1000
    if op == 8:
        return text[:i] + text[j:] + text[i:j]
    return text + " " + rng.choice(["NEAR/5", "AND", "OR", ")", '"']) + " " + rng.choice(corpus)


def _bare(node: Node) -> Node:
    if isinstance(node, Term):
        return dataclasses.replace(node, column=0)
    if isinstance(node, Near):
        return Near(_bare(node.left), _bare(node.right), node.distance)
    if isinstance(node, Not):
        return Not(_bare(node.item))
    return type(node)(tuple(_bare(item) for item in node.items))


def _time_once(query: str) -> int:
    start = time.perf_counter_ns()
    with contextlib.suppress(QuerySyntaxError):
        parse(query)
    return time.perf_counter_ns() - start


def _generate(rng: random.Random, corpus: list[str]) -> str:
    roll = rng.random()
    if roll < 0.15:
        return _soup(rng)
    if roll < 0.2:
        return "".join(_random_char(rng) for _ in range(rng.randint(0, 80)))
    text = rng.choice(corpus)
    for _ in range(rng.randint(1, 4)):
        text = _mutate(rng, text, corpus)
    return text[: MAX_QUERY_LENGTH + rng.choice((0, 0, 0, 50))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to run")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    corpus = list(SEEDS)
    parsed = rejected = too_long = 0
    failures: list[str] = []
    parse_ns = split_ns = 0
    worst_ns, worst_query, total_chars = 0, "", 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline and len(failures) < 20:
        batch = [_generate(rng, corpus) for _ in range(500)]
        for query in batch:
            total_chars += len(query)
            node = None
            start = time.perf_counter_ns()
            try:
                node = parse(query)
            except QuerySyntaxError:
                pass
            except Exception:
                failures.append(f"{query!r}\n{traceback.format_exc()}")
            elapsed = time.perf_counter_ns() - start
            parse_ns += elapsed
            if elapsed > worst_ns:
                worst_ns, worst_query = elapsed, query
            if node is None:
                rejected += 1
                continue
            parsed += 1
            canonical = to_text(node)
            if len(canonical) > MAX_QUERY_LENGTH:
                too_long += 1  # documented: the canonical text may outgrow the limit
                continue
            try:
                if _bare(parse(canonical)) != _bare(node):
                    failures.append(f"round trip changed {query!r}: {canonical!r}")
            except Exception:
                failures.append(f"round trip of {query!r}\n{traceback.format_exc()}")
            if len(corpus) < 5000 and rng.random() < 0.05:
                corpus.append(query)
        start = time.perf_counter_ns()
        for query in batch:
            query.split()
        split_ns += time.perf_counter_ns() - start

    count = parsed + rejected
    print(f"seed {seed}: {count:,} queries in {parse_ns / 1e9:.2f} s of parsing")
    for name, ns in (("parse", parse_ns), ("str.split() baseline", split_ns)):
        print(
            f"  {name:<21} {count / (ns / 1e9):>10,.0f} queries/s {ns / count / 1e3:9.2f} µs/query"
        )
    print(
        f"  parse / split: {parse_ns / split_ns:.0f}x; mean input {total_chars / count:.0f} chars"
    )
    print(f"  parsed {parsed:,}, rejected with QuerySyntaxError {rejected:,}")
    print(f"  round trip skipped for {too_long:,} whose canonical text is over the length limit")
    print(f"  slowest parse {worst_ns / 1e6:.2f} ms, on an input of {len(worst_query)} chars:")
    print(f"    {worst_query[:100]!r}{'...' if len(worst_query) > 100 else ''}")
    again = min(_time_once(worst_query) for _ in range(5))
    print(f"    the same input timed again: {again / 1e6:.2f} ms (best of 5)")
    if failures:
        print(f"FAILED: {len(failures)} inputs escaped QuerySyntaxError or broke the round trip")
        for failure in failures[:5]:
            print(failure)
        return 1
    print("OK: every input parsed or raised QuerySyntaxError")
    return 0


if __name__ == "__main__":
    sys.exit(main())
