"""The Slack Web API client, built from the settings, that retries rate limits and server errors."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import default_interval_calculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import mask
from bot.settings import Settings, SettingsError

TIMEOUT = 30  # seconds for one call
RATE_LIMIT_RETRIES = 3  # each after the Retry-After that Slack sends (plus up to 1 s of jitter)
SERVER_ERROR_RETRIES = 3  # on 500 and 503, with exponential back-off and jitter
CONNECTION_RETRIES = 1

# Error codes that mean the token is wrong, revoked or of a removed workspace.
TOKEN_PROBLEMS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
}


def api_base_url(url: str) -> str:
    """`SLACK_API_URL` with the trailing slash slack_sdk joins method names to."""
    return url.rstrip("/") + "/"


def slack_client(
    settings: Settings, *, retry_interval: RetryIntervalCalculator | None = None
) -> AsyncWebClient:
    """A client for `SLACK_API_URL` with `SLACK_BOT_TOKEN`, retrying 429s and 5xx.

    `retry_interval` paces the server-error retries (slack_sdk's back-off by default); rate-limit
    retries always wait the `Retry-After` Slack asks for.
    """
    if settings.slack_bot_token is None:
        raise SettingsError("missing setting: SLACK_BOT_TOKEN (the bot token, xoxb-…)")
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=api_base_url(settings.slack_api_url),
        timeout=TIMEOUT,
        retry_handlers=retry_handlers(retry_interval),
    )


def retry_handlers(interval: RetryIntervalCalculator | None = None) -> list[AsyncRetryHandler]:
    """Connection resets, rate limits (honouring `Retry-After`) and server errors (500, 503)."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncServerErrorRetryHandler(
            max_retry_count=SERVER_ERROR_RETRIES,
            interval_calculator=interval or default_interval_calculator,
        ),
    ]


def is_call_failure(exc: BaseException) -> bool:
    """Whether `exc` is how a Slack call fails (refused, unreachable, timed out)."""
    return isinstance(exc, SlackApiError | aiohttp.ClientError | OSError)  # OSError: time-outs too


def slack_error(exc: BaseException, method: str) -> str:
    """A one-line cause of a failed call of `method`, for people; never the token."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        code = str(data.get("error") or f"HTTP {response.status_code}")
        cause = f"Slack refused {method}: {code}"
        if code in TOKEN_PROBLEMS:
            return f"{cause}; check SLACK_BOT_TOKEN (the bot token of the installed app)"
        if code == "missing_scope":
            needed = data.get("needed") or "a scope"
            return f"{cause}; the Slack app needs the {needed} scope (reinstall it after adding)"
        if code == "ratelimited":
            return f"{cause}; still rate limited after {RATE_LIMIT_RETRIES} retries"
        return cause
    if isinstance(exc, TimeoutError):
        return f"Slack {method} timed out after {TIMEOUT} s"
    text = str(exc).strip()
    detail = f": {mask(text.splitlines()[0])}" if text else ""
    return f"Slack {method} failed: {type(exc).__name__}{detail}"
