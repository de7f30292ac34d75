"""Services: the command service and the dispatcher that delivers queued alerts to sinks."""
