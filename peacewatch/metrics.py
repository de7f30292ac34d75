"""The process's Prometheus metrics: counters and histograms where events happen, gauges of the
deployment's health filled at each scrape, and their exposition for /metrics.

One registry per process, made once at import: any number of apps in one process (as in the
tests) count into the same series and nothing is ever registered twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

__all__ = ["CONTENT_TYPE", "REGISTRY", "exposition"]

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
CONTENT_TYPE = CONTENT_TYPE_LATEST

POLLS = Counter(
    "peacewatch_polls", "Feed polls by result (ok, not_modified, error)", ["result"],
    registry=REGISTRY,
)  # fmt: skip
FETCH_ERRORS = Counter(
    "peacewatch_fetch_errors", "Failed feed polls by kind of error", ["kind"], registry=REGISTRY
)
ITEMS_SEEN = Counter("peacewatch_items_seen", "Feed items read by polls", registry=REGISTRY)
ALERTS_QUEUED = Counter(
    "peacewatch_alerts_queued", "Alerts queued for delivery, by severity", ["severity"],
    registry=REGISTRY,
)  # fmt: skip
ALERTS_DELIVERED = Counter(
    "peacewatch_alerts_delivered", "Alerts the platform accepted", registry=REGISTRY
)
ALERTS_RETRIED = Counter(
    "peacewatch_alerts_retried", "Failed delivery attempts that are tried again", registry=REGISTRY
)
ALERTS_DEAD = Counter(
    "peacewatch_alerts_dead", "Alerts set aside as dead letters", registry=REGISTRY
)
DELIVERY_LATENCY = Histogram(
    "peacewatch_delivery_latency_seconds",
    "Time from queueing an alert to the platform accepting it",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
    registry=REGISTRY,
)

ARTICLES_PLACED = Counter(
    "peacewatch_articles_placed", "Articles the story assigner placed in stories", registry=REGISTRY
)
STORY_MERGES = Counter(
    "peacewatch_story_merges", "Stories merged into an older one", registry=REGISTRY
)
ASSIGN_BATCH = Histogram(
    "peacewatch_assign_batch_seconds",
    "Time the story assigner took for one batch (placing, writing, matching, alerting)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
INGEST_BACKLOG = Gauge(
    "peacewatch_ingest_backlog",
    "Articles queued on the ingest stream and not yet placed (as the assigner last saw it)",
    registry=REGISTRY,
)
WEBSUB_PUSHES = Counter(
    "peacewatch_websub_pushes",
    "Content pushed by WebSub hubs, by result (accepted, bad_signature, unknown, too_large, "
    "unreadable, failed)",
    ["result"],
    registry=REGISTRY,
)
WEBSUB_SUBSCRIPTIONS = Gauge(
    "peacewatch_websub_subscriptions",
    "WebSub subscriptions by state (pending, active, denied, failed), as last counted",
    ["state"],
    registry=REGISTRY,
)
FEEDS_GARBLED = Gauge(
    "peacewatch_feeds_garbled",
    "Feeds whose last read had items whose text looks garbled (mojibake), as last counted",
    registry=REGISTRY,
)
_HEALTH: dict[str, Gauge] = {"feeds_garbled": FEEDS_GARBLED}
"""Health figures by name (``Status.metrics``); one without a gauge of its own gets a plain one."""
DESTINATION_FAILING = Gauge(
    "peacewatch_destination_failing",
    "1 while deliveries to a destination fail, 0 when they go through",
    ["destination"],
    registry=REGISTRY,
)
DESTINATION_WAITING = Gauge(
    "peacewatch_destination_waiting",
    "Alerts waiting for delivery to a destination",
    ["destination"],
    registry=REGISTRY,
)


def _figure(name: str) -> Gauge:
    """The gauge ``peacewatch_<name>`` of one health figure, made on first use."""
    gauge = _HEALTH.get(name)
    if gauge is None:
        gauge = Gauge(f"peacewatch_{name}", f"Deployment health: {name}", registry=REGISTRY)
        _HEALTH[name] = gauge
    return gauge


def exposition(
    figures: Mapping[str, float], failing: Iterable[str], waiting: Mapping[str, int]
) -> bytes:
    """The registry in Prometheus text format, with the health gauges set to ``figures`` (name
    -> value, exposed as ``peacewatch_<name>``), ``failing`` destinations at 1 and every other
    destination in ``waiting`` at 0."""
    for name, value in figures.items():
        _figure(name).set(value)
    failing = set(failing)
    DESTINATION_FAILING.clear()
    DESTINATION_WAITING.clear()
    for destination in sorted(failing | set(waiting)):
        DESTINATION_FAILING.labels(destination=destination).set(int(destination in failing))
        DESTINATION_WAITING.labels(destination=destination).set(waiting.get(destination, 0))
    return generate_latest(REGISTRY)
