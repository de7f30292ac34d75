"""What Slack's Web API answers mean for delivering alerts.

Which errors are permanent, which concern one reader or the rich content only, what users.info
says of a reader's membership, and how a posted message is referred to and recognised again (its
reference, and the metadata that names the alert it shows)."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from peacewatch.errors import PermanentDelivery, RetryLater
from peacewatch.services.membership import Membership

DEFAULT_RETRY_AFTER = 5.0
ALERT_EVENT = "peacewatch_alert"
"""``event_type`` of the metadata every alert message carries (its payload: the alert id)."""

# Errors after which the same call can never succeed: the channel or the grant is gone.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "token_revoked",
        "token_expired",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "missing_scope",
        "no_permission",
        "restricted_action",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
# Errors that stop a check of the channel without saying anything about the alert: the check
# is skipped (logged) and the alert posted; a double is then possible, as without the check.
UNCHECKABLE_ERRORS = frozenset(
    {"missing_scope", "not_in_channel", "channel_not_found", "thread_not_found", "no_permission"}
)
# Errors of conversations.open after which a user's direct messages can never be opened.
DM_PERMANENT_ERRORS = frozenset({"not_allowed_token_type"})
# Errors that say the user (not the workspace or the app) cannot get direct messages: a
# deleted, deactivated or hidden account, or one the bot may not message. Their follows pause.
# (``account_inactive`` is not one: Slack also answers it when the bot's own token or workspace
# was deactivated, an outage of the whole installation, not of one reader.)
DM_USER_ERRORS = frozenset({"user_not_found", "user_disabled", "user_not_visible", "cannot_dm_bot"})
DEACTIVATED = "users.info: deleted (deactivated)"
# Errors about the rich content only: the alert still goes out as plain text.
CONTENT_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long"})


def parse_ref(ref: str) -> tuple[str, str] | None:
    """``(channel, ts)`` of a message reference made by ``make_ref``, or None."""
    channel, sep, ts = ref.rpartition(":")
    if not sep or not channel or not ts:
        return None
    return channel, ts


def make_ref(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def alert_metadata(alert_id: str) -> dict[str, Any]:
    """The message metadata that names the alert a message shows."""
    return {"event_type": ALERT_EVENT, "event_payload": {"alert_id": alert_id}}


def shows_alert(message: dict[str, Any], alert_id: str) -> bool:
    """Whether a message from conversations.history/replies carries the alert's metadata."""
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != ALERT_EVENT:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("alert_id") == alert_id


def classify(exc: SlackApiError, method: str) -> RetryLater | PermanentDelivery:
    """The delivery error a failed Web API call means for the dispatcher."""
    status = exc.response.status_code
    error = str(exc.response.get("error", "") or "")
    if status == 429 or error == "ratelimited":
        header = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        try:
            retry_after = max(float(header), 1.0) if header is not None else DEFAULT_RETRY_AFTER
        except ValueError:
            retry_after = DEFAULT_RETRY_AFTER
        return RetryLater(f"slack {method}: rate limited", retry_after)
    if error in PERMANENT_ERRORS:
        return PermanentDelivery(f"slack {method}: {error}")
    # Outages and errors we do not know: keep the alert queued; the dispatcher gives up
    # after its delivery limit, so an unknown permanent error still ends in the dead letter.
    return RetryLater(f"slack {method}: {error or f'HTTP {status}'}", DEFAULT_RETRY_AFTER)


def member_of(profile: dict[str, Any], team_id: str) -> tuple[Membership, str]:
    """What a users.info ``user`` object says of its membership in ``team_id``
    (``slack:T123``), and why.

    A reader is GONE on ``deleted: true`` (a deactivated account, which is also what removing
    someone from a workspace outside Enterprise Grid does), or, in a Grid, on an
    ``enterprise_user.teams`` list without the follow's workspace (removed from that workspace
    only). Every error of users.info is UNKNOWN (its caller's concern), ``user_not_found`` too:
    Slack also answers it to a token of another workspace (a team without an installation falls
    back to SLACK_BOT_TOKEN), so it says nothing sure about the reader, and follows are never
    removed on it."""
    if profile.get("deleted"):
        return Membership.GONE, DEACTIVATED
    grid = profile.get("enterprise_user")
    teams = grid.get("teams") if isinstance(grid, dict) else None
    workspace = team_id.partition(":")[2]
    if isinstance(teams, list) and workspace and workspace not in teams:
        return Membership.GONE, f"users.info: not in workspace {workspace} (Enterprise Grid)"
    return Membership.MEMBER, "users.info: active"
