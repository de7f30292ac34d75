"""The offline demo: sample feeds, demo rules, and the run that ties them together."""
