"""The rule editor: a rule's form, its query checked as typed, a live backtest, and saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from peacewatch.errors import InputError, QuerySyntaxError
from peacewatch.rules.engine import validate_query
from peacewatch.rules.entities import builtin_dictionary
from peacewatch.rules.query import query_warnings
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services import parsing as p
from peacewatch.services.commands.base import (
    _RULE_ID,
    CMD,
    MAX_RULES,
    TREND_VERIFY,
    CommandBase,
    _answers,
)
from peacewatch.services.replies import Caller, Reply
from peacewatch.services.views import Backtest, QueryCheck, RuleEditor, RuleForm

PREVIEW_DAYS = 7
EXAMPLES = 3
DIGESTS = ("none", "hourly", "daily")
MIN_SOURCES = range(1, 101)


def form_problem(form: RuleForm) -> str | None:
    """What is wrong with a form apart from its query and channels (its rule id, outlets or
    digest), in words to show beside it; None when nothing is."""
    if not _RULE_ID.match(form.rule_id):
        return (
            f"{form.rule_id[:64]!r} cannot be a rule id: use letters, digits, '-', '_' or "
            "'.', up to 64 characters, starting with a letter or digit."
        )
    if form.min_sources not in MIN_SOURCES:
        return "The number of outlets must be a whole number from 1 to 100."
    if form.digest not in DIGESTS:
        return f"The digest must be one of {', '.join(DIGESTS)}."
    return None


class EditorCommands(CommandBase):
    """What a rule editor (Slack modal) asks of the service; saving is admin-only."""

    async def rule_form(self, caller: Caller, rule_id: str = "") -> RuleForm:
        """A saved rule's form, or a blank one posting to the caller's channel."""
        rule = await self._teams.rule(caller.team_id, rule_id) if rule_id else None
        if rule is None:
            return RuleForm(channels=(caller.channel,) if caller.channel else ())
        return RuleForm(
            rule.id, rule.query, tuple(rule.channels), rule.min_sources, rule.digest, True
        )

    async def no_such_rule(self, caller: Caller, rule_id: str) -> Reply:
        """The answer to editing a rule that does not exist: the team's rule ids."""
        return await self._no_rule(caller, rule_id)

    async def check_query(self, caller: Caller, query: str) -> QueryCheck:
        """Whether ``query`` parses with the team's dictionary; the error names its column."""
        if not query.strip():
            return QueryCheck(False, "Type a query, e.g. Witkoff AND Donbas", 0)
        dictionary = builtin_dictionary().extended(await self._entities(caller.team_id))
        try:
            validate_query(query, dictionary)
        except QuerySyntaxError as exc:
            return QueryCheck(False, exc.message, exc.column)
        except InputError as exc:
            return QueryCheck(False, str(exc), 0)
        warnings = tuple(f"column {w.column}: {w.message}" for w in query_warnings(query))
        return QueryCheck(True, warnings=warnings)

    async def backtest(self, caller: Caller, query: str, days: int = PREVIEW_DAYS) -> Backtest:
        """Articles ``query`` matches per day over the last ``days`` days (today included), with
        the newest three as examples. Raises QuerySyntaxError for a query that does not parse."""
        now = self._clock()
        first = (now - timedelta(days=days - 1)).date()
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        result = await self._history.search(
            query,
            start,
            keep=EXAMPLES,
            entities=await self._entities(caller.team_id),
            max_verify=TREND_VERIFY,
        )
        counts = {first + timedelta(days=i): 0 for i in range(days)}
        for _, published in result.hits:
            day = datetime.fromtimestamp(published, UTC).date()
            if day in counts:
                counts[day] += 1
        examples = tuple(
            (f.article.title or f.article.summary[:120], f.article.link) for f in result.found
        )
        return Backtest(tuple(counts.items()), result.total, result.exact, examples[:EXAMPLES])

    async def rule_editor(self, caller: Caller, form: RuleForm) -> RuleEditor:
        """The editor for ``form``: its query checked and, when it parses, backtested."""
        check = await self.check_query(caller, form.query)
        backtest = await self.backtest(caller, form.query) if check.ok else None
        return RuleEditor(form, check, backtest, await self.is_admin(caller))

    @_answers
    async def save_rule(self, caller: Caller, form: RuleForm) -> Reply:
        """Save the rule of an editor; only an admin may, and nothing changes otherwise."""
        if (refused := await self._refuse(caller)) is not None:
            return refused
        if (problem := form_problem(form)) is not None:
            return Reply.fail(problem)
        check = await self.check_query(caller, form.query)
        if not check.ok:
            where = f" (column {check.column})" if check.column else ""
            return Reply.fail(f"The query does not parse{where}: {check.error}")
        if not form.channels and form.digest not in DIGESTS[1:]:
            return Reply.fail("Pick at least one channel for the rule to post to.")
        channels = []
        for channel in form.channels:
            destination = await self._destination(channel, caller)
            if (invalid := await self._check_destination(destination, caller)) is not None:
                return Reply.fail(invalid)
            channels.append(destination)
        existing = await self._teams.rule(caller.team_id, form.rule_id)
        if existing is None and len(await self._teams.rules(caller.team_id)) >= MAX_RULES:
            return Reply.fail(f"This team already has {MAX_RULES} rules.", f"{CMD} rules remove ID")
        data = existing.model_dump() if existing is not None else {}
        data |= {
            "id": form.rule_id,
            "query": form.query.strip(),
            "channels": channels,
            "min_sources": form.min_sources,
            "digest": form.digest,
        }
        try:
            rule = RuleSpec.model_validate(data)
        except ValueError as exc:
            return Reply.fail(f"The rule is not valid: {exc}")
        await self._teams.put_rule(caller.team_id, rule)
        shown = ", ".join(map(p.show_destination, rule.channels)) or f"{rule.digest} digest"
        return Reply(
            title=f"{'Updated' if existing else 'Added'} rule {rule.id}",
            text=f"`{rule.query}` → {shown}",
            ephemeral=True,
        )
