"""`peacewatch config check`: every problem of a run config file, each at file:line:col.

The same file that ``peacewatch run --config`` loads (``peacewatch.config.AppConfig``) is checked
as a whole, and every problem is reported rather than the first:

- YAML that does not parse, top-level keys that do not exist, settings out of range;
- feeds: bad fields, two feeds with one id or one URL;
- entities and rules: bad fields, duplicate rule ids, queries that do not parse or name an
  entity that does not exist (at the column of the offending term), and warnings for
  look-alikes of operators (``NEAR5``, lower-case ``and``);
- destinations: an unknown platform (``slak:C0123``), a channel named where its id is needed
  (``slack:#general``), an id of the wrong shape, and a rule with no channels whose alerts would
  go nowhere (a rule with a digest but no channels is fine). ``peacewatch run --config``
  refuses a file with any of these errors (``peacewatch.config.load_config``), and at start
  refuses a destination on a platform it has no credentials for (``peacewatch.startup``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from peacewatch.config import AppConfig
from peacewatch.errors import InputError, QuerySyntaxError
from peacewatch.rules.engine import RuleEngine, TeamRuleSet, validate_query
from peacewatch.rules.entities import Entity, EntityDictionary, builtin_dictionary
from peacewatch.rules.query import query_warnings
from peacewatch.rules.rulefile import EntitySpec, Located, RuleSpec, node_at, query_position, where
from peacewatch.rules.yamlload import compose_load
from peacewatch.yamlerrors import yaml_error_at

PLATFORMS = frozenset({"console", "discord", "discordhook", "slack"})
"""Platforms that ``peacewatch run`` has a sink for."""
_SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")
_DISCORD_ID = re.compile(r"^\d{5,25}$")
_DISCORD_WEBHOOK = re.compile(
    r"^https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api(?:/v\d+)?/webhooks/\d{5,25}/[\w-]{20,100}$"
)
_ID_HINT = {
    "slack": "a Slack channel id such as slack:C0123ABCD (in Slack: the channel's name, then"
    " About, then Channel ID at the bottom)",
    "discord": "a Discord channel id such as discord:112233445566778899 (in Discord, with"
    " developer mode on: right-click the channel, Copy Channel ID)",
}


class _Checker:
    def __init__(
        self,
        name: str,
        root: yaml.Node | None,
        served: frozenset[str] | None,
        named: frozenset[str] = frozenset(),
        text: str = "",
    ) -> None:
        self.name = name
        self.root = root
        self.text = text
        """The file's text, where a query's error is placed (libyaml marks hold none)."""
        self.served = served
        self.named = named
        """Platforms whose channels may be given by ``#name`` (looked up at start)."""
        self.found: list[Located] = []

    def error(
        self, loc: tuple[int | str, ...], message: str, key: bool = False, warning: bool = False
    ) -> None:
        line, col = where(node_at(self.root, loc, key_node=key))
        self.found.append(Located(self.name, line, col, message, warning))

    def validation(self, exc: ValidationError, base: tuple[int | str, ...] = ()) -> None:
        for err in exc.errors():
            loc = (*base, *err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            self.error(loc, f"{_dotted(loc)}: {message}", key=err["type"] == "extra_forbidden")


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "config"


def served_platforms() -> frozenset[str] | None:
    """The platforms ``peacewatch run`` would have a sink for with this environment's settings
    (console always; Slack and Discord with their credentials); None if the settings are bad."""
    from peacewatch.settings import Settings

    try:
        settings = Settings()
    except ValidationError:
        return None
    served = {"console"}
    if settings.slack_bot_token or (settings.slack_client_id and settings.slack_client_secret):
        served.add("slack")
    served.add("discordhook")  # a webhook URL is its own credential
    if settings.discord_token:
        served.add("discord")
    return frozenset(served)


def check_config(path: Path, served: frozenset[str] | None = None) -> list[Located]:
    """Every error and warning of the config file at ``path`` (``Located.warning`` tells which),
    in file order. An empty list means ``peacewatch run --config`` will accept the file.

    A destination on a platform outside ``served`` (see ``served_platforms``) gets a warning:
    run with this environment, its alerts would be dead-lettered. The environment of the check
    need not be the one the bot runs in, so it is not an error."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Located(name, 1, 1, f"cannot read: {exc}")]
    return check_config_text(text, name, served)


def report(paths: Sequence[Path], out: Callable[[str], None], note: Callable[[str], None]) -> bool:
    """Check each file, print every problem with ``out`` and a summary of each clean file with
    ``note``. Returns whether any file has an error (warnings alone do not count)."""
    failed = False
    served = served_platforms()
    for path in paths:
        found = check_config(path, served)
        for problem in found:
            out(str(problem))
        errors = sum(not f.warning for f in found)
        failed = failed or errors > 0
        if not errors:
            warned = len(found)
            note(f"{path}: OK" + (f" ({warned} warning{'s' * (warned != 1)})" if warned else ""))
    return failed


def check_config_text(
    text: str,
    name: str = "<config>",
    served: frozenset[str] | None = None,
    named: frozenset[str] = frozenset(),
) -> list[Located]:
    """Like ``check_config`` for the text of a config file. A channel name (``slack:#news``)
    on a platform in ``named`` is accepted: ``peacewatch run`` looks it up when it starts."""
    try:
        root, data = compose_load(text)
    except yaml.YAMLError as exc:
        return [Located(name, *yaml_error_at(exc, text))]
    checker = _Checker(name, root, served, named, text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return [Located(name, 1, 1, "expected a mapping of settings, feeds and rules")]
    try:
        AppConfig.model_validate(data)
    except ValidationError as exc:
        checker.validation(exc)
    _check_feeds(checker, data.get("feeds"))
    entities = _valid_entities(data.get("entities"))
    _check_rules(checker, data.get("rules"), entities)
    return sorted(set(checker.found), key=lambda f: (f.line, f.column, f.warning, f.message))


def _valid_entities(raw: object) -> list[Entity]:
    out = []
    for item in raw if isinstance(raw, list) else []:
        try:
            out.append(EntitySpec.model_validate(item).to_entity())
        except ValidationError:
            continue  # reported by the whole-file validation
    return out


def _check_feeds(checker: _Checker, raw: object) -> None:
    seen_ids: dict[str, int] = {}
    seen_urls: dict[str, int] = {}
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, dict):
            continue
        feed_id, url = item.get("id"), item.get("url")
        if isinstance(feed_id, str):
            if feed_id in seen_ids:
                first = seen_ids[feed_id]
                checker.error(
                    ("feeds", index, "id"), f"feed id {feed_id!r} is used by feeds[{first}]"
                )
            seen_ids.setdefault(feed_id, index)
        if isinstance(url, str):
            if url in seen_urls:
                first = seen_urls[url]
                checker.error(("feeds", index, "url"), f"feeds[{first}] has the same URL")
            seen_urls.setdefault(url, index)


def _check_rules(checker: _Checker, raw: object, entities: list[Entity]) -> None:
    dictionary = builtin_dictionary().extended(entities)
    seen: dict[str, int] = {}
    valid: list[tuple[int, RuleSpec]] = []
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        loc: tuple[int | str, ...] = ("rules", index)
        if not isinstance(item, dict):
            continue  # reported by the whole-file validation
        _check_destinations(checker, loc, item.get("channels"))
        rule_id, query = str(item.get("id", f"rules[{index}]")), item.get("query")
        # the query is checked even when another field of the rule is wrong
        query_ok = isinstance(query, str) and _check_query(checker, loc, rule_id, query, dictionary)
        try:
            rule = RuleSpec.model_validate(item)
        except ValidationError:
            continue  # reported by the whole-file validation
        if rule.id in seen:
            checker.error((*loc, "id"), f"rule id {rule.id!r} is used by rules[{seen[rule.id]}]")
            continue
        seen[rule.id] = index
        if not rule.channels and rule.digest == "none":
            checker.error(
                (*loc, "channels") if "channels" in item else loc,
                f"rule {rule.id!r} has no channels, so its alerts would go nowhere: add"
                ' channels (e.g. channels: ["slack:C0123ABCD"]) or a digest (digest: daily)',
            )
        if query_ok:
            valid.append((index, rule))
    # anything compiling finds that checking each query alone could not
    engine = RuleEngine.compile([TeamRuleSet("config", [r for _, r in valid], entities)])
    where_of = {rule.id: index for index, rule in valid}
    for problem in engine.errors:
        index = where_of[problem.rule_id]
        checker.error(("rules", index, "query"), f"rule {problem.rule_id!r}: {problem.message}")


def _check_query(
    checker: _Checker,
    loc: tuple[int | str, ...],
    rule_id: str,
    query: str,
    dictionary: EntityDictionary,
) -> bool:
    node = node_at(checker.root, (*loc, "query"))
    try:
        validate_query(query, dictionary)
    except QuerySyntaxError as exc:
        line, col = query_position(node, exc, checker.text)
        checker.found.append(Located(checker.name, line, col, f"rule {rule_id!r}: {exc.message}"))
        return False
    except InputError as exc:
        checker.error((*loc, "query"), f"rule {rule_id!r}: {exc}")
        return False
    for warning in query_warnings(query):
        line, col = query_position(node, warning, checker.text)
        message = f"rule {rule_id!r}: {warning.message}"
        checker.found.append(Located(checker.name, line, col, message, warning=True))
    return True


def _check_destinations(checker: _Checker, loc: tuple[int | str, ...], raw: object) -> None:
    for index, text in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(text, str):
            continue
        platform, _, target = text.partition(":")
        named = platform.strip().lower() in checker.named and target.strip().startswith("#")
        problem = None if named else destination_problem(text)
        if problem is not None:
            checker.error((*loc, "channels", index), problem)
            continue
        platform = text.partition(":")[0].strip().lower()
        if checker.served is not None and platform in PLATFORMS - checker.served:
            message = unserved_message(text, platform) + ", or it refuses to start"
            checker.error((*loc, "channels", index), message, warning=True)


def unserved_message(text: str, platform: str) -> str:
    """Why nothing in this environment posts to destination ``text`` on ``platform``."""
    needs = {
        "slack": "SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)",
        "discord": "DISCORD_TOKEN",
    }.get(platform, "a sink for it")
    return f"nothing in this environment can post to {text!r}: peacewatch run needs {needs}"


def destination_problem(text: str) -> str | None:
    """Why no sink of ``peacewatch run`` could deliver to the destination ``text``, or None."""
    platform, sep, target = text.partition(":")
    platform, target = platform.strip().lower(), target.strip()
    if not sep or not platform or not target:
        return None  # the schema reports it: a destination must look like platform:channel
    if platform not in PLATFORMS:
        close = difflib.get_close_matches(platform, sorted(PLATFORMS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (
            f"unknown platform {platform!r} in {text!r}: {hint}"
            f"a destination starts with one of {', '.join(sorted(PLATFORMS))}"
        )
    if platform in _ID_HINT:
        pattern = _SLACK_ID if platform == "slack" else _DISCORD_ID
        if pattern.match(target):
            return None
        if target.startswith("#"):
            return f"{text!r} names a channel, but alerts need its id: use {_ID_HINT[platform]}"
        return f"{target!r} is not a {platform.title()} channel id: use {_ID_HINT[platform]}"
    if platform == "discordhook" and not _DISCORD_WEBHOOK.match(target):
        return (
            f"{text!r} is not a Discord webhook URL (discordhook:https://discord.com/api/"
            "webhooks/ID/TOKEN)"
        )
    return None
