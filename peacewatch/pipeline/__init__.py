"""The pipeline: dedup, stories, summaries, alerts."""
