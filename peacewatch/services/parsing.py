"""Command text to values: durations (7d, 24h), channel tokens, local times and options."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from peacewatch.errors import InputError

MAX_DURATION = timedelta(days=365)
_DURATION = re.compile(r"^\s*(\d{1,6})\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|weeks?)\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SLACK_ESCAPED = re.compile(r"^<#([A-Z0-9]{2,32})(?:\|[^>]*)?>$")
_DISCORD_MENTION = re.compile(r"^<#(\d{5,25})>$")
_SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")
_DISCORD_ID = re.compile(r"^\d{5,25}$")
_DISCORD_WEBHOOK = re.compile(
    r"^https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api(?:/v\d+)?/webhooks/\d{5,25}/[\w-]{20,100}$"
)
_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.h]?([0-5]\d)$")
_QUOTES = "\"'“”„‟«»"
CHANNEL_HINT = (
    "Name the channel by its id: pick it from the channel menu (it arrives as <#C0123ABCD>), "
    "or type slack:C0123ABCD or discord:112233445566778899."
)


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``24h``, ``7d``, ``2w`` (also ``2 hours``) to a timedelta.

    Raises InputError for anything else, for zero, and for more than a year."""
    found = _DURATION.match(text.lower())
    if not found:
        raise InputError(f"{text.strip()[:40]!r} is not a duration; write e.g. 30m, 2h, 7d or 2w")
    amount = int(found.group(1))
    seconds = amount * _UNIT_SECONDS[found.group(2)[0]]
    if amount == 0:
        raise InputError("a duration must be longer than zero")
    if seconds > MAX_DURATION.total_seconds():
        raise InputError("a duration can be at most 365 days")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The short form of a duration: ``7d``, ``2h``, ``90m``."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(1, seconds // 60)}m"


def is_channel_token(text: str) -> bool:
    """Whether a word of a command is meant as a channel (even a malformed one, such as a
    misspelt platform: ``slak:C0123ABCD``, which must not end up in the query)."""
    if text.startswith(("<#", "#", "slack:", "discord:", "discordhook:")):
        return True
    platform, sep, target = text.partition(":")
    return bool(sep and target) and bool(
        difflib.get_close_matches(platform.lower(), _PLATFORMS, n=1, cutoff=0.7)
    )


_PLATFORMS = ("slack", "discord", "discordhook")


def parse_channel(text: str, platform: str) -> str:
    """A channel argument to a destination string (``slack:C0123``, ``discord:1122...``).

    Accepts ``slack:C123``, ``discord:123``, Slack's ``<#C123|name>`` and ``<#C123>``, and
    Discord's ``<#123>`` (the caller's ``platform`` says which). Raises InputError for a bare
    ``#name`` (its id is needed) and for anything else."""
    text = text.strip()
    escaped = _SLACK_ESCAPED.match(text) or _DISCORD_MENTION.match(text)
    if escaped:
        target = escaped.group(1)
        if platform == "discord" and not _DISCORD_ID.match(target):
            raise InputError(f"{text[:60]!r} is not a Discord channel. {CHANNEL_HINT}")
        if platform not in ("slack", "discord"):
            platform = "discord" if _DISCORD_ID.match(target) else "slack"
        return f"{platform}:{target}"
    if text.startswith("#"):
        raise InputError(f"{text[:60]!r} names a channel without its id. {CHANNEL_HINT}")
    hook = text.removeprefix("discordhook:").strip("<>")
    if _DISCORD_WEBHOOK.match(hook):
        return f"discordhook:{hook}"
    name, sep, target = text.partition(":")
    if sep and name.lower() == "slack" and _SLACK_ID.match(target):
        return f"slack:{target}"
    if sep and name.lower() == "discord" and _DISCORD_ID.match(target):
        return f"discord:{target}"
    raise InputError(f"{text[:60]!r} is not a channel. {CHANNEL_HINT}")


def show_destination(destination: str) -> str:
    """A destination as it may be shown in a channel: a webhook's secret token is masked."""
    if destination.startswith("discordhook:") or "/webhooks/" in destination:
        head, _, _token = destination.rpartition("/")
        return f"{head}/…"
    return destination


def parse_clock(text: str) -> time:
    """``22:00``, ``7:30``, ``0730`` to a local time of day; InputError otherwise."""
    found = _CLOCK.match(text.strip().lower())
    if not found:
        raise InputError(
            f"{text.strip()[:20]!r} is not a time of day; write it as HH:MM, e.g. 22:00"
        )
    return time(int(found.group(1)), int(found.group(2)))


def parse_zone(text: str) -> ZoneInfo:
    """An IANA time zone name (``Europe/Kyiv``, ``UTC``); InputError when it is unknown."""
    name = text.strip()
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        raise InputError(f"{name[:64]!r} is not a time zone; write e.g. Europe/Kyiv or UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InputError(
            f"unknown time zone {name[:64]!r}; write an IANA name such as Europe/Kyiv, "
            "Europe/Brussels, America/New_York or UTC"
        ) from None


def unquote(text: str) -> str:
    """``"Witkoff Dmitriev"`` to ``Witkoff Dmitriev`` (straight or curly quotes)."""
    text = text.strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        return text[1:-1].strip()
    return text


@dataclass(frozen=True, slots=True)
class CommandText:
    """A command split into its words, with the raw text after each word kept verbatim.

    Queries keep their quotes and parentheses, so the rest of a line is taken as written
    (``rest(2)``) rather than re-joined from words."""

    text: str
    words: tuple[str, ...]
    starts: tuple[int, ...] = field(repr=False)

    @classmethod
    def of(cls, text: str) -> CommandText:
        spans = [(m.group(0), m.start()) for m in re.finditer(r"\S+", text)]
        return cls(text, tuple(w for w, _ in spans), tuple(s for _, s in spans))

    def word(self, index: int) -> str:
        return self.words[index] if index < len(self.words) else ""

    def rest(self, index: int) -> str:
        """The text from word ``index`` to the end, as typed."""
        if index >= len(self.words):
            return ""
        return self.text[self.starts[index] :].strip()


@dataclass(frozen=True, slots=True)
class Options:
    """Trailing options pulled off a query: ``--since 7d``, ``--page 2``, a channel."""

    text: str
    """What is left (the query), stripped."""
    since: str | None = None
    page: int = 1
    channel: str | None = None


_OPTION = re.compile(r"(?:^|\s)--(since|page|period)(?:\s+|=)(\S+)\s*$")


def split_options(text: str, *, channel: bool = False) -> Options:
    """Pull ``--since X``, ``--page N`` and (when ``channel``) a trailing channel token off the
    end of ``text``, in any order. Raises InputError for a bad page number."""
    since: str | None = None
    page = 1
    found_channel: str | None = None
    text = text.strip()
    for _ in range(6):  # at most a few trailing options; bounded so odd input cannot loop
        option = _OPTION.search(text)
        if option:
            name, value = option.group(1), option.group(2)
            if name in ("since", "period"):
                since = value
            else:
                if not value.isdigit() or not 1 <= int(value) <= 1000:
                    raise InputError(f"--page takes a number from 1 to 1000, not {value[:20]!r}")
                page = int(value)
            text = text[: option.start()].strip()
            continue
        last = text.rsplit(None, 1)
        if channel and last and is_channel_token(last[-1]) and found_channel is None:
            found_channel = last[-1]
            text = last[0].strip() if len(last) > 1 else ""
            continue
        break
    return Options(text, since, page, found_channel)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A command line parsed into the call it asks for."""

    action: str
    """``search``, ``rules_add``, ``feeds_remove``, ``admins``, ... (see ``parse_command``)."""
    arg: str = ""
    """The main free text: a query, a name, a URL, a quiet-hours spec, a zone, a user."""
    rule_id: str = ""
    channel: str | None = None
    since: str | None = None
    page: int = 1
    number: int | None = None
    search: str | None = None
    sub: str = ""
    """The sub-action where there is one (``admins add``: ``add``)."""


_PREFIXES = ("/peacewatch", "peacewatch")
_ALIASES = {"rule": "rules", "feed": "feeds", "admin": "admins", "tz": "timezone"}


def _usage(usage: str) -> InputError:
    return InputError(f"usage: /peacewatch {usage}")


def parse_command(text: str) -> Parsed:
    """Parse a command as typed. Raises InputError saying what to type instead.

    ``rules add ID QUERY [#channel]``: the query is everything between the id and an optional
    trailing channel, verbatim; ``--since``, ``--page`` are taken off the end of queries."""
    text = text.strip()
    for prefix in _PREFIXES:
        if text.lower().startswith(prefix + " ") or text.lower() == prefix:
            text = text[len(prefix) :].strip()
    cmd = CommandText.of(text)
    head = _ALIASES.get(cmd.word(0).lower(), cmd.word(0).lower())
    second = cmd.word(1).lower()
    if head in ("", "help", "?"):
        return Parsed("help")
    if head == "latest":
        n = cmd.word(1)
        if n and not n.isdigit():
            raise _usage("latest [n], e.g. latest 10")
        return Parsed("latest", number=int(n[:4]) if n else None)
    if head in ("search", "actor"):
        opts = split_options(cmd.rest(1))
        return Parsed(head, opts.text, since=opts.since, page=opts.page)
    if head == "digest":
        if second == "at":
            return Parsed("digest_at", cmd.rest(2))
        return Parsed("digest", since=cmd.word(1) or None)
    if head == "status":
        return Parsed("status")
    if head == "trend":
        opts = split_options(cmd.rest(1))
        words = opts.text.rsplit(None, 1)
        since = opts.since
        if since is None and len(words) == 2 and _DURATION.match(words[1].lower()):
            return Parsed("trend", words[0], since=words[1])
        return Parsed("trend", opts.text, since=since)
    if head in ("mute", "unmute", "test", "subscribe"):
        return _rules(head, cmd, 1)
    if head == "rules":
        return _rules(second or "list", cmd, 2)
    if head == "feeds":
        return _feeds(second or "list", cmd)
    if head in ("quiet", "timezone", "retention"):
        return Parsed(head, cmd.rest(1))
    if head == "admins":
        return Parsed("admins", cmd.rest(2), sub=second or "list")
    if head in ("follow", "unfollow", "follows"):
        return Parsed(head, cmd.rest(1))
    raise InputError(unknown_command(cmd.word(0), second))


COMMANDS = (
    "help", "latest", "search", "actor", "digest", "status", "trend", "mute", "unmute", "test",
    "subscribe", "rules", "feeds", "quiet", "timezone", "retention", "admins", "follow",
    "unfollow", "follows",
)  # fmt: skip
"""The first words of the commands (``_ALIASES`` adds a few spellings)."""
_GROUPS = ("rules", "feeds", "admins")


_MENTION = re.compile(r"^(?:<@!?([^|>\s]*)(?:\|[^>]*)?>|@(\S*))$")
"""A word that names a user: ``<@U0123|maria>`` (Slack), ``<@123>`` or ``<@!123>``
(Discord), or ``@`` and an id; what it holds must then be a ``_USER_ID``."""
_USER_ID = re.compile(r"^(?:[UW][A-Z0-9]{2,31}|\d{17,20})$")
"""A platform's user id: Slack's ``U``/``W`` and capitals or digits, Discord's 17–20 digits."""
USER_HINT = (
    "Name the user by a mention: pick them from the @ menu (Slack sends <@U0123ABCD>, "
    "Discord <@112233445566778899>)."
)


def split_user(text: str) -> tuple[str | None, str]:
    """A leading user mention of ``unfollow @user ID|all`` or ``follows @user``: (the user's
    id, the rest as typed), or (None, the text) when it does not start with one. A query never
    starts with ``@`` or ``<@``, so the two cannot be confused.

    Raises InputError for a leading ``@name`` or ``<@name>`` that holds no user id (a typed
    ``@maria`` is a display name the platform did not turn into a mention)."""
    words = text.strip().split(None, 1)
    found = _MENTION.match(words[0]) if words else None
    if found is None:
        return None, text.strip()
    user = found.group(1) if found.group(1) is not None else found.group(2)
    if not _USER_ID.match(user):
        raise InputError(f"{words[0][:40]!r} is not a user mention. {USER_HINT}")
    return user, words[1].strip() if len(words) > 1 else ""


def unknown_command(word: str, second: str = "") -> str:
    """Says the command is unknown, with the closest known one when there is one (the caller
    adds where the list of commands is)."""
    shown = word[:30]
    close = difflib.get_close_matches(word.lower(), COMMANDS, n=1, cutoff=0.6)
    if not close:
        return f"unknown command {shown!r}"
    guess = f"{close[0]} {second}" if close[0] in _GROUPS and second else close[0]
    return f"unknown command {shown!r}: did you mean {guess!r}?"


def _rules(sub: str, cmd: CommandText, at: int) -> Parsed:
    if sub == "list":
        opts = split_options(cmd.rest(at))
        return Parsed("rules_list", page=opts.page)
    if sub == "add":
        rule_id = cmd.word(at)
        opts = split_options(cmd.rest(at + 1), channel=True)
        if not rule_id or not opts.text:
            raise _usage("rules add ID QUERY [#channel], e.g. rules add witkoff Witkoff Dmitriev")
        return Parsed("rules_add", opts.text, rule_id=rule_id, channel=opts.channel)
    if sub == "test":
        opts = split_options(cmd.rest(at))
        return Parsed("rules_test", opts.text, since=opts.since, page=opts.page)
    if sub in ("remove", "delete", "rm", "unmute"):
        if not cmd.word(at):
            raise _usage(f"rules {sub} ID")
        return Parsed("rules_unmute" if sub == "unmute" else "rules_remove", rule_id=cmd.word(at))
    if sub == "mute":
        rule_id = cmd.word(at)
        rest = [w for w in cmd.words[at + 1 :] if w.lower() != "for"]
        if not rule_id or len(rest) > 1:
            raise _usage("mute ID [for 2h], e.g. mute witkoff-donbas for 2h")
        return Parsed("rules_mute", rule_id=rule_id, since=rest[0] if rest else None)
    if sub == "subscribe":
        if not cmd.word(at) or not cmd.word(at + 1) or cmd.word(at + 2):
            raise _usage("subscribe RULE #channel, e.g. subscribe witkoff slack:C0123ABCD")
        return Parsed("subscribe", rule_id=cmd.word(at), channel=cmd.word(at + 1))
    if sub == "suggest":
        if not cmd.word(at):
            raise _usage("rules suggest ID")
        return Parsed("rules_suggest", rule_id=cmd.word(at))
    raise _usage("rules add|list|remove|test|mute|unmute|suggest ...")


def _feeds(sub: str, cmd: CommandText) -> Parsed:
    if sub == "list":
        return Parsed("feeds_list", page=split_options(cmd.rest(2)).page)
    if sub == "add":
        rest = cmd.rest(2)
        if rest.startswith("--search"):
            text = unquote(rest.removeprefix("--search").lstrip(" ="))
            if not text:
                raise _usage('feeds add --search "Witkoff Dmitriev"')
            return Parsed("feeds_add", search=text)
        if rest.startswith("--catalogue"):  # the name is read by feeds_add
            if not rest.removeprefix("--catalogue").strip(" ="):
                raise _usage("feeds add --catalogue NAME (peacewatch sources list shows them)")
            return Parsed("feeds_add", rest)
        if not rest or len(cmd.words) > 3:
            raise _usage("feeds add URL, e.g. feeds add https://www.themoscowtimes.com/rss/news")
        return Parsed("feeds_add", rest)
    if sub in ("remove", "delete", "rm"):
        if not cmd.word(2):
            raise _usage("feeds remove ID (feeds list shows the ids)")
        return Parsed("feeds_remove", cmd.word(2))
    raise _usage("feeds add|list|remove ...")
