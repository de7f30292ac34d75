"""Build the offline demo feeds (RSS 2.0, Atom 1.0 and a manifest) from the sample news archive.

The demo serves real news. Every item written here is copied from the sample archive
(``items.jsonl``, ``items_hard_negatives.jsonl`` and the daily exports in ``feeds-2026-01/``)
with its title, summary, link and publication time exactly as published; this script only
chooses the items, groups them by outlet and writes them in a feed format.

Usage::

    python scripts/build_demo_feeds.py --samples PATH/TO/samples --out peacewatch/demo/feeds

The output is deterministic: the same archive always gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

FeedFormat = Literal["rss", "atom"]

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "peacewatch" / "demo" / "feeds"

# Characters XML 1.0 cannot carry at all; an archive item holding one is refused rather than
# silently altered.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# A carriage return survives XML parsing only as a character reference; a raw one becomes "\n".
_TEXT_ENTITIES = {"\r": "&#13;"}
_ATTR_ENTITIES = {"\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}


@dataclass(frozen=True, slots=True)
class Pick:
    """One item chosen for a feed: where it comes from and, for phase 2, why it is there."""

    key: str  # "items:<id>", "negatives:<id>" or "export:<link>"
    note: str = ""


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One demo feed: the outlet, the format it is served in and the items of both phases."""

    id: str
    outlet: str
    format: FeedFormat
    site: str
    comment: str
    phase1: tuple[Pick, ...]
    phase2_extra: tuple[Pick, ...]


@dataclass(frozen=True, slots=True)
class SampleItem:
    """An archive item with the fields a feed needs, text untouched."""

    key: str
    guid: str
    title: str
    summary: str
    link: str
    published: datetime
    outlet: str
    feed_url: str


@dataclass(frozen=True, slots=True)
class Archive:
    """The archive items by selection key, and the export keys whose copies disagree."""

    items: dict[str, SampleItem]
    ambiguous: frozenset[str]


def _p(key: str, note: str = "") -> Pick:
    return Pick(key=key, note=note)


# Three bursts of coverage give story clustering something to join: the leaked 28-point plan
# (2025-11-21), Witkoff and Kushner at the Kremlin (2025-12-02) and the "coalition of the
# willing" summit on security guarantees in Paris (2026-01-05/06), plus the Florida meeting on
# Donbas (2025-12-28). Around them sit unrelated items of the same outlets and days, and near
# misses from the hard-negative set that a good rule must not alert on.
FEEDS: tuple[FeedSpec, ...] = (
    FeedSpec(
        id="moscowtimes",
        outlet="The Moscow Times",
        format="rss",
        site="https://www.themoscowtimes.com/",
        comment="",
        phase1=(
            _p("items:60115b90e350fc64"),  # 2025-11-21 Kremlin: no new peace proposal (28-point)
            _p("items:e75db18c3dad33be"),  # 2025-11-21 the same story re-headlined
            _p("items:d434aeae2345cdd7"),  # 2025-12-02 Witkoff and Kushner to discuss plan
            _p("items:7f68437939161511"),  # 2025-12-02 Witkoff and Kushner meet Putin
            _p("items:b3ef414ac46cfb2d"),  # 2025-12-02 compromise still elusive, Kremlin says
            _p("items:3450110af67eff94"),  # 2025-12-28 Zelensky and Putin 'serious'
            _p("items:2e19bb447134d940"),  # 2025-12-28 closer on Donbas status
            _p("items:64eb196179cbb5ca"),  # 2025-12-28 deal closer, no breakthrough
            _p("negatives:681fe15676321e25"),  # 2026-01-02 territorial gains (near miss)
            _p("items:0038f9ead47ed26c"),  # 2026-01-05 two killed on eve of Paris meeting
            _p(
                "export:https://www.themoscowtimes.com/2026/01/05/"
                "russia-says-captured-village-in-ukraines-sumy-region-a91607"
            ),
            _p(
                "export:https://www.themoscowtimes.com/2026/01/05/"
                "russia-warns-citizens-against-travel-to-venezuela-after-us-ousts-maduro-a91609"
            ),
            _p(
                "export:https://www.themoscowtimes.com/2026/01/05/"
                "3-hurt-in-polar-bear-attack-in-remote-siberian-village-a91611"
            ),
            _p(
                "export:https://www.themoscowtimes.com/2026/01/05/"
                "for-pro-kremlin-figures-maduros-capture-a-stark-reminder-of-failed-zelensky-ouster-a91610"
            ),
            _p(
                "export:https://www.themoscowtimes.com/2026/01/05/"
                "russian-courts-hand-down-record-number-of-life-sentences-in-2025-a91612"
            ),
            _p("items:c026954973953fbb"),  # 2026-01-05 allies to meet in Paris
            _p(
                "export:https://www.themoscowtimes.com/2026/01/06/"
                "gas-explosion-kills-one-in-russias-tver-a91614"
            ),
            _p(
                "export:https://www.themoscowtimes.com/2026/01/06/"
                "500m-in-telegram-bonds-frozen-in-russia-due-to-sanctions-ft-a91616"
            ),
            _p("items:2e0d604d9cb32b58"),  # 2026-01-06 allies meet in Paris on guarantees
            _p(
                "export:https://www.themoscowtimes.com/2026/01/06/"
                "russia-backs-venezuelas-interim-leader-after-us-ousts-maduro-a91620"
            ),
            _p("items:86d20f35a9e7106b"),  # 2026-01-06 U.S. would lead ceasefire monitoring
        ),
        phase2_extra=(
            _p(
                "items:a895732a77c39ef7",
                "Paris summit outcome; rules security-guarantees, ceasefire",
            ),
            _p("items:08cd04d15145c12e", "NEW story; rule europe-russia-channel"),
        ),
    ),
    FeedSpec(
        id="politico",
        outlet="POLITICO Europe",
        format="atom",
        site="https://www.politico.eu/",
        comment=(
            "POLITICO Europe publishes RSS 2.0 (https://www.politico.eu/feed). The demo serves "
            "these real POLITICO Europe items as an Atom 1.0 feed so that the pipeline reads "
            "both formats; only the envelope differs from what the outlet published."
        ),
        phase1=(
            _p("items:cacf6cb04283f764"),  # 2026-01-01 peace plan '90 percent' ready
            _p("items:8ec2b4b8c0e5660b"),  # 2026-01-02 false flag warning
            _p("negatives:074ab2894d8f426c"),  # 2026-01-02 Budanov appointed (near miss: Donbas)
            _p(
                "export:https://www.politico.eu/article/"
                "candidates-paris-mayor-hidalgo-gregoire-chikirou-dati-bournazel-mariani-knafo"
            ),
            _p(
                "export:https://www.politico.eu/article/"
                "left-wing-vulkan-group-claims-responsibility-sabotage-massive-blackout-berlin"
            ),
            _p(
                "export:https://www.politico.eu/article/"
                "uk-backs-danish-pm-donald-trump-threatens-greenland"
            ),
            _p("negatives:4e06038c55cd8e71"),  # 2026-01-05 Mercosur concessions (near miss)
            _p("items:fe546c1b7fc8bcdd"),  # 2026-01-05 Witkoff, Kushner to attend coalition meeting
            _p(
                "export:https://www.politico.eu/article/"
                "donald-trump-venezuela-vladimir-putin-russia-nicolas-maduro"
            ),
            _p("export:https://www.politico.eu/article/how-the-italian-right-is-weaponizing-food"),
            _p(
                "export:https://www.politico.eu/podcast/"
                "berlin-playbook-podcast/merz-ruttelt-am-kanzleramt"
            ),
            _p(
                "export:https://www.politico.eu/article/"
                "europe-top-leaders-rally-defend-greenland-against-trump-threats-us"
            ),
            _p("items:b6bccbbaf645ab74"),  # 2026-01-06 Lammy to meet Vance
            _p("items:33edace34b676dcd"),  # 2026-01-06 'legally binding' security guarantees
        ),
        phase2_extra=(
            _p(
                "export:https://www.politico.eu/article/"
                "europe-us-ukraine-peace-deal-russia-paris-ceasefire-allies",
                "Paris summit outcome; no rule",
            ),
        ),
    ),
    FeedSpec(
        id="guardian",
        outlet="The Guardian",
        format="rss",
        site="https://www.theguardian.com/",
        comment="",
        phase1=(
            _p("items:5a26e861a49f5803"),  # 2026-01-01 briefing: 10% away from peace (Donbas)
            _p("negatives:eef5af24ad003eae"),  # 2026-01-03 'Putinization' (near miss)
            _p("items:377c31d54f851b98"),  # 2026-01-04 briefing: fight on if talks fail
            _p("negatives:bb2a9ca529f9d3ee"),  # 2026-01-04 far-right activist (near miss)
            _p("items:85787952382a4e28"),  # 2026-01-06 briefing ahead of Paris talks
            _p(
                "export:https://www.theguardian.com/technology/2026/jan/05/nvidia-chips-jensen-huang"
            ),
            _p("negatives:52cf22916425b286"),  # 2026-01-06 EU 'reset' (near miss)
            _p(
                "export:https://www.theguardian.com/business/2026/jan/06/"
                "aldi-lidl-grab-christmas-sales-asda-co-op-supermarket"
            ),
            _p("items:8bac9022ebb09c93"),  # 2026-01-06 coalition of the willing, Europe live
            _p(
                "export:https://www.theguardian.com/world/2026/jan/06/"
                "stephen-miller-donald-trump-threats-take-over-greenland"
            ),
            _p(
                "export:https://www.theguardian.com/film/2026/jan/06/"
                "bela-tarr-hungarian-director-of-satantango-and-werckmeister-harmonies-dies-aged-70"
            ),
            _p(
                "export:https://www.theguardian.com/world/2026/jan/06/"
                "deaths-snow-ice-freezing-temperatures-havoc-europe"
            ),
            _p("items:b38e908b25e45721"),  # 2026-01-06 Yvette Cooper and Ukraine
            _p("negatives:58f7445b7b498906"),  # 2026-01-06 letters, 'peace prize' (near miss)
        ),
        phase2_extra=(
            _p(
                "items:cc990ffb13bfbc96",
                "Paris summit outcome; rules us-envoys, security-guarantees, ceasefire,"
                " europe-russia-channel, troops-for-ukraine",
            ),
        ),
    ),
    FeedSpec(
        id="bbc",
        outlet="BBC News",
        format="rss",
        site="https://www.bbc.co.uk/news",
        comment="",
        phase1=(
            _p("items:9d39985b4c6e7744"),  # 2025-11-21 profile of Kirill Dmitriev
            _p("items:08ebb486ab787dd1"),  # 2025-11-21 leaked US draft plan
            _p("items:e4fd96349ca86500"),  # 2025-12-02 Donbas weighs peace deal
            _p("items:40b9286fdaaa7217"),  # 2025-12-02 Putin hosts Trump negotiators
            _p("items:2821c514aa2924dc"),  # 2026-01-01 peace deal 90% ready
            _p("export:https://www.bbc.com/news/articles/cx2yvx8gnnpo"),
            _p("export:https://www.bbc.com/news/articles/c205nxy0p31o"),
            _p("items:5d7c845c9975f01d"),  # 2026-01-06 Macron hosts Ukraine and allies
            _p("export:https://www.bbc.com/news/articles/cdx4zxk1np0o"),
            _p("export:https://www.bbc.com/news/articles/c07xkeee2k3o"),
            _p("export:https://www.bbc.com/news/articles/cre28d2j2zxo"),
            _p("export:https://www.bbc.com/news/articles/cpv7myg2nw4o"),
            _p("export:https://www.bbc.com/news/articles/cpwn2wjzwndo"),
        ),
        phase2_extra=(
            _p("items:a208540816cdf915", "Paris summit outcome; rule troops-for-ukraine"),
        ),
    ),
    FeedSpec(
        id="aljazeera",
        outlet="Al Jazeera",
        format="rss",
        site="https://www.aljazeera.com/",
        comment="",
        phase1=(
            _p("items:ab7cf91386411d14"),  # 2026-01-02 400,000 Russian casualties
            _p(
                "export:https://www.aljazeera.com/news/2026/1/6/"
                "eva-schloss-holocaust-survivor-and-stepsister-of-anne-frank-dies-at-96"
                "?traffic_source=rss"
            ),
            _p(
                "export:https://www.aljazeera.com/news/2026/1/6/"
                "danish-pm-says-us-attack-on-greenland-would-be-the-end-of-nato?traffic_source=rss"
            ),
            _p(
                "export:https://www.aljazeera.com/news/2026/1/6/"
                "gaza-children-risk-snipers-to-attend-tent-schools?traffic_source=rss"
            ),
            _p(
                "export:https://www.aljazeera.com/news/2026/1/6/"
                "thai-army-says-cambodia-claims-new-border-strike-was-accident-amid-truce"
                "?traffic_source=rss"
            ),
            _p(
                "export:https://www.aljazeera.com/news/2026/1/6/"
                "yemeni-separatists-to-attend-saudi-talks-after-losing-key-southern-sites"
                "?traffic_source=rss"
            ),
            _p("items:65a6e2d9c9f5af12"),  # 2026-01-06 top allies meet in Paris
            _p(
                "export:https://www.aljazeera.com/news/2026/1/6/"
                "closing-his-eyeswhy-is-russias-putin-quiet-on-us-abduction-of-maduro"
                "?traffic_source=rss"
            ),
        ),
        phase2_extra=(
            _p("items:ef1306f6b20cbfe1", "Paris summit outcome; rule troops-for-ukraine"),
            _p(
                "items:07ddb8eefc2e6d07",
                "Paris summit outcome; rules ceasefire, troops-for-ukraine",
            ),
        ),
    ),
    FeedSpec(
        id="newsweek",
        outlet="Newsweek",
        format="rss",
        site="https://www.newsweek.com/",
        comment="",
        phase1=(
            _p("items:bc8fbbac18e23047"),  # 2026-01-01 live updates, '90 percent ready'
            _p("negatives:c10855d03ab7039b"),  # 2026-01-02 Dmitriev mocks Mamdani (near miss)
            _p("items:27cef011012f0b44"),  # 2026-01-05 drone strike on Kyiv hospital
            _p("items:19bcf9c5678f7a81"),  # 2026-01-06 Russia's envoy taunts US allies
            _p(
                "export:https://www.newsweek.com/"
                "flood-warning-california-sacramento-weather-forecast-11315437"
            ),
            _p("export:https://www.newsweek.com/back-to-back-winter-storms-northeast-11316432"),
            _p(
                "export:https://www.newsweek.com/"
                "donald-trump-greenland-update-white-house-military-11318368"
            ),
            _p(
                "export:https://www.newsweek.com/"
                "europe-panics-over-greenland-as-questions-raised-over-colonialism-11318569"
            ),
        ),
        phase2_extra=(
            _p(
                "export:https://www.newsweek.com/astronomers-discover-record-breaking-asteroid-11329341",
                "unrelated; no rule",
            ),
            _p(
                "export:https://www.newsweek.com/plans-olympic-stadium-revealed-11327191",
                "unrelated; no rule",
            ),
        ),
    ),
)


class BuildError(Exception):
    """The archive does not hold what the selection asks for."""


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise BuildError(f"time without a zone: {value!r}")
    return moment.astimezone(UTC)


def _read_jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _text(record: dict[str, object], field: str, where: str) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value:
        raise BuildError(f"{where}: field {field!r} is missing or empty")
    return value


def load_archive(samples: Path) -> Archive:
    """Every complete archive item by its selection key."""
    archive: dict[str, SampleItem] = {}
    ambiguous: set[str] = set()
    for prefix, name in (("items", "items.jsonl"), ("negatives", "items_hard_negatives.jsonl")):
        for record in _read_jsonl(samples / name):
            if not all(record.get(f) for f in ("title", "summary", "link", "published")):
                continue
            if record.get("date_kind") != "published":
                continue
            where = f"{name} {record.get('id')}"
            item_id = _text(record, "id", where)
            archive[f"{prefix}:{item_id}"] = SampleItem(
                key=f"{prefix}:{item_id}",
                guid=item_id,
                title=_text(record, "title", where),
                summary=_text(record, "summary", where),
                link=_text(record, "link", where),
                published=_parse_time(_text(record, "published", where)),
                outlet=_text(record, "source_outlet", where),
                feed_url=str(record.get("feed_url") or ""),
            )
    exports = sorted((samples / "feeds-2026-01").glob("*/*/*/*.json"))
    for path in exports:
        entries = json.loads(path.read_text(encoding="utf-8"))
        for record in entries:
            link = record.get("link")
            if not isinstance(link, str) or not link or not record.get("description"):
                continue
            key = f"export:{link}"
            where = f"{path.name} {link}"
            item = SampleItem(
                key=key,
                guid=link,
                title=_text(record, "title", where),
                summary=_text(record, "description", where),
                link=link,
                published=_parse_time(_text(record, "date_published", where)),
                outlet="",
                feed_url=str(record.get("source_url") or ""),
            )
            known = archive.get(key)
            # The same entry is often exported from two of an outlet's feeds or on two days;
            # the first copy (by path) is kept, and copies whose texts differ make the entry
            # ambiguous, so that selecting it fails instead of depending on the file order.
            if known is None:
                archive[key] = item
            elif (known.title, known.summary, known.published) != (
                item.title,
                item.summary,
                item.published,
            ):
                ambiguous.add(key)
    return Archive(items=archive, ambiguous=frozenset(ambiguous))


def resolve(spec: FeedSpec, archive: Archive) -> tuple[list[SampleItem], list[SampleItem]]:
    """The items of both phases of one feed, newest first, phase 2 a superset of phase 1."""
    curated_links = {
        item.link for key, item in archive.items.items() if not key.startswith("export:")
    }

    def pick(p: Pick) -> SampleItem:
        item = archive.items.get(p.key)
        if item is None:
            raise BuildError(f"{spec.id}: {p.key} is not a complete item of the archive")
        if p.key in archive.ambiguous:
            raise BuildError(f"{spec.id}: {p.key} appears in the exports with different texts")
        if p.key.startswith("export:") and item.link in curated_links:
            raise BuildError(f"{spec.id}: {p.key} is also a curated item; select it by its id")
        if item.outlet and item.outlet != spec.outlet:
            raise BuildError(f"{spec.id}: {p.key} belongs to {item.outlet}, not {spec.outlet}")
        return item

    phase1 = [pick(p) for p in spec.phase1]
    extra = [pick(p) for p in spec.phase2_extra]
    keys = [i.key for i in phase1 + extra]
    if len(set(keys)) != len(keys):
        raise BuildError(f"{spec.id}: an item is selected twice")
    newest = max(i.published for i in phase1)
    for item in extra:
        if item.published <= newest:
            raise BuildError(f"{spec.id}: phase 2 item {item.key} is not newer than phase 1")
    return _newest_first(phase1), _newest_first(phase1 + extra)


def _newest_first(items: Iterable[SampleItem]) -> list[SampleItem]:
    return sorted(items, key=lambda i: (-i.published.timestamp(), i.guid))


def _check_xml_text(value: str, where: str) -> None:
    if _INVALID_XML.search(value):
        raise BuildError(f"{where}: text holds a character XML cannot carry")


def _t(value: str) -> str:
    return escape(value, _TEXT_ENTITIES)


def _a(value: str) -> str:
    return quoteattr(value, _ATTR_ENTITIES)


def _rfc822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _header(spec: FeedSpec, items: list[SampleItem]) -> list[str]:
    sources = sorted({i.feed_url for i in items if i.feed_url})
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<!--",
        f"  Demo feed of peacewatch: real items of {spec.outlet}, copied from public archives of",
        "  its feeds with their titles, summaries, links and times as published. Source feeds:",
        *[f"    {url}" for url in sources],
        "  Generated by scripts/build_demo_feeds.py; do not edit by hand.",
    ]
    if spec.comment:
        lines.extend(_wrap(spec.comment, "  "))
    lines.append("-->")
    for line in lines:
        if "--" in line.replace("<!--", "").replace("-->", ""):
            raise BuildError(f"{spec.id}: a header line holds '--'")
    return lines


def _wrap(text: str, indent: str, width: int = 92) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(indent) + len(current) + 1 + len(word) > width:
            lines.append(indent + current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(indent + current)
    return lines


def render_rss(spec: FeedSpec, items: list[SampleItem]) -> str:
    """An RSS 2.0 document; summaries go into <description> as escaped text, as feeds carry HTML."""
    out = _header(spec, items)
    out += [
        '<rss version="2.0">',
        "  <channel>",
        f"    <title>{_t(spec.outlet)}</title>",
        f"    <link>{_t(spec.site)}</link>",
        f"    <description>{_t(spec.outlet)} (peacewatch demo feed)</description>",
        "    <language>en</language>",
        f"    <lastBuildDate>{_rfc822(max(i.published for i in items))}</lastBuildDate>",
    ]
    for item in items:
        for value in (item.title, item.summary, item.link, item.guid):
            _check_xml_text(value, f"{spec.id} {item.key}")
        out += [
            "    <item>",
            f"      <title>{_t(item.title)}</title>",
            f"      <link>{_t(item.link)}</link>",
            f"      <description>{_t(item.summary)}</description>",
            f"      <pubDate>{_rfc822(item.published)}</pubDate>",
            f'      <guid isPermaLink="false">{_t(item.guid)}</guid>',
            "    </item>",
        ]
    out += ["  </channel>", "</rss>", ""]
    return "\n".join(out)


def render_atom(spec: FeedSpec, items: list[SampleItem]) -> str:
    """An Atom 1.0 document; the entry id is the item's link, summaries are type="html"."""
    out = _header(spec, items)
    out += [
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
        f"  <title>{_t(spec.outlet)}</title>",
        f"  <subtitle>{_t(spec.outlet)} (peacewatch demo feed)</subtitle>",
        f'  <link rel="alternate" type="text/html" href={_a(spec.site)}/>',
        f"  <id>{_t(spec.site)}</id>",
        f"  <updated>{_rfc3339(max(i.published for i in items))}</updated>",
        f"  <author><name>{_t(spec.outlet)}</name></author>",
    ]
    for item in items:
        for value in (item.title, item.summary, item.link):
            _check_xml_text(value, f"{spec.id} {item.key}")
        out += [
            "  <entry>",
            f'    <title type="text">{_t(item.title)}</title>',
            f'    <link rel="alternate" type="text/html" href={_a(item.link)}/>',
            f"    <id>{_t(item.link)}</id>",
            f"    <published>{_rfc3339(item.published)}</published>",
            f"    <updated>{_rfc3339(item.published)}</updated>",
            f'    <summary type="html">{_t(item.summary)}</summary>',
            "  </entry>",
        ]
    out += ["</feed>", ""]
    return "\n".join(out)


def render_manifest(specs: Iterable[FeedSpec], archive: Archive) -> str:
    """The manifest `peacewatch demo` reads; phase 2 notes are comments for the reader."""
    out = [
        "# Feeds served by `peacewatch demo` on 127.0.0.1. Generated by",
        "# scripts/build_demo_feeds.py from the sample archive; do not edit by hand.",
        "# phase1 is served first; phase2 is the same feed plus newer real items, served after",
        "# the first poll. Its newer items are one new story (one new alert) and reports of the",
        "# Paris summit's outcome from five outlets: the first report of the outcome alerts (an",
        "# outcome is news), the others that match a rule follow in the threads of the summit's",
        "# stories instead of alerting anew;",
        "# the rule ids named below are those of peacewatch/demo/rules.yaml.",
        "feeds:",
    ]
    for spec in specs:
        out += [
            f"  - id: {spec.id}",
            f"    outlet: {spec.outlet}",
            f"    format: {spec.format}",
            f"    phase1: {spec.id}.xml",
            f"    phase2: {spec.id}.phase2.xml",
        ]
        for p in spec.phase2_extra:
            item = archive.items[p.key]
            if "\n" in item.title or "\r" in item.title:
                raise BuildError(f"{spec.id}: {p.key} has a line break in its title")
            out.append(f"    # phase2 adds {_rfc3339(item.published)} {item.title} [{p.note}]")
    out.append("")
    return "\n".join(out)


def build(samples: Path, out: Path) -> list[Path]:
    """Write every feed file and the manifest into `out`; returns the paths written."""
    archive = load_archive(samples)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for spec in FEEDS:
        phase1, phase2 = resolve(spec, archive)
        render = render_rss if spec.format == "rss" else render_atom
        for name, items in ((f"{spec.id}.xml", phase1), (f"{spec.id}.phase2.xml", phase2)):
            path = out / name
            path.write_bytes(render(spec, items).encode("utf-8"))
            written.append(path)
    manifest = out / "manifest.yaml"
    manifest.write_bytes(render_manifest(FEEDS, archive).encode("utf-8"))
    written.append(manifest)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=Path, required=True, help="the sample archive folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the feeds")
    args = parser.parse_args(argv)
    try:
        written = build(args.samples, args.out)
    except (BuildError, OSError, ValueError) as exc:
        print(f"build_demo_feeds: {exc}", file=sys.stderr)
        return 2
    total = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files, {total} bytes, to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
