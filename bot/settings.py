"""Settings from the environment (and `.env`); the only place that reads them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.db import async_url

SLACK_API_URL = "https://slack.com/api/"
HUBSPOT_API_URL = "https://api.hubapi.com"

_ENV_NAMES = {
    "database_url": "SLABOT_DATABASE_URL",
    "agreement": "SLABOT_AGREEMENT",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_api_url": "SLACK_API_URL",
    "hubspot_token": "HUBSPOT_TOKEN",
    "hubspot_api_url": "HUBSPOT_API_URL",
    "port": "SLABOT_PORT",
    "log_level": "SLABOT_LOG_LEVEL",
    "log_format": "SLABOT_LOG_FORMAT",
}


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class Settings(BaseSettings):
    """Everything the operator configures, by the names in the README's configuration table."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    database_url: str = Field("sqlite:///./slabot.db", alias="SLABOT_DATABASE_URL")
    agreement: Path | None = Field(None, alias="SLABOT_AGREEMENT")
    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(SLACK_API_URL, alias="SLACK_API_URL")
    hubspot_token: SecretStr | None = Field(None, alias="HUBSPOT_TOKEN")
    hubspot_api_url: str = Field(HUBSPOT_API_URL, alias="HUBSPOT_API_URL")
    port: int = Field(3000, alias="SLABOT_PORT", ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", alias="SLABOT_LOG_LEVEL"
    )
    log_format: Literal["text", "json"] = Field("text", alias="SLABOT_LOG_FORMAT")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        async_url(value)  # raises ValueError naming what is wrong
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url", "hubspot_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    def require_slack(self) -> None:
        """Refuse, naming each missing variable, when Slack settings needed for `run` are absent."""
        missing = []
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN (the bot token, xoxb-…)")
        if self.slack_app_token is None and self.slack_signing_secret is None:
            missing.append(
                "SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode, xapp-…)"
            )
        if missing:
            raise SettingsError("missing setting: " + "; ".join(missing))

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]


def load_settings() -> Settings:
    """Read the settings; a bad value becomes a `SettingsError` that names its variable only."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            name = _ENV_NAMES.get(field, field)
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}")  # never the value: it may be a secret
        raise SettingsError("invalid setting: " + "; ".join(problems)) from None
