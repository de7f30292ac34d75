"""Protocol-level fakes of the outside world, served on 127.0.0.1 for tests."""
