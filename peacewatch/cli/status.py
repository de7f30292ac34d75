"""`peacewatch status`: the health of the deployment whose store the settings name."""

from __future__ import annotations

from peacewatch.settings import Settings
from peacewatch.status import collect
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.embedded import connect
from peacewatch.store.feeds import FeedStore
from peacewatch.store.teams import TeamStore
from peacewatch.store.websub import Subscription, SubscriptionStore


def format_status(status: object) -> str:
    from peacewatch.status import Status

    assert isinstance(status, Status)
    lines = [
        f"teams: {status.teams}   rules: {status.rules}   articles stored: {status.articles}",
        "queue: " + "  ".join(f"{k}={v}" for k, v in status.queue.items()),
    ]
    failing = status.failing
    lines.append(
        f"destinations: {len(status.destinations)}, "
        + (f"{len(failing)} failing" if failing else "all ok")
    )
    for dest in status.destinations:
        state = (
            f"FAILING since {dest.since_text()} ({dest.failures} failed attempts), "
            f"last error: {dest.last_error}"
            if dest.failing
            else "ok"
        )
        lines.append(f"  {dest.destination:<28} waiting {dest.waiting:<5} {state}")
    warned = sum(1 for f in status.feeds if f.warning)
    lines.append(f"feeds: {len(status.feeds)}" + (f", {warned} with warnings" if warned else ""))
    for feed in status.feeds:
        state = f"ERROR {feed.last_error}" if feed.last_error else "ok"
        poll = feed.last_poll or "never"
        lines.append(
            f"  {feed.feed_id:<16} last poll {poll:<32} items {feed.items_seen:<6} {state}"
            f"  {feed.url}"
        )
        if feed.warning:
            lines.append(f"  {'':<16} WARNING {feed.warning}")
    return "\n".join(lines)


def websub_lines(subs: list[Subscription]) -> list[str]:
    """One line per WebSub subscription: its feed, state, lease end, last push, hub (without
    any user or password in its URL) and the address its callback was given at (scheme, host
    and port: the path holds the subscription's token). A time no calendar holds (a corrupt
    record) is shown as such instead of ending the report."""
    from datetime import UTC, datetime

    from peacewatch.watchers.guard import redact_url, url_origin

    def when(epoch: float) -> str:
        if not epoch:
            return "-"
        try:
            return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
        except (OverflowError, ValueError, OSError):
            return "(out of range)"

    def origin(url: str) -> str:
        return url_origin(url) if url else "(not recorded yet)"  # stored before it was kept

    lines = [f"websub subscriptions: {len(subs)}"] if subs else []
    for sub in subs:
        state = sub.state + (f" ({sub.pending} waiting for the hub)" if sub.pending else "")
        lines.append(
            f"  {sub.feed_id:<16} {state:<12} lease until {when(sub.expires_at):<26}"
            f"last push {when(sub.last_push):<26}{redact_url(sub.hub)}"
            f"  callback at {origin(sub.callback)}"
        )
    return lines


async def print_status(settings: Settings) -> None:
    handle = await connect(settings.redis_url, settings.data_dir)
    try:
        redis = handle.client
        status = await collect(
            FeedStore(redis), TeamStore(redis), AlertQueue(redis), ArticleStore(redis)
        )
        subs = await SubscriptionStore(redis).all()
    finally:
        await handle.close()
    print("\n".join([format_status(status), *websub_lines(subs)]))
