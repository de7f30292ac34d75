"""Severity of an alert from its rule and from signals in the text.

Signals, each adding points (the table in the README, "Alerts, stories and severity"):
- decision words in the headline or summary (signed, agreed, rejected, ceasefire, ...): +2
  (headline) or +1 (summary only);
- an official source (a government or institution domain such as kremlin.ru, gov.ua,
  state.gov, whitehouse.gov, europa.eu, nato.int, un.org, and every official entry of the
  source catalogue, ``peacewatch sources list``, its Telegram channels included): +1;
- the number of outlets carrying the story: +1 from 3 outlets, +2 from 6.
Score 3 or more is high, 1-2 normal, 0 low. A rule's own ``severity`` is a floor.

The outlet count changes as a story grows, so the text's points (``text_points``) and the
outlets' points (``outlet_points``) are kept apart: an alert already posted is shown at the
level its story has now (``current_severity``).
"""

from __future__ import annotations

import re

from peacewatch.models import Alert, Article, Severity
from peacewatch.watchers.catalogue import official_channels, official_domains

DECISION_WORDS = (
    "signed", "signs", "sign", "agreed", "agrees", "agreement", "rejected", "rejects",
    "ceasefire", "cease-fire", "truce", "breakthrough", "deal reached", "collapsed",
    "walked out", "accepted", "accepts", "approved", "ratified", "summit",
    "підписали", "погодили", "перемир'я", "подписали", "согласовали", "перемирие",
)  # fmt: skip
_DECISION = re.compile(r"\b(" + "|".join(re.escape(w) for w in DECISION_WORDS) + r")\b", re.I)
OFFICIAL_SUFFIXES = (
    "kremlin.ru", "gov.ua", "mid.ru", "state.gov", "whitehouse.gov", "europa.eu", "nato.int",
    "un.org", "gov.uk",
)  # fmt: skip
"""Government and institution domains (and their subdomains), besides the catalogue's."""
SOME_OUTLETS = 3
"""From this many outlets a story earns one point."""
MANY_OUTLETS = 6
"""From this many outlets a story earns two points."""
HIGH_SCORE = 3
NORMAL_SCORE = 1


def _decision(text: str) -> bool:
    return _DECISION.search(text.replace("’", "'")) is not None


def text_points(title: str, summary: str, source: str) -> int:
    """Points from the article itself: decision words (+2 in the headline, else +1 in the
    summary) and an official source domain (+1)."""
    score = 2 if _decision(title) else 1 if _decision(summary) else 0
    return score + 1 if is_official(source) else score


def is_official(source: str) -> bool:
    """Whether ``source`` (a domain, or ``t.me/name`` of a Telegram channel) is official: one
    of ``OFFICIAL_SUFFIXES`` or of the source catalogue's official entries."""
    source = source.lower()
    if source in official_channels():
        return True
    suffixes = (*OFFICIAL_SUFFIXES, *official_domains())
    return any(source == s or source.endswith("." + s) for s in suffixes)


def outlet_points(outlets: int) -> int:
    """+1 from ``SOME_OUTLETS`` outlets, +2 from ``MANY_OUTLETS``."""
    if outlets >= MANY_OUTLETS:
        return 2
    if outlets >= SOME_OUTLETS:
        return 1
    return 0


def level(score: int, floor: Severity | None = None) -> Severity:
    """The level of a score: ``HIGH_SCORE`` and up is high, ``NORMAL_SCORE`` and up normal;
    never below ``floor``."""
    found = (
        Severity.HIGH
        if score >= HIGH_SCORE
        else Severity.NORMAL
        if score >= NORMAL_SCORE
        else Severity.LOW
    )
    if floor is not None and floor.rank > found.rank:
        return floor
    return found


def severity_of(article: Article, outlets: int, floor: Severity | None = None) -> Severity:
    """The severity of ``article`` in a story that ``outlets`` outlets carry."""
    points = text_points(article.title, article.summary, article.source)
    return level(points + outlet_points(outlets), floor)


def current_severity(alert: Alert) -> Severity:
    """The level of an alert at its story's present outlet count.

    An alert keeps the severity it was queued with, computed when its story had fewer
    outlets; the message showing it is edited as outlets join (``outlet_count`` grows), and
    must then show what the documented scoring gives for that count. The text's points are
    taken from the alert (headline, summary, its own article's domain); the stored severity
    stays a floor, so a rule's floor and a level reached earlier are never lowered.
    """
    own = next((s.source for s in alert.sources if s.link == alert.link), "")
    points = text_points(alert.headline, alert.summary, own)
    return level(points + outlet_points(alert.outlet_count), alert.severity)
