"""`peacewatch match` end to end: a rules file of many rules over a file of many articles.

    python bench/match_cli.py [--rules 10000] [--articles 2000] [--seed 1] [--samples PATH]
                              [--regex-rules 200] [--regex-seconds 10] [--keep DIR]

Writes ``--rules`` rules (drawn as in bench/rules.py) to a rules YAML file and ``--articles``
real articles (about 5 KB each, as in bench/rules.py) to a JSON-lines file, then times, in one
run, with a fresh cache directory (``PEACEWATCH_CACHE_DIR``):

- the start: ``peacewatch match`` of the rules over no articles, with an empty cache (cold:
  the rules are compiled and stored) and again (warm: the compiled rules are read), and
  ``peacewatch rules check`` of the file, warm;
- ``peacewatch match`` as a user runs it (a subprocess; every match printed with its hits and
  its summary) over every article, warm;
- the baseline, a per-rule regex loop (``RegexRules`` of bench/rules.py: one regex per term,
  each rule's boolean tree evaluated for every article) over the same normalised text. It is
  far too slow for all the rules over all the articles, so it runs ``--regex-rules`` of the
  rules (every k-th) over the articles that fit in ``--regex-seconds`` and its time is scaled
  linearly to every rule and every article (a per-rule loop costs the same per rule and per
  article whatever the others). Its time leaves out summaries, which only makes it faster.

Then, in this process and with the same warm cache, it times the steps of ``match`` one after
the other over the same files (CPU seconds): reading the compiled rules (as ``match`` reads them,
then kept out of the cyclic collector), parsing the input,
matching (with every match's hits and terms), summaries, and writing the JSON lines (as
``json.dumps`` of each record, and as ``match`` writes them); the start of the command
(interpreter, imports, reading the rules) is the warm start above.

Prints the times, then one ``FIGURE`` line per figure (the warm start in wall seconds and in CPU
seconds). A missing sample directory skips the
run (exit 0).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.rules import DEFAULT_SAMPLES, RegexRules, load_articles, valid_queries
from bench.vocab import build_vocabulary
from peacewatch.models import Article
from peacewatch.rules.engine import TeamRuleSet
from peacewatch.rules.entities import builtin_dictionary
from peacewatch.rules.rulefile import RuleSpec

ROOT = Path(__file__).resolve().parents[1]
SPEED_TARGET = 500.0
WARM_START_TARGET = 2.0


def figure(name: str, value: float, baseline: float, target: str, met: bool) -> str:
    """The machine-readable line of one figure (collected by ``make bench``)."""
    return (
        f"FIGURE name={name} value={value:.4g} baseline={baseline:.4g} target={target} "
        f"met={'yes' if met else 'no'}"
    )


def write_inputs(
    directory: Path, articles: Sequence[Article], queries: Sequence[str]
) -> tuple[Path, Path]:
    rules = directory / "rules.yaml"
    data = {"rules": [{"id": f"r{i}", "query": text} for i, text in enumerate(queries)]}
    rules.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    lines = directory / "articles.jsonl"
    with lines.open("w", encoding="utf-8") as out:
        for a in articles:
            record = {
                "id": a.id,
                "title": a.title,
                "summary": a.body,
                "link": a.link,
                "published": a.published.isoformat(),
                "source": a.source,
                "outlet": a.outlet,
                "lang": a.lang or "",
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return rules, lines


def run_cli(args: Sequence[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the child) and stdout of one command."""
    before = os.times()
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "peacewatch", *args],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=3600, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    if done.returncode not in (0, 2):
        raise SystemExit(f"peacewatch {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return wall, cpu, done.stdout


def regex_seconds(
    queries: Sequence[str], articles: Sequence[Article], rules: int, seconds: float
) -> tuple[float, int, int]:
    """CPU seconds the per-rule regex loop would take for every rule over every article, scaled
    from ``rules`` of them (every k-th) over the articles that fit in ``seconds``; with the
    number of rules and articles actually run."""
    step = max(1, -(-len(queries) // max(1, rules)))
    sample = [RuleSpec(id=f"r{i}", query=queries[i]) for i in range(0, len(queries), step)]
    loop = RegexRules.compile([TeamRuleSet("file", sample)])
    done = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for article in articles:
        loop.match(article)
        done += 1
        if time.perf_counter() - t0 >= seconds:
            break
    elapsed = time.process_time() - c0
    per_rule_article = elapsed / (done * len(sample))
    return per_rule_article * len(queries) * len(articles), len(sample), done


def step_seconds(rules: Path, lines: Path, cache: Path) -> dict[str, float]:
    """CPU seconds of each step of ``match`` run in this process, one step over every article
    before the next."""
    from peacewatch.cli.articles_io import read_articles
    from peacewatch.cli.match_lines import MatchLines
    from peacewatch.cli.rules import load_frozen
    from peacewatch.pipeline.summarise import ArticleSummariser

    os.environ["PEACEWATCH_CACHE_DIR"] = str(cache)
    times: dict[str, float] = {}
    t = time.process_time()
    engine, _ = load_frozen(rules)  # as match reads them: kept out of the cyclic collector
    times["read rules"], t = time.process_time() - t, time.process_time()
    with lines.open(encoding="utf-8") as stream:
        articles = [a for a in read_articles(stream) if isinstance(a, Article)]
    times["parse input"], t = time.process_time() - t, time.process_time()
    matches = [(a, list(engine.match(a))) for a in articles]
    for _, found in matches:
        for m in found:  # a match works out its terms and hits when first read
            m.matched, m.hits, m.entities
    times["match"], t = time.process_time() - t, time.process_time()
    summaries = []
    for article, found in matches:
        if found:
            summariser = ArticleSummariser(article)
            summaries.append([summariser.summary(m.hits) for m in found])
    times["summaries"], t = time.process_time() - t, time.process_time()
    for (article, found), texts in zip([m for m in matches if m[1]], summaries, strict=True):
        for m, text in zip(found, texts, strict=True):
            hits = [
                {"term": h.term, "field": h.field, "start": h.start, "end": h.end, "text": h.text}
                for h in m.hits
            ]
            record = {"article_id": article.id, "rule_id": m.rule_id, "matched": list(m.matched),
                      "hits": hits, "entities": list(m.entities), "summary": text}  # fmt: skip
            json.dumps(record, ensure_ascii=False)
    times["output"], t = time.process_time() - t, time.process_time()
    # the same lines as match writes them (the JSON of each hit made once for an article)
    for (article, found), texts in zip([m for m in matches if m[1]], summaries, strict=True):
        writer = MatchLines(article.id)
        for m, text in zip(found, texts, strict=True):
            writer.line(m, text)
    times["output as match writes it"] = time.process_time() - t
    gc.unfreeze()  # the baseline runs after this in the same process, as it would alone
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument(
        "--article-chars",
        type=int,
        default=2_000,
        help="about this many characters an article (the samples hold 2,100 of 2,000)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--regex-rules", type=int, default=200)
    parser.add_argument("--regex-seconds", type=float, default=10.0)
    parser.add_argument("--keep", type=Path, help="write the inputs and cache here and keep them")
    args = parser.parse_args(argv)
    if not (args.samples / "items.jsonl").is_file():
        print(f"match benchmark skipped: no sample data at {args.samples}")
        return 0
    articles = load_articles(args.samples, args.articles, args.seed, args.article_chars)
    vocabulary = build_vocabulary((f"{a.title}\n{a.body}" for a in articles), builtin_dictionary())
    queries = [text for text, _ in valid_queries(vocabulary, args.rules, args.seed)]
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        rules, lines = write_inputs(directory, articles, queries)
        env = {**os.environ, "PEACEWATCH_CACHE_DIR": str(directory / "cache")}
        for old in (directory / "cache").glob("*"):
            old.unlink()
        print(
            f"{len(queries):,} rules ({rules.stat().st_size / 2**20:.1f} MiB of YAML), "
            f"{len(articles):,} articles ({lines.stat().st_size / 2**20:.1f} MiB)",
            flush=True,
        )
        empty = directory / "none.jsonl"
        empty.write_text("")
        no_articles = ["match", "--rules", str(rules), "--articles", str(empty)]
        cold, cold_cpu, _ = run_cli(no_articles, env)
        print(f"start, cold cache (rules compiled): {cold:.2f} s wall, {cold_cpu:.2f} s CPU")
        start, start_cpu, _ = run_cli(no_articles, env)
        print(f"start, warm cache (compiled rules read): {start:.2f} s wall, {start_cpu:.2f} s CPU")
        check, check_cpu, _ = run_cli(["rules", "check", str(rules)], env)
        print(f"rules check, warm cache: {check:.2f} s wall, {check_cpu:.2f} s CPU", flush=True)
        warm, warm_cpu, out = run_cli(
            ["match", "--rules", str(rules), "--articles", str(lines)], env
        )
        matches = out.count("\n")
        with_summary = sum(1 for line in out.splitlines() if json.loads(line)["summary"])
        print(f"match, warm cache: {warm:.1f} s wall, {warm_cpu:.1f} s CPU; {matches:,} matches"
              f" ({matches / max(1, len(articles)):.1f} per article, {with_summary:,} with a"
              " summary)", flush=True)  # fmt: skip
        steps = step_seconds(rules, lines, directory / "cache")
        print(
            f"steps of match in-process, CPU seconds: start (warm, as above) {start_cpu:.2f}, "
            + ", ".join(f"{name} {seconds:.2f}" for name, seconds in steps.items())
            + f"; per article: match {steps['match'] / max(1, len(articles)) * 1e3:.2f} ms, "
            f"summaries {steps['summaries'] / max(1, len(articles)) * 1e3:.2f} ms",
            flush=True,
        )
    baseline, sampled, done = regex_seconds(queries, articles, args.regex_rules, args.regex_seconds)
    print(
        f"baseline (per-rule regex loop, no summaries): {baseline:,.0f} s for every rule over "
        f"every article, scaled from {sampled:,} rules over {done} articles"
    )
    speedup = baseline / warm_cpu
    print(
        f"match (warm) against the baseline, CPU seconds: {speedup:,.0f}x "
        f"(wall seconds of match: {baseline / warm:,.0f}x)"
    )
    print()
    rate, base_rate = len(articles) / warm_cpu, len(articles) / baseline
    name = f"match_{args.rules}_rules_{len(articles)}_articles_per_cpu_s"
    target = f">={SPEED_TARGET:g}x"
    print(figure(name, rate, base_rate, target, rate >= SPEED_TARGET * base_rate))
    print(
        figure(
            f"match_warm_start_{args.rules}_rules_s",
            start,
            cold,
            f"<{WARM_START_TARGET:g}s",
            start < WARM_START_TARGET,
        )
    )
    # the same start in CPU seconds (user and system of the child): on a shared machine the
    # wall time holds the waits for a core as well
    print(
        figure(
            f"match_warm_start_{args.rules}_rules_cpu_s",
            start_cpu,
            cold_cpu,
            f"<{WARM_START_TARGET:g}s",
            start_cpu < WARM_START_TARGET,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
