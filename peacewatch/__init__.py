"""peacewatch: news watchers, a rules engine and chat alerts for the Russia-Ukraine peace talks."""

__version__ = "0.1.0"
