"""Rules: the query language, entity dictionaries, and the matcher."""
