"""The reply model under its former path: it lives in ``peacewatch.services.replies``."""

from peacewatch.services.replies import Caller, Reply, ReplyItem

__all__ = ["Caller", "Reply", "ReplyItem"]
