"""Severity of an alert from its rule and from signals in the text.

Signals, each adding points (documented in the README):
- decision words in the headline or summary (signed, agreed, rejected, ceasefire, ...): +2
  (headline) or +1 (summary only);
- an official source (a government or institution domain such as kremlin.ru, gov.ua,
  state.gov, whitehouse.gov, europa.eu, nato.int, un.org): +1;
- the number of outlets carrying the story: +1 at 3 outlets, +2 at 6.
Score 3 or more is high, 1-2 normal, 0 low. A rule's own ``severity`` is a floor.
"""

from __future__ import annotations

import re

from peacewatch.models import Article, Severity

DECISION_WORDS = (
    "signed", "signs", "sign", "agreed", "agrees", "agreement", "rejected", "rejects",
    "ceasefire", "cease-fire", "truce", "breakthrough", "deal reached", "collapsed",
    "walked out", "accepted", "accepts", "approved", "ratified", "summit",
    "підписали", "погодили", "перемир'я", "подписали", "согласовали", "перемирие",
)  # fmt: skip
_DECISION = re.compile(r"\b(" + "|".join(re.escape(w) for w in DECISION_WORDS) + r")\b", re.I)
OFFICIAL_SUFFIXES = (
    "kremlin.ru", "gov.ua", "president.gov.ua", "mid.ru", "state.gov", "whitehouse.gov",
    "europa.eu", "nato.int", "un.org", "gov.uk", "mfa.gov.ua",
)  # fmt: skip


def severity_of(article: Article, outlets: int, floor: Severity | None = None) -> Severity:
    score = 0
    if _DECISION.search(article.title.replace("’", "'")):
        score += 2
    elif _DECISION.search(article.summary.replace("’", "'")):
        score += 1
    source = article.source.lower()
    if any(source == s or source.endswith("." + s) for s in OFFICIAL_SUFFIXES):
        score += 1
    if outlets >= 6:
        score += 2
    elif outlets >= 3:
        score += 1
    level = Severity.HIGH if score >= 3 else Severity.NORMAL if score >= 1 else Severity.LOW
    if floor is not None and floor.rank > level.rank:
        return floor
    return level
