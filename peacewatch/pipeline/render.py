"""Alerts as plain text (console, fallbacks of rich messages) and the wording the adapters share:
outlet names, the story's outlets, what matched, who is named, the severity shown."""

from __future__ import annotations

from dataclasses import dataclass

from peacewatch.models import Alert, AlertKind, Severity, SourceRef
from peacewatch.pipeline.headlines import NOTE_KEY
from peacewatch.pipeline.severity import current_severity
from peacewatch.pipeline.wording import Named, entity_names, matched_words
from peacewatch.store.follows import is_follow_rule

FOLLOWS_KEY = "follows"
"""Extra of a follow's direct message: the queries of the reader's follows it matched, one a
line, as they typed them (the alert names them so, never by the matcher's internal id)."""
FOLLOW_SHOWN = 80
"""A follow's query is clipped to this many characters where an alert names it."""
SEVERITY_MARK = {Severity.LOW: "·", Severity.NORMAL: "•", Severity.HIGH: "‼"}
OUTLETS_NAMED = 8
"""A list of outlets names at most this many, then says "and N more"."""

KNOWN_OUTLETS = {
    "aljazeera.com": "Al Jazeera", "apnews.com": "AP", "bbc.co.uk": "BBC News",
    "bbc.com": "BBC News", "bloomberg.com": "Bloomberg", "cbc.ca": "CBC News",
    "channelnewsasia.com": "CNA", "cnn.com": "CNN", "dailymail.co.uk": "Daily Mail",
    "dw.com": "DW", "euromaidanpress.com": "Euromaidan Press", "euronews.com": "Euronews",
    "foxnews.com": "Fox News", "france24.com": "France 24", "ft.com": "Financial Times",
    "interfax.com.ua": "Interfax-Ukraine", "kremlin.ru": "Kremlin",
    "kyivindependent.com": "The Kyiv Independent", "lemonde.fr": "Le Monde",
    "meduza.io": "Meduza", "nbcnews.com": "NBC News", "newsweek.com": "Newsweek",
    "npr.org": "NPR", "nytimes.com": "The New York Times", "politico.eu": "POLITICO Europe",
    "pravda.com.ua": "Ukrainska Pravda", "reddit.com": "Reddit", "reuters.com": "Reuters",
    "rferl.org": "RFE/RL", "skynews.com": "Sky News", "sky.com": "Sky News",
    "spiegel.de": "Der Spiegel", "tass.com": "TASS", "tass.ru": "ТАСС",
    "theepochtimes.com": "The Epoch Times", "theguardian.com": "The Guardian",
    "thehill.com": "The Hill", "themoscowtimes.com": "The Moscow Times",
    "ukrinform.net": "Ukrinform", "understandingwar.org": "ISW", "unian.info": "UNIAN",
    "washingtonexaminer.com": "Washington Examiner", "washingtonpost.com": "The Washington Post",
}  # fmt: skip
"""Outlets by domain. A feed's title is often not the outlet's name ("World news | The
Guardian", "NYT > World News", "Latest News"), so a known domain names its outlet."""


def outlet_name(source: str, given: str = "") -> str:
    """The outlet's name: the known name of its domain (or a parent domain), else the name the
    feed or the aggregator gave, else the domain."""
    domain = source.lower().removeprefix("www.")
    parts = domain.split(".")
    for i in range(len(parts) - 1):
        known = KNOWN_OUTLETS.get(".".join(parts[i:]))
        if known:
            return known
    return given.strip() or source.strip()


def source_name(source: SourceRef) -> str:
    return outlet_name(source.source, source.outlet)


@dataclass(frozen=True, slots=True)
class OutletReports:
    """One outlet of a story and its reports, oldest first (none when only its domain is known)."""

    name: str
    reports: tuple[SourceRef, ...]


def outlet_reports(alert: Alert) -> list[OutletReports]:
    """The story's outlets in the order they first reported it, each with its reports in time
    order (an outlet's updates stay together, oldest first); outlets the alert knows only by
    domain come last."""
    grouped: dict[str, list[SourceRef]] = {}
    for source in sorted(alert.sources, key=lambda s: s.published):
        reports = grouped.setdefault(source_name(source), [])
        if all(r.link != source.link for r in reports):
            reports.append(source)
    out = [OutletReports(name, tuple(reports)) for name, reports in grouped.items()]
    # the story's outlets are domains; a source also answers to the name its feed gave it
    known = {key: source_name(s) for s in alert.sources for key in (s.outlet, s.source) if key}
    for domain in alert.outlets:
        name = known.get(domain) or outlet_name(domain)
        if name not in grouped:
            grouped[name] = []
            out.append(OutletReports(name, ()))
    return out


def own_source(alert: Alert) -> SourceRef | None:
    """The source of the alert's own article (the newest outlet of a follow-up)."""
    for source in alert.sources:
        if source.link == alert.link:
            return source
    return alert.sources[-1] if alert.sources else None


def outlet_total(alert: Alert) -> int:
    return max(alert.outlet_count, len(outlet_reports(alert)), 1)


def named_outlets(alert: Alert, limit: int = OUTLETS_NAMED) -> str:
    """The story's outlets as a phrase: "BBC News, Al Jazeera and The Guardian", or the first
    ones "and N more" when there are many; the alert's own outlet is always named."""
    names = [o.name for o in outlet_reports(alert)]
    total = outlet_total(alert)
    own = own_source(alert)
    if own is not None and len(names) > limit:
        mine = source_name(own)
        if mine in names[limit - 1 :]:
            names = [n for n in names[: limit - 1] if n != mine] + [mine]
    shown = names[:limit]
    more = total - len(shown)
    if more > 0:
        return f"{', '.join(shown)} and {more} more"
    if len(shown) > 1:
        return f"{', '.join(shown[:-1])} and {shown[-1]}"
    return shown[0] if shown else "unknown"


def outlets_line(alert: Alert, limit: int = OUTLETS_NAMED) -> str:
    """ "Source: X" for one outlet, else "Reported by N outlets: A, B and C"."""
    total = outlet_total(alert)
    if total <= 1:
        return f"Source: {named_outlets(alert, limit)}"
    return f"Reported by {total} outlets: {named_outlets(alert, limit)}"


def entities_by_kind(alert: Alert) -> dict[str, list[str]]:
    """Display names grouped under "Actors", "Places" and "Topics" (only those present)."""
    titles = {"actor": "Actors", "place": "Places", "topic": "Topics"}
    out: dict[str, list[str]] = {}
    named: list[Named] = entity_names(alert)
    for entity in named:
        out.setdefault(titles.get(entity.kind, "Actors"), []).append(entity.name)
    return out


def headline_line(alert: Alert) -> str:
    """The first line: severity and headline, or for a follow-up who reports what."""
    severity = current_severity(alert)
    mark = SEVERITY_MARK[severity]
    if alert.kind is not AlertKind.FOLLOWUP:
        return f"{mark} [{severity.value.upper()}] {alert.headline}"
    own = own_source(alert)
    outlet = source_name(own) if own else "an outlet"
    if outlet_total(alert) > 1 and not is_update(alert):
        return f"{mark} Follow-up from {outlet} ({outlet_total(alert)} outlets now): " + (
            alert.headline
        )
    return f"{mark} Follow-up · update from {outlet}: {alert.headline}"


def is_merge_note(alert: Alert) -> bool:
    """Whether the alert is the note left in a story's thread when the story was merged into
    another (its headline is the surviving story's)."""
    return bool(alert.extra.get("merged_into"))


def merge_note_text(alert: Alert) -> str:
    return (
        f"This story continues in the thread of \u201c{alert.headline}\u201d: "
        "later coverage goes there."
    )


def is_update(alert: Alert) -> bool:
    """Whether the alert's outlet had already reported the story (an update, not a new
    outlet joining it)."""
    own = own_source(alert)
    if own is None:
        return False
    name = source_name(own)
    return any(source_name(s) == name and s.published < own.published for s in alert.sources)


def _clipped(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def follow_queries(alert: Alert) -> list[str]:
    """The queries of the reader's follows that a direct message matched (clipped), or none
    for a channel alert (or a DM queued before alerts carried them)."""
    raw = alert.extra.get(FOLLOWS_KEY, "")
    return [_clipped(q, FOLLOW_SHOWN) for q in raw.split("\n") if q.strip()]


def is_follow_alert(alert: Alert) -> bool:
    """Whether the alert is a personal follow's direct message."""
    return is_follow_rule(alert.rule_id) or bool(alert.extra.get(FOLLOWS_KEY))


def rule_label(alert: Alert) -> str:
    """What the alert says brought it: "Your follow: actor:witkoff" on a follow's direct
    message (the query as the reader typed it, never the follow's internal id), else
    "Rule: witkoff-donbas" (the id the team gave its rule; every rule when several matched)."""
    if is_follow_alert(alert):
        queries = follow_queries(alert)
        if not queries:
            return "Your follow"
        head = "Your follow" if len(queries) == 1 else "Your follows"
        return f"{head}: {' · '.join(queries)}"
    rules = [r for r in alert.extra.get("rules", "").split(",") if r] or [alert.rule_id]
    return f"{'Rule' if len(rules) == 1 else 'Rules'}: {', '.join(rules)}"


def alert_text(alert: Alert) -> str:
    """A short plain-text rendering: headline, summary, what matched, who is named, sources,
    link."""
    if is_merge_note(alert):
        return f"Merged: {merge_note_text(alert)}\n{alert.link}"
    lines = [headline_line(alert)]
    if alert.extra.get(NOTE_KEY):
        lines.append(f"({alert.extra[NOTE_KEY]})")
    if alert.summary:
        lines.append(alert.summary)
    if alert.extra.get("adds"):
        lines.append(f"Adds: {alert.extra['adds']}")
    words = matched_words(alert)
    if words:
        lines.append(f"Matched: {', '.join(words)}")
    groups = entities_by_kind(alert)
    if groups:
        lines.append(" · ".join(f"{k}: {', '.join(v)}" for k, v in groups.items()))
    lines.append(outlets_line(alert))
    own = own_source(alert)
    when = own.published.strftime("%Y-%m-%d %H:%M UTC") if own else ""
    lines.append(f"{alert.link}  {when}".strip())
    lines.append(rule_label(alert))
    return "\n".join(lines)
