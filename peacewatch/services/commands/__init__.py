"""The platform-neutral command service: questions, rule and feed admin, answered as Replies.

Slack and Discord adapters call these methods (or ``handle_text`` with the text a user typed)
and render the Reply. No method raises for a user's mistake: it answers ``Reply.fail`` with
what to type instead. Every answer stays within the common limits of both platforms: at most
``PAGE`` items, each text at most ``ITEM_TEXT`` characters, and a footer that says how to get
more.

One module per command group (questions, rules, feeds, settings, admin), each listing its
commands for the registry (``registry.py``) that maps command words to handlers and marks the
admin-only ones. Team data is keyed by ``caller.team_id`` (already prefixed by platform), so one
team never reads or changes another's rules, feeds, mutes, admins or settings. The news history
is shared.
"""

from peacewatch.services.commands.base import GOOGLE_NEWS_SEARCH, not_admin
from peacewatch.services.commands.registry import Command, Registry
from peacewatch.services.commands.service import REGISTRY, CommandService

__all__ = ["GOOGLE_NEWS_SEARCH", "REGISTRY", "Command", "CommandService", "Registry", "not_admin"]
