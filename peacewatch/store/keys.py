"""Every Redis key peacewatch uses, formed in one place under a versioned prefix."""

from __future__ import annotations

PREFIX = "pw:{v1}:"
"""Every key starts with it. The braces are a Redis Cluster hash tag: all keys hash to one slot,
so every multi-key command, transaction and script works on Redis Cluster as on one server."""
UNTAGGED_PREFIX = "pw:v1:"
"""The prefix of earlier versions, without the hash tag (``peacewatch.store.migrate`` renames
such keys once, on a standalone server)."""


def _k(*parts: str) -> str:
    return PREFIX + ":".join(parts)


# Feeds -----------------------------------------------------------------------------------------
def feeds_index() -> str:
    """Set of feed ids known to this deployment."""
    return _k("feeds")


def feed(feed_id: str) -> str:
    """Hash: url, title, team, interval."""
    return _k("feed", feed_id)


def feed_http(feed_id: str) -> str:
    """Hash: etag and last_modified of the last 200 answer."""
    return _k("feed", feed_id, "http")


def feed_health(feed_id: str) -> str:
    """Hash: last_poll, last_ok, last_error, last_error_at, items_seen, polls, failures."""
    return _k("feed", feed_id, "health")


def feed_lease(feed_id: str) -> str:
    """Poll lease, so that one replica polls a feed per interval."""
    return _k("feed", feed_id, "lease")


# Articles --------------------------------------------------------------------------------------
def seen(article_id: str) -> str:
    """First-sighting claim (SET NX with TTL): "queued", then the id of each feed that carried
    the article, one a line."""
    return _k("seen", article_id)


def resight_entries() -> str:
    """Set of ingest stream entry ids that carry an article again because a feed that had not
    carried it before did (matched again for personal follows only, then removed)."""
    return _k("ingest", "resights")


def article(article_id: str) -> str:
    """JSON of a stored article."""
    return _k("article", article_id)


def articles_by_time() -> str:
    """Sorted set: article id scored by published time (epoch seconds)."""
    return _k("articles", "by_time")


# Stories ---------------------------------------------------------------------------------------
STORY_STATE = "s3"
"""Version of the story state. ``s3``: written by the single story assigner, every member's
features kept (with its place in the assignment order) so that a successor rebuilds the same
index; an assigner reads and writes only its own version, and one of another version never
sees it."""


def story(story_id: str) -> str:
    """Hash of a story: ``first`` article, ``outlets`` (JSON) and ``m:ARTICLE`` member records."""
    return _k("story", STORY_STATE, story_id)


def story_members(story_id: str) -> str:
    """Sorted set of article ids of one story, scored by published time."""
    return _k("story", STORY_STATE, story_id, "articles")


def stories_active() -> str:
    """Sorted set of story ids scored by the publication time of their newest member (what a
    new assigner loads)."""
    return _k("stories", STORY_STATE, "active")


def story_alias(story_id: str) -> str:
    """The story a merged story became part of."""
    return _k("story", STORY_STATE, story_id, "merged")


def story_merges_pending() -> str:
    """Set of ``survivor absorbed`` merges whose chat side (threads, notes) is not done yet."""
    return _k("stories", STORY_STATE, "merges")


def ingest_stream() -> str:
    """Stream of new articles from every replica's watchers, read in order by the assigner."""
    return _k("ingest")


def assigner_lease() -> str:
    """Lease of the one story assigner (the holder's token, with a short expiry it renews)."""
    return _k("assigner", STORY_STATE, "lease")


def assigner_cursor() -> str:
    """The id of the last ingest stream entry the assigner finished (stories and alerts)."""
    return _k("assigner", STORY_STATE, "cursor")


# Teams and rules -------------------------------------------------------------------------------
def teams() -> str:
    return _k("teams")


def team(team_id: str) -> str:
    """Hash of team settings."""
    return _k("team", team_id)


def team_rules(team_id: str) -> str:
    """Hash rule id -> rule JSON."""
    return _k("team", team_id, "rules")


def team_entities(team_id: str) -> str:
    """Hash entity id -> entity JSON (the team's own additions)."""
    return _k("team", team_id, "entities")


def team_feeds(team_id: str) -> str:
    return _k("team", team_id, "feeds")


def team_admins(team_id: str) -> str:
    return _k("team", team_id, "admins")


def team_mutes(team_id: str) -> str:
    """Hash rule id -> mute-until epoch seconds."""
    return _k("team", team_id, "mutes")


def team_alerts(team_id: str) -> str:
    """Sorted set of alert JSON ids scored by time (history for latest/digest)."""
    return _k("team", team_id, "alerts")


def rules_version() -> str:
    """Counter bumped on every rule change, so matchers know to recompile."""
    return _k("rules", "version")


# Alerts ----------------------------------------------------------------------------------------
def alert_stream() -> str:
    return _k("alerts", "stream")


def alert_dead_letter() -> str:
    return _k("alerts", "dlq")


def delivered(alert_id: str) -> str:
    """Idempotency record of a delivered alert: the platform's message reference."""
    return _k("delivered", alert_id)


def story_thread(team_id: str, destination: str, story_id: str) -> str:
    """The message reference of a story's first alert in one destination (for follow-ups)."""
    return _k("thread", team_id, destination, story_id)


def channel_bucket(destination: str) -> str:
    """Token bucket of one destination's send rate."""
    return _k("rate", destination)


def delivery_failures() -> str:
    """Hash destination -> last failure text."""
    return _k("delivery", "failures")


def story_alerted(team_id: str, destination: str, story_id: str) -> str:
    """Claim that a story's first alert for one destination was queued (later ones follow up)."""
    return _k("alerted", team_id, destination, story_id)


def story_claims(story_id: str) -> str:
    """Set of ``team_id destination`` pairs (tab-separated) holding a claim on a story (what a
    merge of the story has to carry over)."""
    return _k("claims", story_id)


def story_pending(team_id: str, rule_id: str, story_id: str) -> str:
    """Matched articles of a story still waiting for the rule's ``min_sources`` outlets."""
    return _k("pending", team_id, rule_id, story_id)


def alert_record(alert_id: str) -> str:
    """JSON of an alert kept for the team's history (latest, digest)."""
    return _k("alert", alert_id)


def story_muted(team_id: str, destination: str, story_id: str) -> str:
    """A story muted in one destination ("Mute this story"): no more follow-ups there."""
    return _k("muted", team_id, destination, story_id)


# Slack -----------------------------------------------------------------------------------------
def slack_installation(enterprise_id: str, team_id: str) -> str:
    """JSON of the newest Slack installation of one workspace (``-`` for no enterprise)."""
    return _k("slack", "installation", enterprise_id or "-", team_id or "-")


def slack_bot(enterprise_id: str, team_id: str) -> str:
    """JSON of the newest Slack bot installation of one workspace (``-`` for no enterprise)."""
    return _k("slack", "bot", enterprise_id or "-", team_id or "-")


def slack_oauth_state(state: str) -> str:
    """A Slack OAuth state issued by the install page; consumed once, expires on its own."""
    return _k("slack", "oauth_state", state)


def slack_parent(ref: str) -> str:
    """JSON of the alert posted as a Slack message, so its follow-ups can update its count."""
    return _k("slack", "parent", ref)


def slack_pending_edits() -> str:
    """Hash of Slack messages whose stored state is newer than what the channel shows: the
    message reference to its team id, until the edit is accepted."""
    return _k("slack", "pending_edits")


# History index and team settings ---------------------------------------------------------------
def history_token(token: str) -> str:
    """Sorted set of article ids whose text holds one normalised word token, scored by time."""
    return _k("hist", "tok", token)


def history_vocab() -> str:
    """Sorted set (all scores 0) of every indexed token, for prefix lookups by ZRANGEBYLEX."""
    return _k("hist", "vocab")


def history_all() -> str:
    """Sorted set of every indexed article id scored by published time."""
    return _k("hist", "all")


def history_tmp(query_id: str, n: int) -> str:
    """Scratch set of one search (candidate sets combined on the server); expires by itself."""
    return _k("hist", "tmp", query_id, str(n))


def article_story(article_id: str) -> str:
    """String: the story an article was placed in and the article it copies, if any (written
    by the story index; ``"story_id copied_id"``)."""
    return _k("storyof", STORY_STATE, article_id)


def team_not_relevant(team_id: str) -> str:
    """List of alert ids a team marked "not relevant", newest first (capped)."""
    return _k("team", team_id, "not_relevant")


def quiet_held(team_id: str) -> str:
    """Sorted set of alert JSON held during a team's quiet hours, scored by release time."""
    return _k("team", team_id, "quiet_held")


def quiet_teams() -> str:
    """Set of team ids that may have alerts held for quiet hours."""
    return _k("quiet", "teams")


def digest_held(team_id: str, period: str) -> str:
    """Sorted set of alert JSON of ``hourly``/``daily`` digest rules, scored by creation time."""
    return _k("team", team_id, "digest", period)


def digest_teams() -> str:
    """Set of ``team_id period`` entries that may have alerts held for a digest."""
    return _k("digest", "teams")


def team_release_lock(team_id: str, what: str) -> str:
    """Short lock so that one replica at a time releases a team's held alerts."""
    return _k("team", team_id, "lock", what)


def delivery_attempts() -> str:
    """Hash stream message id -> failed delivery attempts (pacing waits do not count)."""
    return _k("delivery", "attempts")


def sending(alert_id: str) -> str:
    """Short lock held while one dispatcher posts an alert, so two never post it at once."""
    return _k("sending", alert_id)


def story_waiting_rules(story_id: str) -> str:
    """Set of "team rule" pairs whose match in this story waits for ``min_sources`` outlets."""
    return _k("waiting", story_id)


def delivery_started(alert_id: str) -> str:
    """When the first attempt to post an alert began (epoch seconds); set before the post,
    removed with the delivery record, so a later attempt knows to check the platform first."""
    return _k("started", alert_id)


def keyspace_tagged() -> str:
    """Set once every key of the untagged prefix was renamed to the tagged one."""
    return _k("keyspace", "tagged")


# Personal follows --------------------------------------------------------------------------------
def follow_teams() -> str:
    """Set of team ids where at least one user may follow a query."""
    return _k("follows", "teams")


def team_followers(team_id: str) -> str:
    """Set of the user ids of one team that may have follows."""
    return _k("team", team_id, "followers")


def user_follows(team_id: str, user_id: str) -> str:
    """Hash follow id -> follow JSON: one user's follows in one team (their DMs)."""
    return _k("team", team_id, "follows", user_id)


def follow_changes(team_id: str, user_id: str) -> str:
    """Counter of one user's follow changes in the current hour (each recompiles the matcher)."""
    return _k("team", team_id, "follow-changes", user_id)


# WebSub -----------------------------------------------------------------------------------------
def websub_subscriptions() -> str:
    """Set of the callback tokens of every WebSub subscription."""
    return _k("websub", "subs")


def websub_subscription(token: str) -> str:
    """Hash: feed_id, hub, topic, secret, state, pending, requested_at, expires_at, lease and
    callback (the URL the hub was given) of the subscription whose callback URL ends in
    ``token``."""
    return _k("websub", "sub", token)


def websub_feed(feed_id: str) -> str:
    """The callback token of a feed's WebSub subscription."""
    return _k("websub", "feed", feed_id)


def websub_claim(feed_id: str) -> str:
    """Short lock (SET NX EX): one replica sends a feed's request to its hub at a time."""
    return _k("websub", "claim", feed_id)
