"""Watchers: fetch, parse and normalise feeds on a schedule."""
