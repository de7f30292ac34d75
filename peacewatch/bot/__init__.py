"""Chat-facing parts: the console sink, command parsing, and the Slack and Discord adapters."""
