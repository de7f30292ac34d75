"""Deployment files: .env.example names every setting, compose checks peacewatch's health."""

from __future__ import annotations

import re
import shlex

import yaml

from peacewatch.settings import Settings
from tests.helpers import REPO_ROOT


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = (REPO_ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    listed = {}
    for n, line in enumerate(lines):
        found = re.match(r"([A-Z_]+)=", line)
        if found:
            listed[found[1]] = n
    read = {str(field.alias) for field in Settings.model_fields.values()}
    assert set(listed) == read
    for name, n in listed.items():  # a comment above each (or above its group of two)
        assert lines[n - 1].startswith("#") or lines[n - 2].startswith("#"), name


def test_compose_checks_peacewatch_health_at_healthz() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"]["peacewatch"]
    check = service["healthcheck"]["test"]
    port = service["environment"]["PEACEWATCH_HTTP_PORT"]
    assert check[0] == "CMD"
    assert f"http://127.0.0.1:{port}/healthz" in shlex.join(check)
