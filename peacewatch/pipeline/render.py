"""Alerts as plain text (console, fallbacks of rich messages) and helpers the adapters share."""

from __future__ import annotations

from peacewatch.models import Alert, AlertKind, Severity

SEVERITY_MARK = {Severity.LOW: "·", Severity.NORMAL: "•", Severity.HIGH: "‼"}


def outlets_line(alert: Alert) -> str:
    names = list(alert.outlets)
    for source in alert.sources:
        name = source.outlet or source.source
        if name and name not in names and source.source not in names:
            names.append(name)
    if alert.outlet_count <= 1:
        return f"Source: {names[0] if names else 'unknown'}"
    return f"Reported by {alert.outlet_count} outlets: {', '.join(names[:8])}"


def alert_text(alert: Alert) -> str:
    """A short plain-text rendering: headline, summary, what matched, sources, link."""
    mark = SEVERITY_MARK[alert.severity]
    lines = []
    if alert.kind is AlertKind.FOLLOWUP:
        lines.append(f"{mark} Follow-up ({alert.outlet_count} outlets now): {alert.headline}")
    else:
        lines.append(f"{mark} [{alert.severity.value.upper()}] {alert.headline}")
    if alert.summary:
        lines.append(alert.summary)
    if alert.extra.get("adds"):
        lines.append(f"Adds: {alert.extra['adds']}")
    matched = ", ".join(alert.matched)
    rule = alert.rule_id
    lines.append(f"Matched: {matched}  (rule {rule}, team {alert.team_id})")
    if alert.entities:
        lines.append(f"Entities: {', '.join(alert.entities)}")
    lines.append(outlets_line(alert))
    newest = alert.sources[-1] if alert.sources else None
    when = newest.published.strftime("%Y-%m-%d %H:%M UTC") if newest else ""
    lines.append(f"{alert.link}  {when}".strip())
    return "\n".join(lines)
