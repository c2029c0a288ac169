"""Settings from the environment: defaults, validation naming the variable, secrets kept out."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, load_settings
from tests.conftest import CLI


def test_defaults(cli_env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./slabot.db"
    assert settings.agreement is None
    assert settings.slack_bot_token is None
    assert settings.port == 3000
    assert (settings.log_level, settings.log_format) == ("INFO", "text")
    assert settings.slack_api_url.startswith("https://slack.com/api")


def test_every_contract_variable_is_read(cli_env: pytest.MonkeyPatch) -> None:
    values = {
        "SLABOT_DATABASE_URL": "postgresql://u@db:5432/sla",
        "SLABOT_AGREEMENT": "/etc/sla.yaml",
        "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
        "SLACK_APP_TOKEN": "xapp-1-abc",
        "SLACK_SIGNING_SECRET": "s3cr3t",
        "SLACK_API_URL": "http://127.0.0.1:9999/api/",
        "HUBSPOT_TOKEN": "pat-na1-abc",
        "HUBSPOT_API_URL": "http://127.0.0.1:9998",
        "SLABOT_PORT": "8080",
        "SLABOT_LOG_LEVEL": "debug",
        "SLABOT_LOG_FORMAT": "json",
    }
    for name, value in values.items():
        cli_env.setenv(name, value)
    s = load_settings()
    assert s.database_url == "postgresql://u@db:5432/sla"
    assert str(s.agreement) == "/etc/sla.yaml"
    assert s.slack_bot_token is not None and s.slack_bot_token.get_secret_value() == "xoxb-1-2-abc"
    assert s.slack_app_token is not None
    assert s.slack_signing_secret is not None
    assert s.slack_api_url == "http://127.0.0.1:9999/api/"
    assert s.hubspot_token is not None and s.hubspot_api_url == "http://127.0.0.1:9998"
    assert (s.port, s.log_level, s.log_format) == (8080, "DEBUG", "json")
    assert "xoxb-1-2-abc" not in repr(s)


def test_empty_variable_means_unset(cli_env: pytest.MonkeyPatch) -> None:
    cli_env.setenv("SLABOT_PORT", "")
    assert load_settings().port == 3000


def test_dotenv_file_is_read(cli_env: pytest.MonkeyPatch, tmp_path: object) -> None:
    from pathlib import Path

    Path(".env").write_text("SLABOT_PORT=4000\n")
    assert load_settings().port == 4000


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("SLABOT_PORT", "abc", "SLABOT_PORT"),
        ("SLABOT_PORT", "70000", "SLABOT_PORT"),
        ("SLABOT_LOG_LEVEL", "loud", "SLABOT_LOG_LEVEL"),
        ("SLABOT_LOG_FORMAT", "xml", "SLABOT_LOG_FORMAT"),
        ("SLABOT_DATABASE_URL", "mysql://x@y/z", "SLABOT_DATABASE_URL: unsupported database"),
        ("SLABOT_DATABASE_URL", "not a url", "SLABOT_DATABASE_URL"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token-secret", "SLACK_BOT_TOKEN: must be a bot token"),
        ("SLACK_APP_TOKEN", "xoxb-not-an-app-token", "SLACK_APP_TOKEN: must be an app-level"),
        ("SLACK_API_URL", "ftp://example", "SLACK_API_URL"),
        ("HUBSPOT_API_URL", "api.hubapi.com", "HUBSPOT_API_URL"),
    ],
)
def test_invalid_values_name_the_variable_not_the_value(
    cli_env: pytest.MonkeyPatch, sqlite_cli: CLI, name: str, value: str, fragment: str
) -> None:
    cli_env.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert fragment in str(caught.value)
    assert value not in str(caught.value)
    result = sqlite_cli("agreement", "history")
    assert result.code == 2
    assert fragment in result.err
    assert value not in result.err + result.out


def test_run_refuses_without_slack_tokens(cli_env: pytest.MonkeyPatch, sqlite_cli: CLI) -> None:
    result = sqlite_cli("run")
    assert result.code == 2
    assert "SLACK_BOT_TOKEN" in result.err
    assert "SLACK_SIGNING_SECRET" in result.err


def test_run_needs_signing_secret_in_http_mode(cli_env: pytest.MonkeyPatch) -> None:
    cli_env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        load_settings().require_slack()
    cli_env.setenv("SLACK_APP_TOKEN", "xapp-1")
    load_settings().require_slack()  # Socket Mode needs no signing secret


def test_settings_model_has_one_field_per_contract_variable() -> None:
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert aliases == {
        "SLABOT_DATABASE_URL",
        "SLABOT_AGREEMENT",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_API_URL",
        "HUBSPOT_TOKEN",
        "HUBSPOT_API_URL",
        "SLABOT_PORT",
        "SLABOT_LOG_LEVEL",
        "SLABOT_LOG_FORMAT",
    }
