"""Articles and alerts to and from the JSON kept in Redis."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from peacewatch.models import Alert, AlertKind, Article, Destination, Severity, SourceRef

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(..., ensure_ascii=False)`` without building an encoder per call."""


def article_to_json(article: Article) -> str:
    return _ENCODE(
        {
            "id": article.id,
            "title": article.title,
            "link": article.link,
            "published": article.published.isoformat(),
            "source": article.source,
            "outlet": article.outlet,
            "summary": article.summary,
            "content": article.content,
            "lang": article.lang,
            "feed_id": article.feed_id,
        }
    )


def article_from_json(text: str) -> Article:
    data: dict[str, Any] = json.loads(text)
    return Article(
        id=data["id"],
        title=data.get("title", ""),
        link=data.get("link", ""),
        published=datetime.fromisoformat(data["published"]),
        source=data.get("source", ""),
        outlet=data.get("outlet", ""),
        summary=data.get("summary", ""),
        content=data.get("content", ""),
        lang=data.get("lang"),
        feed_id=data.get("feed_id", ""),
    )


def alert_to_json(alert: Alert) -> str:
    return json.dumps(
        {
            "alert_id": alert.alert_id,
            "team_id": alert.team_id,
            "rule_id": alert.rule_id,
            "story_id": alert.story_id,
            "article_id": alert.article_id,
            "destination": str(alert.destination),
            "headline": alert.headline,
            "summary": alert.summary,
            "link": alert.link,
            "matched": list(alert.matched),
            "entities": list(alert.entities),
            "sources": [
                {
                    "outlet": s.outlet,
                    "source": s.source,
                    "link": s.link,
                    "published": s.published.isoformat(),
                    "title": s.title,
                }
                for s in alert.sources
            ],
            "severity": alert.severity.value,
            "kind": alert.kind.value,
            "outlet_count": alert.outlet_count,
            "outlets": list(alert.outlets),
            "created": alert.created.isoformat() if alert.created else None,
            "lang": alert.lang,
            "extra": alert.extra,
            "matched_words": list(alert.matched_words),
        },
        ensure_ascii=False,
    )


def alert_from_json(text: str) -> Alert:
    data: dict[str, Any] = json.loads(text)
    return Alert(
        alert_id=data["alert_id"],
        team_id=data["team_id"],
        rule_id=data["rule_id"],
        story_id=data["story_id"],
        article_id=data["article_id"],
        destination=Destination.parse(data["destination"]),
        headline=data["headline"],
        summary=data["summary"],
        link=data["link"],
        matched=tuple(data["matched"]),
        entities=tuple(data["entities"]),
        sources=tuple(
            SourceRef(
                outlet=s["outlet"],
                source=s["source"],
                link=s["link"],
                published=datetime.fromisoformat(s["published"]),
                title=s.get("title", ""),
            )
            for s in data["sources"]
        ),
        severity=Severity(data.get("severity", "normal")),
        kind=AlertKind(data.get("kind", "new")),
        outlet_count=int(data.get("outlet_count", 1)),
        outlets=tuple(data.get("outlets") or ()),
        created=datetime.fromisoformat(data["created"]) if data.get("created") else None,
        lang=data.get("lang"),
        extra=dict(data.get("extra") or {}),
        matched_words=tuple(data.get("matched_words") or ()),
    )
