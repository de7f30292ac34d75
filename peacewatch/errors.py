"""The one exception tree of peacewatch.

PeacewatchError
├── ConfigError            bad settings or config file (exit code 2)
├── InputError             bad user input: a rule, a query, an input line (exit code 2)
│   └── QuerySyntaxError   a query that does not parse; carries line and column
├── FeedError              a feed could not be fetched or parsed (the feed is skipped)
│   ├── UrlRefused         the URL or its resolved address is not allowed
│   ├── FetchTimeout       the total deadline of a fetch passed
│   ├── TooLarge           the body or its decompressed size went over the cap
│   ├── HttpStatusError    the server answered with an error status
│   └── ParseError         the bytes are not a feed
├── StoreError             Redis could not be reached or answered an error
└── DeliveryError          a sink refused an alert
    ├── RetryLater         transient: keep the alert queued, try again after `retry_after`
    └── PermanentDelivery  the destination is gone or forbidden; do not retry
        ├── UserUnreachable  a user's direct messages: gone, deactivated or blocking the bot
        └── ReaderGone       a follow's reader left the follow's team: this alert only
"""

from __future__ import annotations


class PeacewatchError(Exception):
    """Base of every error peacewatch raises on purpose."""


class ConfigError(PeacewatchError):
    """Settings or a config file are wrong; the message says which field and why."""


class InputError(PeacewatchError):
    """User input is wrong; the message says what and where."""


class QuerySyntaxError(InputError):
    """A query that does not parse, with a 1-based line and column."""

    def __init__(self, message: str, column: int, line: int = 1) -> None:
        super().__init__(f"{line}:{column}: {message}")
        self.message = message
        self.column = column
        self.line = line


class FeedError(PeacewatchError):
    """A feed could not be fetched or parsed."""


class UrlRefused(FeedError):
    """The URL, its scheme, or the address it resolves to is not allowed."""


class FetchTimeout(FeedError):
    """The whole fetch took longer than its deadline."""


class TooLarge(FeedError):
    """The body, or its decompressed size, went over the cap."""


class HttpStatusError(FeedError):
    """The server answered with an error status."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.url = url


class ParseError(FeedError):
    """The fetched bytes are not a feed (no entries could be read)."""


class StoreError(PeacewatchError):
    """Redis could not be reached or answered with an error."""


class DeliveryError(PeacewatchError):
    """A sink could not deliver an alert."""


class RetryLater(DeliveryError):
    """A transient failure: the alert stays queued and is tried again later."""

    def __init__(self, message: str, retry_after: float = 5.0, counts: bool = True) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.counts = counts
        """False for our own pacing: waiting for a slot is not a failed attempt."""


class PermanentDelivery(DeliveryError):
    """The destination is gone or forbids us; retrying will not help."""


class UserUnreachable(PermanentDelivery):
    """A user's direct messages cannot be delivered, and will not be until the user does
    something (a deleted or deactivated account, one that blocks the bot or takes no direct
    messages): not an outage of the platform; the user's follows are paused."""


class ReaderGone(PermanentDelivery):
    """A follow's direct message whose reader is no longer a member of the follow's team (left
    or removed from the server or workspace, a deactivated account). Their follows of that team
    are gone; this alert is set aside as a dead letter. Unlike ``UserUnreachable`` it says
    nothing about the destination: the same direct messages carry the reader's follows of other
    teams, so they are neither paused nor counted as failing."""

    REASON = "reader left the team"
    """How the dead letter's reason starts."""
