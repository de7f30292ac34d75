"""Redis: the embedded server, key names, and the stores built on them."""
