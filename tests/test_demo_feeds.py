"""The demo feeds and rules shipped in the package: valid, real, consistent and reproducible."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest
import yaml

from tests.helpers import samples_dir

REPO = Path(__file__).resolve().parents[1]
DEMO = Path(str(resources.files("peacewatch.demo")))
FEEDS = DEMO / "feeds"
RULES = DEMO / "rules.yaml"
BUILD_SCRIPT = REPO / "scripts" / "build_demo_feeds.py"
SAMPLES = samples_dir()
ATOM = "{http://www.w3.org/2005/Atom}"


def _manifest() -> list[dict[str, Any]]:
    data = yaml.safe_load((FEEDS / "manifest.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("feeds"), list)
    feeds: list[dict[str, Any]] = data["feeds"]
    return feeds


def _feed_files() -> list[tuple[str, str, Path]]:
    """(feed id, format, path) for both phases of every feed in the manifest."""
    return [
        (feed["id"], feed["format"], FEEDS / feed[phase])
        for feed in _manifest()
        for phase in ("phase1", "phase2")
    ]


def _need_samples() -> Path:
    if not (SAMPLES / "items.jsonl").is_file():
        pytest.skip(f"the sample archive is not present at {SAMPLES} (set PEACEWATCH_SAMPLES)")
    return SAMPLES


@dataclass(frozen=True, slots=True)
class DemoItem:
    """One item as written in a demo feed file, read with a plain XML parser."""

    feed: str
    guid: str
    title: str
    summary: str
    link: str
    published: datetime


def _read_items(feed_id: str, fmt: str, path: Path) -> list[DemoItem]:
    root = ET.parse(path).getroot()
    items: list[DemoItem] = []
    if fmt == "rss":
        for node in root.iter("item"):
            items.append(
                DemoItem(
                    feed=feed_id,
                    guid=node.findtext("guid", ""),
                    title=node.findtext("title", ""),
                    summary=node.findtext("description", ""),
                    link=node.findtext("link", ""),
                    published=parsedate_to_datetime(node.findtext("pubDate", "")),
                )
            )
    else:
        for node in root.iter(f"{ATOM}entry"):
            link = node.find(f"{ATOM}link")
            items.append(
                DemoItem(
                    feed=feed_id,
                    guid=node.findtext(f"{ATOM}id", ""),
                    title=node.findtext(f"{ATOM}title", ""),
                    summary=node.findtext(f"{ATOM}summary", ""),
                    link="" if link is None else link.get("href", ""),
                    published=datetime.fromisoformat(node.findtext(f"{ATOM}published", "")),
                )
            )
    return items


def _all_demo_items() -> list[DemoItem]:
    """Every distinct item of the demo (phase 2 files hold phase 1 too)."""
    seen: dict[tuple[str, str], DemoItem] = {}
    for feed_id, fmt, path in _feed_files():
        for item in _read_items(feed_id, fmt, path):
            seen.setdefault((feed_id, item.guid), item)
    return list(seen.values())


# --- feeds -------------------------------------------------------------------------------


def test_manifest_names_existing_files_and_both_formats() -> None:
    feeds = _manifest()
    ids = [feed["id"] for feed in feeds]
    assert len(ids) == len(set(ids))
    for feed in feeds:
        assert set(feed) >= {"id", "outlet", "format", "phase1", "phase2"}
        assert re.fullmatch(r"[a-z0-9_-]+", feed["id"])
        assert feed["format"] in {"rss", "atom"}
        assert (FEEDS / feed["phase1"]).is_file()
        assert (FEEDS / feed["phase2"]).is_file()
        assert feed["phase1"] != feed["phase2"]
    assert len({feed["outlet"] for feed in feeds}) >= 3
    assert {feed["format"] for feed in feeds} == {"rss", "atom"}


@pytest.mark.parametrize(("feed_id", "fmt", "path"), _feed_files(), ids=lambda v: str(v))
def test_every_feed_file_parses_cleanly(feed_id: str, fmt: str, path: Path) -> None:
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == ("rss20" if fmt == "rss" else "atom10")
    assert parsed.entries
    for entry in parsed.entries:
        assert entry.get("title") and entry.get("link") and entry.get("id")
        assert entry.get("summary")
        assert entry.get("published_parsed") is not None


def test_phase1_has_enough_items_and_outlets() -> None:
    total = 0
    outlets = set()
    for feed in _manifest():
        parsed = feedparser.parse((FEEDS / feed["phase1"]).read_bytes())
        total += len(parsed.entries)
        outlets.add(feed["outlet"])
    assert total >= 40
    assert len(outlets) >= 3


@pytest.mark.parametrize("feed", _manifest(), ids=lambda f: f["id"])
def test_phase2_is_phase1_plus_newer_items(feed: dict[str, Any]) -> None:
    first = {i.guid: i for i in _read_items(feed["id"], feed["format"], FEEDS / feed["phase1"])}
    second = {i.guid: i for i in _read_items(feed["id"], feed["format"], FEEDS / feed["phase2"])}
    assert set(first) <= set(second)
    for guid, item in first.items():
        assert second[guid] == item
    added = [second[g] for g in set(second) - set(first)]
    assert 1 <= len(added) <= 3
    newest_first = max(i.published for i in first.values())
    assert all(i.published > newest_first for i in added)


def test_feed_text_is_escaped_html_as_real_feeds_carry_it() -> None:
    guardian = _read_items("guardian", "rss", FEEDS / "guardian.xml")
    assert any(item.summary.startswith("<p>") for item in guardian)
    raw = (FEEDS / "guardian.xml").read_text(encoding="utf-8")
    assert "<description>&lt;p&gt;" in raw


def test_items_are_verbatim_copies_of_the_archive() -> None:
    samples = _need_samples()
    known: dict[tuple[str, str, str], datetime] = {}
    for name in ("items.jsonl", "items_hard_negatives.jsonl"):
        for line in (samples / name).read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if rec.get("title") and rec.get("summary") and rec.get("link"):
                published = datetime.fromisoformat(rec["published"])
                known[(rec["title"], rec["summary"], rec["link"])] = published
    for path in sorted((samples / "feeds-2026-01").glob("*/*/*/*.json")):
        for rec in json.loads(path.read_text(encoding="utf-8")):
            if rec.get("title") and rec.get("description") and rec.get("link"):
                published = datetime.fromisoformat(rec["date_published"])
                known[(rec["title"], rec["description"], rec["link"])] = published
    items = _all_demo_items()
    assert items
    for item in items:
        key = (item.title, item.summary, item.link)
        assert key in known, f"{item.feed}: {item.title!r} is not an archive item"
        assert item.published == known[key].astimezone(UTC)


def test_build_script_reproduces_the_shipped_files(tmp_path: Path) -> None:
    samples = _need_samples()
    out = tmp_path / "feeds"
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--samples", str(samples), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    shipped = sorted(p.name for p in FEEDS.iterdir() if p.is_file())
    built = sorted(p.name for p in out.iterdir())
    assert built == shipped
    for name in shipped:
        assert (out / name).read_bytes() == (FEEDS / name).read_bytes(), name
    assert sum((FEEDS / n).stat().st_size for n in shipped) < 400_000


# --- rules -------------------------------------------------------------------------------


def _rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("rules"), list)
    rules: list[dict[str, Any]] = data["rules"]
    return rules


def test_rules_file_has_the_documented_fields() -> None:
    rules = _rules()
    assert 5 <= len(rules) <= 10
    assert len({r["id"] for r in rules}) == len(rules)
    for rule in rules:
        assert set(rule) == {"id", "query", "channels", "min_sources", "digest"}
        assert isinstance(rule["id"], str) and re.fullmatch(r"[a-z0-9-]+", rule["id"])
        assert isinstance(rule["query"], str) and rule["query"].strip()
        assert rule["channels"] and all(isinstance(c, str) for c in rule["channels"])
        assert isinstance(rule["min_sources"], int) and rule["min_sources"] >= 1
        assert rule["digest"] in {"none", "hourly", "daily"}


# A rough stand-in for the rule engine: casefolded whole words, phrases as word sequences,
# prefix*, AND/OR/NOT/-, parentheses, NEAR/n, title: and source:, and the spellings of
# Zelensky. It is only precise enough to show which demo items each demo rule is about.
_ALIASES = {"zelensky": ("zelensky", "zelenskyy", "zelenskiy")}
_TOKEN = re.compile(r'\s*(?:(\()|(\))|((?:\w+:)?"[^"]*")|(NEAR/\d+)|(-)(?=\S)|([^\s()"]+))')


@dataclass(frozen=True, slots=True)
class _Doc:
    title: list[str]
    words: list[str]
    host: str


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def _doc(title: str, summary: str, link: str) -> _Doc:
    title_words = _words(_plain(title))
    return _Doc(title_words, title_words + _words(_plain(summary)), urlsplit(link).hostname or "")


Positions = Callable[[_Doc], list[int]]


def _term(raw: str) -> Callable[[_Doc], list[int]]:
    field, _, value = raw.rpartition(":") if re.match(r"^\w+:", raw) else ("", "", raw)
    if field == "source":
        domain = value.casefold()
        return lambda d: [0] if d.host == domain or d.host.endswith("." + domain) else []
    phrase = value.startswith('"')
    prefix = value.endswith("*") and not phrase
    pattern = _words(value.strip('"').rstrip("*"))
    variants = [pattern]
    if not phrase and len(pattern) == 1 and pattern[0] in _ALIASES:
        variants = [[a] for a in _ALIASES[pattern[0]]]

    def positions(d: _Doc) -> list[int]:
        words = d.title if field == "title" else d.words
        found = []
        for pat in variants:
            for i in range(len(words) - len(pat) + 1):
                head, last = words[i : i + len(pat) - 1], words[i + len(pat) - 1]
                ok = last.startswith(pat[-1]) if prefix else last == pat[-1]
                if ok and head == pat[:-1]:
                    found.append(i)
        return found

    return positions


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = [next(t for t in m.groups() if t) for m in _TOKEN.finditer(query)]
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Callable[[_Doc], bool]:
        node = self.or_()
        assert self.peek() is None, f"unparsed: {self.tokens[self.pos :]}"
        return node

    def or_(self) -> Callable[[_Doc], bool]:
        nodes = [self.and_()]
        while self.peek() == "OR":
            self.take()
            nodes.append(self.and_())
        return lambda d: any(n(d) for n in nodes)

    def and_(self) -> Callable[[_Doc], bool]:
        nodes = [self.unary()]
        while self.peek() not in (None, "OR", ")"):
            if self.peek() == "AND":
                self.take()
            nodes.append(self.unary())
        return lambda d: all(n(d) for n in nodes)

    def unary(self) -> Callable[[_Doc], bool]:
        if self.peek() in ("NOT", "-"):
            self.take()
            inner = self.unary()
            return lambda d: not inner(d)
        if self.peek() == "(":
            self.take()
            node = self.or_()
            assert self.take() == ")"
            return node
        left = _term(self.take())
        while (token := self.peek()) is not None and token.startswith("NEAR/"):
            self.take()
            left = self._near(left, _term(self.take()), int(token.split("/")[1]))
        return lambda d: bool(left(d))

    @staticmethod
    def _near(a: Positions, b: Positions, n: int) -> Positions:
        return lambda d: [i for i in a(d) if any(abs(i - j) <= n for j in b(d))]


def _matcher(query: str) -> Callable[[_Doc], bool]:
    return _Parser(query).parse()


def test_rough_matcher_follows_the_query_language() -> None:
    near = _matcher("Zelensky NEAR/8 Putin")
    assert near(_doc("Trump Says Zelensky and Putin 'Serious'", "", ""))
    assert near(_doc("Zelenskyy meets Putin", "", ""))
    assert not near(_doc("Zelensky " + "word " * 12 + "Putin", "", ""))
    assert not _matcher("Putin")(_doc("The ‘Putinization’ of US foreign policy", "", ""))
    assert _matcher("title:Dmitriev")(_doc("Envoy Kirill Dmitriev speaks", "", ""))
    assert not _matcher("title:Dmitriev")(_doc("Mayor mocked", "Kirill Dmitriev said", ""))
    assert _matcher('"28-point" -opinion')(_doc("A 28-point plan", "", ""))
    assert not _matcher('"28-point" -opinion')(_doc("A 28-point plan", "opinion", ""))
    src = _matcher("source:themoscowtimes.com AND Kremlin")
    assert src(_doc("Kremlin", "", "https://www.themoscowtimes.com/2026/a"))
    assert not src(_doc("Kremlin", "", "https://www.bbc.com/news/a"))
    assert _matcher("Ukrain* AND ceasefire")(_doc("Ukrainian ceasefire", "", ""))


def _demo_docs() -> Iterator[tuple[DemoItem, _Doc]]:
    for item in _all_demo_items():
        yield item, _doc(item.title, item.summary, item.link)


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r["id"])
def test_each_demo_rule_catches_demo_items(rule: dict[str, Any]) -> None:
    match = _matcher(rule["query"])
    hits = [item for item, doc in _demo_docs() if match(doc)]
    assert hits, f"{rule['id']} matches no demo item"


def test_no_demo_rule_catches_a_hard_negative() -> None:
    samples = _need_samples()
    text = (samples / "items_hard_negatives.jsonl").read_text(encoding="utf-8")
    negatives = [json.loads(line) for line in text.splitlines()]
    links = {n["link"] for n in negatives if n.get("link")}
    in_demo = [item for item in _all_demo_items() if item.link in links]
    assert len(in_demo) >= 3, "the demo should carry a few near misses"
    matchers = [(r["id"], _matcher(r["query"])) for r in _rules()]
    for neg in negatives:
        doc = _doc(neg.get("title") or "", neg.get("summary") or "", neg.get("link") or "")
        caught = [rule_id for rule_id, match in matchers if match(doc)]
        assert not caught, f"{caught} catch the near miss {neg.get('title')!r}"


def test_manifest_notes_on_phase2_agree_with_the_rules() -> None:
    matchers = [(r["id"], _matcher(r["query"])) for r in _rules()]
    notes: dict[str, str] = {}
    for line in (FEEDS / "manifest.yaml").read_text(encoding="utf-8").splitlines():
        found = re.match(r"\s*# phase2 adds \S+ (.*) \[(.*)\]$", line)
        if found:
            notes[found.group(1)] = found.group(2)
    new_stories = 0
    for feed in _manifest():
        first = {i.guid for i in _read_items(feed["id"], feed["format"], FEEDS / feed["phase1"])}
        for item in _read_items(feed["id"], feed["format"], FEEDS / feed["phase2"]):
            if item.guid in first:
                continue
            note = notes[item.title]
            doc = _doc(item.title, item.summary, item.link)
            caught = sorted(rule_id for rule_id, match in matchers if match(doc))
            claimed = re.search(r"; rules? (.*)$", note)
            named = sorted(claimed.group(1).split(", ")) if claimed else []
            assert caught == named, f"{item.title!r}: rules {caught}, manifest says {note!r}"
            new_stories += note.startswith("NEW story")
    assert new_stories == 1
