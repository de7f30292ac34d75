"""``rules suggest ID``: a refinement of a rule learned from alerts marked not relevant.

The words that appear in the rule's dismissed alerts' articles and not in its kept ones are
tried as ``-word`` exclusions; each is backtested with the real rule engine on those articles,
and the one that removes the most dismissed alerts while losing the fewest kept ones is
proposed with its figures.
"""

from __future__ import annotations

from datetime import timedelta

from peacewatch.errors import QuerySyntaxError
from peacewatch.models import Alert, Article
from peacewatch.pipeline.summarise import clip
from peacewatch.rules.query import parse, terms
from peacewatch.services.commands.base import CMD, CommandBase, _answers, _item
from peacewatch.services.commands.registry import Command
from peacewatch.services.replies import Caller, Reply
from peacewatch.store.codec import alert_from_json
from peacewatch.store.history import tokens_of

LOOKBACK = timedelta(days=90)
MAX_ALERTS = 5000
MAX_DISMISSED = 500
CANDIDATES = 8
"""Words backtested with the engine (ranked first by how they split the articles)."""
MIN_WORD = 3


def _words(article: Article) -> set[str]:
    return {
        w for w in tokens_of(article) if ":" not in w and len(w) >= MIN_WORD and not w.isdigit()
    }


class SuggestCommands(CommandBase):
    """Rule refinements from the team's feedback."""

    async def _rule_articles(
        self, caller: Caller, rule_id: str
    ) -> tuple[list[Article], list[Article]]:
        """(dismissed, kept) articles of the rule's alerts over ``LOOKBACK``."""
        now = self._clock()
        dismissed_ids = set(await self._teams.not_relevant(caller.team_id, MAX_DISMISSED))
        texts = await self._teams.alerts_between(caller.team_id, now - LOOKBACK, now, MAX_ALERTS)
        dismissed: dict[str, Alert] = {}
        kept: dict[str, Alert] = {}
        for alert in map(alert_from_json, texts):
            named = {alert.rule_id, *filter(None, alert.extra.get("rules", "").split(","))}
            if rule_id not in named:
                continue
            marked = alert.alert_id in dismissed_ids or alert.story_id in dismissed_ids
            (dismissed if marked else kept).setdefault(alert.article_id, alert)
        kept = {a: x for a, x in kept.items() if a not in dismissed}
        articles = await self._articles([*dismissed, *kept])
        return (
            [articles[a] for a in dismissed if a in articles],
            [articles[a] for a in kept if a in articles],
        )

    @_answers
    async def rules_suggest(self, caller: Caller, rule_id: str) -> Reply:
        rule = await self._teams.rule(caller.team_id, rule_id)
        if rule is None:
            return await self._no_rule(caller, rule_id)
        dismissed, kept = await self._rule_articles(caller, rule_id)
        if not dismissed:
            return Reply(
                title=f"No alert of {rule_id} was marked not relevant yet",
                text='Press "Not relevant" on alerts that should not have come; this command '
                "then proposes a refinement that would have kept them out.",
                ephemeral=True,
            )
        words_d = [_words(a) for a in dismissed]
        words_k = [_words(a) for a in kept]
        used = {w for t in terms(parse(rule.query)) for w in t.text.casefold().split()}
        counts: dict[str, tuple[int, int]] = {}
        for words in words_d:
            for w in words - used:
                d, k = counts.get(w, (0, 0))
                counts[w] = (d + 1, k)
        for w in counts:
            counts[w] = (counts[w][0], sum(1 for words in words_k if w in words))
        ranked = sorted(
            (w for w, (d, k) in counts.items() if d > k),
            key=lambda w: (-(counts[w][0] - counts[w][1]), counts[w][1], w),
        )[:CANDIDATES]
        entities = await self._entities(caller.team_id)
        tried: list[tuple[str, int, int]] = []
        for word in ranked:
            refined = f"({rule.query}) -{word}"
            try:
                engine = await self._history.engine_for(refined, entities)
            except QuerySyntaxError:
                continue
            removed = sum(1 for a in dismissed if not engine.match(a))
            lost = sum(1 for a in kept if not engine.match(a))
            if removed:
                tried.append((refined, removed, lost))
        if not tried:
            return Reply(
                title=f"No refinement found for {rule_id}",
                text=f"No word separates its {len(dismissed)} dismissed alerts from its "
                f"{len(kept)} kept ones. A tighter query (NEAR/5, title:) may help.",
                footer=f"Try one: {CMD} rules test QUERY --since 30d",
                ephemeral=True,
            )
        tried.sort(key=lambda t: (-(t[1] - t[2]), t[2], t[0]))
        best, removed, lost = tried[0]
        others = [
            _item(f"`{clip(q, 150)}`", meta=f"removes {r} of {len(dismissed)} · loses {k} of "
                  f"{len(kept)}")
            for q, r, k in tried[1:4]
        ]  # fmt: skip
        return Reply(
            title=f"Suggested refinement of {rule_id}",
            text=f"`{clip(best, 500)}`\nBacktest on this rule's alerts of the last "
            f"{LOOKBACK.days} days: it would have removed {removed} of the {len(dismissed)} "
            f"marked not relevant and lost {lost} of the {len(kept)} kept.",
            items=tuple(others),
            footer=f"Apply it: {CMD} rules add {rule_id} {clip(best, 300)}",
            ephemeral=True,
        )


COMMANDS = (Command("rules_suggest", lambda s, c, cmd: s.rules_suggest(c, cmd.rule_id)),)
