"""Shared setup for the AWS plugin's tests: hypothesis profiles, no AWS settings from outside,
this plugin registered as installed, a temporary AWS profile."""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from llmeter_trio import plugins
from llmeter_trio.sim import hide_aws_settings

pytest.register_assert_rewrite("aws_sim")

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile(
    "ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "default")
)


@pytest.fixture(autouse=True)
def _this_plugin_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lookups by name see this plugin, through the entry point its pyproject declares,
    whatever else is installed (and whether or not it is)."""
    point = EntryPoint(name="aws", value="llmeter_trio_aws.plugin", group=plugins.ENTRY_POINT_GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [point])
    monkeypatch.setattr(plugins, "_manager", None)
    yield
    plugins._manager = None


@pytest.fixture(autouse=True)
def _no_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the credentials, profile, region or config of the machine it runs on."""
    hide_aws_settings(monkeypatch, tmp_path)


# Credentials the tests write to a temporary AWS credentials file; distinctive, so that a
# search of everything a run saved finds them if they leaked.
ACCESS_KEY = "AKIDLLMETERTEST0001"
SECRET_KEY = "sEcReT/kEy+0f-the-llmeter-test-9x7q"
SESSION_TOKEN = "SeSsIoN-tOkEn-of-the-llmeter-test-FwoGZXIvYXdzEJr"
SECRETS = (SECRET_KEY, SESSION_TOKEN)


@pytest.fixture
def aws_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A profile ``llmeter`` in temporary shared config and credentials files (region
    us-west-2, temporary credentials with a session token); its name."""
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(
        f"[llmeter]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        f"aws_session_token = {SESSION_TOKEN}\n"
    )
    config = tmp_path / "aws-config"
    config.write_text("[profile llmeter]\nregion = us-west-2\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return "llmeter"
