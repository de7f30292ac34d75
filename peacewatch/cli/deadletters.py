"""`peacewatch deadletters`: list the alerts set aside, send them again once the cause is
fixed, or drop them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis.asyncio as aioredis

from peacewatch.store.alert_queue import AlertQueue, DeadLetter

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    """What a retry or drop did: lines to print, and the ids that named no dead letter."""

    lines: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_list(letters: list[DeadLetter]) -> str:
    """One line per dead letter: id, alert, destination, when, reason."""
    if not letters:
        return "no dead letters"
    lines = [f"{'ID':<16}  {'ALERT':<32}  {'DESTINATION':<24}  {'WHEN':<23}  REASON"]
    for letter in letters:
        lines.append(
            f"{letter.entry_id:<16}  {letter.alert_id or '-':<32}  "
            f"{letter.destination or '-':<24}  {_when(letter.at):<23}  {letter.reason}"
        )
    lines.append(f"{len(letters)} dead letters")
    return "\n".join(lines)


def _select(
    letters: list[DeadLetter], ids: list[str], every: bool
) -> tuple[list[DeadLetter], list[str]]:
    """The dead letters named by entry id or alert id (or all), and the ids that named none."""
    if every:
        return list(letters), []
    chosen: list[DeadLetter] = []
    unknown = []
    for wanted in ids:
        found = [x for x in letters if wanted in (x.entry_id, x.alert_id)]
        if not found:
            unknown.append(wanted)
        chosen.extend(x for x in found if x not in chosen)
    return chosen, unknown


async def list_letters(redis: aioredis.Redis) -> str:
    return format_list(await AlertQueue(redis).dead_letters())


async def retry(redis: aioredis.Redis, ids: list[str], every: bool) -> Outcome:
    """Put the chosen dead letters back on the alert queue. An alert already delivered is not
    posted again (the dispatcher's delivery record stops it); an entry that cannot be read as
    an alert stays where it is and is reported."""
    queue = AlertQueue(redis)
    chosen, unknown = _select(await queue.dead_letters(), ids, every)
    out = Outcome(unknown=unknown)
    for letter in chosen:
        try:
            entry = await queue.requeue_dead(letter)
        except (ValueError, KeyError, TypeError) as exc:
            out.failed.append(letter.entry_id)
            out.lines.append(f"{letter.entry_id}: not an alert, left in place ({exc})")
            continue
        log.info("dead letter %s (alert %s) queued again", letter.entry_id, letter.alert_id)
        out.lines.append(
            f"{letter.entry_id}: alert {letter.alert_id} to {letter.destination} queued again "
            f"as {entry}"
        )
    return out


async def drop(redis: aioredis.Redis, ids: list[str], every: bool) -> Outcome:
    """Delete the chosen dead letters. A failing destination left with no dead letter and no
    alert waiting is no longer reported as failing (its next alert shows again if it is)."""
    queue = AlertQueue(redis)
    letters = await queue.dead_letters()
    chosen, unknown = _select(letters, ids, every)
    out = Outcome(unknown=unknown)
    await queue.drop_dead([x.entry_id for x in chosen])
    out.lines.extend(
        f"{x.entry_id}: alert {x.alert_id or '-'} to {x.destination or '-'} dropped" for x in chosen
    )
    left = {x.destination for x in letters if x not in chosen}
    waiting = await queue.waiting_by_destination()
    for destination in sorted({x.destination for x in chosen} - left):
        if destination and not waiting.get(destination) and await queue.clear_failure(destination):
            out.lines.append(f"{destination}: nothing left for it; no longer shown as failing")
    return out
