"""After the story assigner: match each placed article per team, build its alerts, queue them."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from peacewatch.errors import StoreError
from peacewatch.failpoints import failpoint
from peacewatch.models import (
    Alert,
    AlertKind,
    Article,
    Destination,
    Hit,
    Match,
    Severity,
    SourceRef,
)
from peacewatch.pipeline.engines import EngineProvider
from peacewatch.pipeline.follow_scope import FeedScope
from peacewatch.pipeline.headlines import NOTE_KEY, headline_note
from peacewatch.pipeline.llm import ExtractiveSummariser, LlmSummariser, Summariser
from peacewatch.pipeline.merges import StoryMerges, note_claim
from peacewatch.pipeline.render import FOLLOWS_KEY
from peacewatch.pipeline.severity import severity_of
from peacewatch.pipeline.story_summary import summarise_story, what_it_adds
from peacewatch.pipeline.wording import surface_words
from peacewatch.rules.engine import RuleEngine
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.gates import AlertGate
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.codec import alert_to_json
from peacewatch.store.follows import dm_user, is_follow_rule
from peacewatch.store.ingest import IngestStream
from peacewatch.store.teams import TeamStore
from peacewatch.stories.assigner import Placed
from peacewatch.stories.memory import StoryAssignment

log = logging.getLogger(__name__)
STORY_TTL = 14 * 86400
MAX_EARLIER = 20
"""Earlier articles of a story read to summarise it or to tell what a follow-up adds."""


@dataclass(slots=True)
class IngestResult:
    story: StoryAssignment
    matches: list[Match] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


def alert_id(team_id: str, destination: Destination, article_id: str) -> str:
    """Idempotency key of an alert: one per team, destination and article."""
    basis = f"{team_id}\x00{destination}\x00{article_id}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


@dataclass(slots=True)
class PipelineStats:
    articles: int = 0
    matched: int = 0
    alerts: int = 0
    failed: int = 0


class Pipeline:
    """Matching and alerting of placed articles, in the assigner's order. Every step may run
    again for the same article (a batch is handed on again after a crash): alert ids, the
    story claims and the dispatcher's delivery records make repeats harmless."""

    def __init__(
        self,
        redis: aioredis.Redis,
        articles: ArticleStore,
        engines: EngineProvider,
        teams: TeamStore,
        queue: AlertQueue,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        gates: Sequence[AlertGate] = (),
        summariser: Summariser | None = None,
    ) -> None:
        self.summariser: Summariser = summariser or ExtractiveSummariser()
        """Single-article summaries (an LLM when configured); stories are always extractive."""
        self._redis = redis
        self.gates = list(gates)
        self._articles = articles
        self._engines = engines
        self._teams = teams
        self._queue = queue
        self._clock = clock
        self._ingest = IngestStream(redis)
        self.stats = PipelineStats()
        self.merges = StoryMerges(redis, queue)
        self.listeners: list[Callable[[IngestResult], None]] = []
        """Called with each article's result (the demo and tests watch alerts go by)."""

    async def handle(self, batch: Sequence[Placed]) -> None:
        """Match and alert every article of a placed batch, in order. A Redis failure stops
        the batch (the assigner hands it on again); any other failure of one article is logged
        and the rest go on."""
        live = {merge for placed in batch for merge in placed.merges}
        for survivor, absorbed in await self.merges.pending():
            if (survivor, absorbed) not in live:  # recorded before a crash, not yet carried
                await self.merges.merge(survivor, absorbed, self._clock())
        for placed in batch:
            for survivor, absorbed in placed.merges:
                await self.merges.merge(survivor, absorbed, self._clock())
            try:
                result = await self.process(
                    placed.article, placed.story, placed.alerts,
                    follows_only=placed.resight,
                )  # fmt: skip
            except (RedisError, StoreError, OSError):
                raise
            except Exception:
                self.stats.failed += 1
                log.exception(
                    "article %s: matching or alerting failed", placed.article.id,
                    extra={"article_id": placed.article.id, "story_id": placed.story.story_id,
                           "feed_id": placed.article.feed_id},
                )  # fmt: skip
                continue
            self.stats.articles += 1
            self.stats.matched += int(bool(result.matches))
            self.stats.alerts += len(result.alerts)
            for listener in self.listeners:
                listener(result)

    async def process(
        self,
        article: Article,
        story: StoryAssignment,
        alerts_enabled: bool = True,
        *,
        follows_only: bool = False,
    ) -> IngestResult:
        """Match one placed article and queue its alerts (only when ``alerts_enabled``: a
        feed's first poll and old items are recorded without alerting). ``follows_only``: the
        article came again from a feed new to it, which may bring it into a personal follow's
        scope; team rules had their turn at its first sighting (an alert already made for a
        follow has the same id, so it is not sent twice)."""
        engine = await self._engines.engine()
        matches = engine.match(article)
        result = IngestResult(story=story, matches=matches)
        if not alerts_enabled:
            return result
        now = self._clock()
        grouped: dict[tuple[str, Destination], list[tuple[Match, RuleSpec]]] = {}
        mutes: dict[str, dict[str, float]] = {}
        scope = FeedScope(self._redis)
        carried: list[str] | None = None
        for match in matches:
            spec = engine.rule_spec(match.team_id, match.rule_id)
            if spec is None or (follows_only and not is_follow_rule(match.rule_id)):
                continue
            if is_follow_rule(match.rule_id):
                if carried is None:  # every feed that carried it, not only the first
                    carried = await self._ingest.carried_by(article)
                if not await scope.receives_any(match.team_id, carried):
                    continue  # a personal follow reads its own team's feeds only
            if is_follow_rule(match.rule_id) and await self._paused(spec):
                continue  # its user cannot get direct messages until they follow again
            if match.team_id not in mutes:
                mutes[match.team_id] = await self._teams.muted_until(match.team_id)
            if mutes[match.team_id].get(match.rule_id, 0.0) > now.timestamp():
                continue
            if len(story.outlets) < spec.min_sources:
                await self._wait_for_sources(match, story)
                continue
            await self._redis.srem(
                keys.story_waiting_rules(story.story_id), f"{match.team_id} {match.rule_id}"
            )
            for destination in spec.destinations():
                grouped.setdefault((match.team_id, destination), []).append((match, spec))
        await self._queue_alerts(grouped, article, story, now, result)
        if not follows_only:
            await self._release_waiting(engine, article, story, now, result)
        return result

    async def _paused(self, spec: RuleSpec) -> bool:
        """Whether every destination of a follow is a paused direct message."""
        return all([await self._queue.paused(str(d)) is not None for d in spec.destinations()])

    async def _wait_for_sources(self, match: Match, story: StoryAssignment) -> None:
        """Keep a match until its story has the rule's ``min_sources`` outlets."""
        pending = keys.story_pending(match.team_id, match.rule_id, story.story_id)
        waiting = keys.story_waiting_rules(story.story_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.sadd(pending, match.article_id)
            pipe.expire(pending, STORY_TTL)
            pipe.sadd(waiting, f"{match.team_id} {match.rule_id}")
            pipe.expire(waiting, STORY_TTL)
            await pipe.execute()

    async def _release_waiting(
        self,
        engine: RuleEngine,
        article: Article,
        story: StoryAssignment,
        now: datetime,
        result: IngestResult,
    ) -> None:
        """A new outlet in a story may bring a waiting rule to its ``min_sources``, even when
        the new article does not itself match that rule: alert with the rule's own article."""
        if story.size < 2:
            return
        waiting = await self._redis.smembers(keys.story_waiting_rules(story.story_id))
        for entry in sorted(waiting):
            team_id, _, rule_id = entry.partition(" ")
            spec = engine.rule_spec(team_id, rule_id)
            if spec is None or len(story.outlets) < spec.min_sources:
                continue
            ids = await self._redis.smembers(keys.story_pending(team_id, rule_id, story.story_id))
            held = await self._articles.get_many(sorted(ids))
            await self._redis.srem(keys.story_waiting_rules(story.story_id), entry)
            for earlier in sorted(held, key=lambda a: a.published, reverse=True):
                found = [m for m in engine.match(earlier) if (m.team_id, m.rule_id) == (
                    team_id, rule_id)]  # fmt: skip
                if found:
                    grouped = {(team_id, d): [(found[0], spec)] for d in spec.destinations()}
                    await self._queue_alerts(grouped, earlier, story, now, result)
                    break

    async def _queue_alerts(
        self,
        grouped: dict[tuple[str, Destination], list[tuple[Match, RuleSpec]]],
        article: Article,
        story: StoryAssignment,
        now: datetime,
        result: IngestResult,
    ) -> None:
        for (team_id, destination), items in grouped.items():
            if await self._redis.exists(
                keys.story_muted(team_id, str(destination), story.story_id)
            ):
                continue
            alert = await self._make_alert(team_id, destination, items, article, story, now)
            if alert is None:
                continue
            await self._teams.record_alert(
                team_id, alert_to_json(alert), now, alert.alert_id, dm_user(destination) is None
            )
            result.alerts.append(alert)
            if await self._admitted(alert, items[0][1]):
                failpoint("pipeline.before_enqueue")
                await self._queue.enqueue(alert)

    async def _admitted(self, alert: Alert, rule: RuleSpec) -> bool:
        for gate in self.gates:
            if not await gate.admit(alert, rule):
                return False
        return True

    async def _make_alert(
        self,
        team_id: str,
        destination: Destination,
        items: list[tuple[Match, RuleSpec]],
        article: Article,
        story: StoryAssignment,
        now: datetime,
    ) -> Alert | None:
        match = items[0][0]
        matched: list[str] = []
        hits: list[Hit] = []
        for m, _ in items:
            matched.extend(t for t in m.matched if t not in matched)
            hits.extend(m.hits)
        floor = max(
            (s.severity for _, s in items if s.severity), key=lambda s: s.rank, default=None
        )
        severity = severity_of(article, len(story.outlets), floor)
        this_alert = alert_id(team_id, destination, article.id)
        kind = AlertKind.NEW
        parent_alert = ""
        escalation = False
        sources = [self._source(article)]
        # Digest rules collect stories for later; they never make a thread to follow up in.
        if any(spec.digest == "none" for _, spec in items):
            claim_key = keys.story_alerted(team_id, str(destination), story.story_id)
            claim = f"{this_alert} {severity.value}"
            previous: Severity | None = None
            first = await self._redis.set(claim_key, claim, nx=True, ex=STORY_TTL)
            if first:
                await note_claim(self._redis, story.story_id, team_id, str(destination))
            if not first:
                owner, _, rest = (await self._redis.get(claim_key) or "").partition(" ")
                level, _, escalated_by = rest.partition(" ")
                first = owner == this_alert  # the same article again, after a failure
                parent_alert = owner
                previous = Severity(level) if level in Severity._value2member_map_ else None
            if not first:
                if story.duplicate_of is not None and article.source in story.outlets[:-1]:
                    return None  # a syndicated copy from an outlet already in the story
                kind = AlertKind.FOLLOWUP
                if escalated_by == this_alert:
                    escalation = True  # this article escalated the story (asked again)
                elif (
                    severity is Severity.HIGH and (previous or Severity.NORMAL) is not Severity.HIGH
                ):
                    # Escalation: a reply in the story's thread that is also shown in the
                    # channel; the thread stays the story's one place.
                    escalated = f"{owner} {Severity.HIGH.value} {this_alert}"
                    await self._redis.set(claim_key, escalated, ex=STORY_TTL)
                    escalation = True
        earlier: list[Article] = []
        if story.size > 1:
            # the members placed before this article (not those placed after it in the same
            # batch): a replayed batch builds the same alerts
            others = [m for m in story.recent if m != article.id][-MAX_EARLIER:]
            earlier = sorted(await self._articles.get_many(others), key=lambda a: a.published)
        outlets = list(story.outlets)
        if dm_user(destination) is not None:
            # a follow reads its own team's feeds: what only other teams' feeds carried is
            # left out of its sources, summary and outlet count
            earlier = await self._in_scope(team_id, earlier)
            outlets = list(dict.fromkeys([*(a.source for a in earlier), article.source]))
        # every source of the story, this article last (follow-ups show it as the newest)
        sources = [self._source(a) for a in earlier] + sources
        rules = [m.rule_id for m, _ in items]
        extra = {"rules": ",".join(rules)} if len(rules) > 1 else {}
        if follows := [spec.query for m, spec in items if is_follow_rule(m.rule_id)]:
            extra[FOLLOWS_KEY] = "\n".join(follows)  # a DM names its follows by query, not id
        if kind is AlertKind.FOLLOWUP and parent_alert:
            extra["parent_alert"] = parent_alert  # the dispatcher posts it after its parent
        if escalation:
            extra["broadcast"] = "1"  # shown in the channel as well as in the thread
            summary = summarise_story([*earlier, article], {article.id: hits})
        elif kind is AlertKind.FOLLOWUP:
            # a follow-up says what the new outlet adds; its own summary only if nothing is new
            if adds := what_it_adds(article, earlier):
                extra["adds"] = adds
                summary = ""
            else:
                summary = await self.summariser.summarise(article, hits)
        elif earlier:
            # a first alert that comes late (min_sources): the whole story
            summary = summarise_story([*earlier, article], {article.id: hits})
        else:
            summary = await self.summariser.summarise(article, hits)
        translator = self.summariser if isinstance(self.summariser, LlmSummariser) else None
        if note := await headline_note(article, translator):
            extra[NOTE_KEY] = note  # "English: ..." or "Original in Russian", under the headline
        return Alert(
            alert_id=this_alert,
            team_id=team_id,
            rule_id=match.rule_id,
            story_id=story.story_id,
            article_id=article.id,
            destination=destination,
            headline=article.title or article.summary[:120],
            summary=summary,
            link=article.link,
            matched=tuple(matched),
            matched_words=surface_words(hits, article),
            entities=match.entities,
            sources=tuple(sources),
            severity=severity,
            kind=kind,
            outlet_count=max(1, len(outlets)),
            outlets=tuple(outlets),
            created=now,
            lang=article.lang,
            extra=extra,
        )

    async def _in_scope(self, team_id: str, articles: list[Article]) -> list[Article]:
        """The ``articles`` that a feed of ``team_id`` carried."""
        scope = FeedScope(self._redis)
        return [
            a for a in articles
            if await scope.receives_any(team_id, await self._ingest.carried_by(a))
        ]  # fmt: skip

    @staticmethod
    def _source(article: Article) -> SourceRef:
        return SourceRef(
            outlet=article.outlet or article.source,
            source=article.source,
            link=article.link,
            published=article.published,
            title=article.title,
        )
