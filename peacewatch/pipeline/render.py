"""Alerts as plain text (console, fallbacks of rich messages) and helpers the adapters share."""

from __future__ import annotations

from peacewatch.models import Alert, AlertKind, Severity

SEVERITY_MARK = {Severity.LOW: "·", Severity.NORMAL: "•", Severity.HIGH: "‼"}


def outlet_names(alert: Alert) -> list[str]:
    """The story's outlets by name where the alert knows it (else by domain), first first."""
    known = {s.source: s.outlet for s in alert.sources if s.source and s.outlet}
    names: list[str] = []
    for outlet in alert.outlets:
        name = known.get(outlet, outlet)
        if name not in names:
            names.append(name)
    for source in alert.sources:
        name = source.outlet or source.source
        if name and name not in names and source.source not in alert.outlets:
            names.append(name)
    return names


def outlets_line(alert: Alert) -> str:
    names = outlet_names(alert)
    if alert.outlet_count <= 1:
        return f"Source: {names[0] if names else 'unknown'}"
    return f"Reported by {alert.outlet_count} outlets: {', '.join(names[:8])}"


def alert_text(alert: Alert) -> str:
    """A short plain-text rendering: headline, summary, what matched, sources, link."""
    mark = SEVERITY_MARK[alert.severity]
    lines = []
    if alert.kind is AlertKind.FOLLOWUP:
        if alert.outlet_count > 1:
            lines.append(f"{mark} Follow-up ({alert.outlet_count} outlets now): {alert.headline}")
        else:
            lines.append(f"{mark} Update from the same outlet: {alert.headline}")
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
