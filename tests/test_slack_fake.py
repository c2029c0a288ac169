"""The fake Slack itself, and the Web API client `bot.slack` builds, against each other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack import BOT_USER_ID, TOKEN, FakeSlack, SlackError
from bot.settings import Settings, SettingsError
from bot.slack import RATE_LIMIT_RETRIES, SERVER_ERROR_RETRIES, api_base_url, slack_client
from bot.slack import slack_error as describe

WRONG = "xoxb-0000000000-0000000000-wrongwrongwrong"
QUICK = FixedValueRetryIntervalCalculator(0.01)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user("ana@example.com", "ana", user_id="U0ANA")
        yield fake


def client(fake: FakeSlack, token: str = TOKEN, url: str | None = None) -> AsyncWebClient:
    settings = Settings(**{"SLACK_BOT_TOKEN": token, "SLACK_API_URL": url or fake.url})
    return slack_client(settings, retry_interval=QUICK)


def post(fake: FakeSlack, method: str, token: str | None = TOKEN, **kwargs: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(fake.url + method, headers=headers, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_auth_test_through_the_client_is_recorded_with_its_bearer_token(
    slack: FakeSlack,
) -> None:
    answer = await client(slack).auth_test()
    assert answer["ok"] is True
    assert answer["user_id"] == BOT_USER_ID
    (call,) = slack.calls
    assert (call.method, call.status, call.ok) == ("auth.test", 200, True)
    assert call.headers["authorization"] == f"Bearer {TOKEN}"


async def test_lookup_by_email_finds_a_member_whatever_the_case(slack: FakeSlack) -> None:
    answer = await client(slack).users_lookupByEmail(email="Ana@Example.com")
    assert answer["user"]["id"] == "U0ANA"
    assert answer["user"]["profile"]["email"] == "ana@example.com"
    (call,) = slack.calls_to("users.lookupByEmail")
    assert call.http_method == "GET"  # slack_sdk sends this method's arguments in the query
    assert call.args == {"email": "Ana@Example.com"}


@pytest.mark.parametrize(
    ("email", "token", "error"),
    [
        ("zoe@example.com", TOKEN, "users_not_found"),
        ("ana@example.com", WRONG, "invalid_auth"),
        ("", TOKEN, "invalid_arguments"),
    ],
)
async def test_lookup_errors_are_slacks(
    slack: FakeSlack, email: str, token: str, error: str
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client(slack, token).users_lookupByEmail(email=email)
    assert caught.value.response.status_code == 200
    assert caught.value.response.data == {"ok": False, "error": error}


def test_form_and_json_bodies_and_a_token_argument(slack: FakeSlack) -> None:
    form = post(
        slack, "users.lookupByEmail", None, data={"token": TOKEN, "email": "ana@example.com"}
    )
    assert form["user"]["id"] == "U0ANA"
    as_json = post(slack, "users.lookupByEmail", json={"email": "ana@example.com"})
    assert as_json["user"]["id"] == "U0ANA"
    # Slack takes no token inside a JSON body
    assert post(slack, "auth.test", None, json={"token": TOKEN}) == {
        "ok": False,
        "error": "not_authed",
    }
    assert [c.args for c in slack.calls][:2] == [
        {"email": "ana@example.com"},  # the token argument is not kept among the arguments
        {"email": "ana@example.com"},
    ]


def test_unknown_methods_and_methods_added_later(slack: FakeSlack) -> None:
    assert post(slack, "chat.unknownThing", json={"channel": "C1", "text": "hi"}) == {
        "ok": False,
        "error": "unknown_method",
        "req_method": "chat.unknownThing",
    }

    def post_message(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            raise SlackError("channel_not_found")
        return {"channel": args["channel"], "ts": "1700000000.000100"}

    slack.handlers["chat.postMessage"] = post_message
    sent = post(slack, "chat.postMessage", json={"channel": "C1", "text": "hi"})
    assert sent == {"ok": True, "channel": "C1", "ts": "1700000000.000100"}
    assert post(slack, "chat.postMessage", json={"text": "hi"})["error"] == "channel_not_found"
    assert slack.calls_to("chat.postMessage")[-2].args == {"channel": "C1", "text": "hi"}


def test_a_missing_scope_names_the_scope(slack: FakeSlack) -> None:
    slack.scopes.discard("users:read.email")
    answer = post(slack, "users.lookupByEmail", data={"email": "ana@example.com"})
    assert answer["error"] == "missing_scope"
    assert answer["needed"] == "users:read.email"


def test_a_rate_limit_fault_is_a_429_with_retry_after(slack: FakeSlack) -> None:
    slack.inject("rate_limited", times=1, retry_after=7)
    response = httpx.post(slack.url + "auth.test", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"ok": False, "error": "ratelimited"}
    assert post(slack, "auth.test")["ok"] is True  # the next call is served


async def test_the_client_waits_retry_after_then_retries(slack: FakeSlack) -> None:
    slack.inject("rate_limited", times=1, retry_after=1)
    answer = await client(slack).users_lookupByEmail(email="ana@example.com")
    assert answer["user"]["id"] == "U0ANA"
    first, second = slack.calls
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0


async def test_the_client_retries_server_errors_a_few_times(slack: FakeSlack) -> None:
    slack.inject("server_error", times=SERVER_ERROR_RETRIES, status=500)
    assert (await client(slack).auth_test())["ok"] is True
    assert [c.status for c in slack.calls] == [500] * SERVER_ERROR_RETRIES + [200]

    slack.calls.clear()
    slack.inject("server_error", times=SERVER_ERROR_RETRIES + 1, status=503)
    with pytest.raises(SlackApiError) as caught:
        await client(slack).auth_test()
    assert len(slack.calls) == SERVER_ERROR_RETRIES + 1
    assert describe(caught.value, "auth.test") == "Slack refused auth.test: service_unavailable"


async def test_rate_limits_outlasting_the_retries_are_reported(slack: FakeSlack) -> None:
    slack.inject("rate_limited", times=RATE_LIMIT_RETRIES + 1, retry_after=0)
    with pytest.raises(SlackApiError) as caught:
        await client(slack).auth_test()
    assert len(slack.calls) == RATE_LIMIT_RETRIES + 1
    assert describe(caught.value, "auth.test") == (
        f"Slack refused auth.test: ratelimited; still rate limited after {RATE_LIMIT_RETRIES} retries"
    )


async def test_a_refused_token_is_described_without_the_token(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client(slack, WRONG).auth_test()
    message = describe(caught.value, "auth.test")
    assert message == (
        "Slack refused auth.test: invalid_auth; "
        "check SLACK_BOT_TOKEN (the bot token of the installed app)"
    )
    assert WRONG not in message


async def test_an_unreachable_slack_is_described(slack: FakeSlack) -> None:
    url = slack.url
    slack.stop()
    with pytest.raises(Exception) as caught:  # noqa: PT011 - aiohttp's connection error
        await client(slack, url=url).auth_test()
    message = describe(caught.value, "auth.test")
    assert message.startswith("Slack auth.test failed: ClientConnectorError")
    assert TOKEN not in message


@pytest.mark.parametrize("suffix", ["api", "api/", "api//"])
async def test_the_base_url_gets_one_trailing_slash(slack: FakeSlack, suffix: str) -> None:
    base = slack.url.removesuffix("api/") + suffix
    assert api_base_url(base) == slack.url
    assert (await client(slack, url=base).auth_test())["ok"] is True


def test_a_client_needs_the_bot_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        slack_client(Settings(**{"SLACK_API_URL": "http://127.0.0.1:9/api/"}))


def test_the_client_is_built_with_the_retry_handlers(slack: FakeSlack) -> None:
    names = {type(h).__name__ for h in client(slack).retry_handlers}
    assert {"AsyncRateLimitErrorRetryHandler", "AsyncServerErrorRetryHandler"} <= names


def test_posted_messages_are_kept_by_channel_and_edited_in_place(slack: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Lead L-1* breached"}}]
    sent = post(
        slack, "chat.postMessage", json={"channel": "C1", "text": "breach", "blocks": blocks}
    )
    assert sent["ok"] and sent["channel"] == "C1"
    edited = post(slack, "chat.update", json={"channel": "C1", "ts": sent["ts"], "text": "done"})
    assert edited["ok"]
    [message] = slack.messages["C1"]
    assert (message.text, message.blocks, message.edits[0]["text"]) == ("done", [], "breach")
    missing = post(slack, "chat.update", json={"channel": "C1", "ts": "1.2", "text": "x"})
    assert missing["error"] == "message_not_found"


@pytest.mark.parametrize(
    ("blocks", "error"),
    [
        ([{"type": "divider"}] * 51, "invalid_blocks"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "invalid_blocks"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "invalid_blocks"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "invalid_blocks"),
        ([{"type": "banner"}], "invalid_blocks"),
    ],
)
def test_block_kit_limits_are_enforced(
    slack: FakeSlack, blocks: list[dict[str, Any]], error: str
) -> None:
    answer = post(slack, "chat.postMessage", json={"channel": "C1", "text": "t", "blocks": blocks})
    assert answer["error"] == error
    assert "C1" not in slack.messages


def test_a_message_without_a_text_fallback_is_refused(slack: FakeSlack) -> None:
    blocks = [{"type": "divider"}]
    answer = post(slack, "chat.postMessage", json={"channel": "C1", "blocks": blocks})
    assert answer["error"] == "no_text"


def test_views_are_checked_and_kept(slack: FakeSlack) -> None:
    home = {"type": "home", "blocks": [{"type": "divider"}] * 100}
    assert post(slack, "views.publish", json={"user_id": "U1", "view": home})["ok"]
    too_big = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    assert post(slack, "views.publish", json={"user_id": "U1", "view": too_big})["error"] == (
        "invalid_blocks"
    )
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Edit"}, "blocks": []}
    opened = post(slack, "views.open", json={"trigger_id": "1.2.3", "view": modal})
    assert opened["view"]["id"] in slack.modals
    assert len(slack.home["U1"]["blocks"]) == 100


def test_a_response_url_takes_five_messages(slack: FakeSlack) -> None:
    url = slack.response_url()
    for number in range(5):
        answer = httpx.post(url, json={"text": f"reply {number}"})
        assert answer.status_code == 200
    assert httpx.post(url, json={"text": "sixth"}).status_code == 404
    assert [r["text"] for r in slack.responses_to(url)] == [f"reply {n}" for n in range(5)]
    assert httpx.post(slack.response_url(), json={}).status_code == 400  # no text fallback


def test_history_is_newest_first_in_pages_within_the_window(slack: FakeSlack) -> None:
    sent = [
        post(slack, "chat.postMessage", json={"channel": "C1", "text": f"m{n}"})["ts"]
        for n in range(5)
    ]
    page = post(slack, "conversations.history", data={"channel": "C1", "limit": "2"})
    assert [m["text"] for m in page["messages"]] == ["m4", "m3"]
    assert page["has_more"] is True
    cursor = page["response_metadata"]["next_cursor"]
    rest = post(slack, "conversations.history", data={"channel": "C1", "cursor": cursor})
    assert [m["text"] for m in rest["messages"]] == ["m2", "m1", "m0"]
    assert rest["has_more"] is False and rest["response_metadata"]["next_cursor"] == ""
    window = {"channel": "C1", "oldest": sent[1], "latest": sent[3]}
    between = post(slack, "conversations.history", data=window)
    assert [m["text"] for m in between["messages"]] == ["m2"]  # both ends excluded
    inclusive = post(slack, "conversations.history", data={**window, "inclusive": "1"})
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
    assert post(slack, "conversations.history", data={"channel": "C9"})["messages"] == []
    slack.closed_channels.add("C2")
    assert post(slack, "conversations.history", data={"channel": "C2"})["error"] == (
        "not_in_channel"
    )


def test_history_gives_metadata_when_asked_and_keeps_replies_in_their_thread(
    slack: FakeSlack,
) -> None:
    metadata = {"event_type": "slabot_outbox", "event_payload": {"key": "k1"}}
    parent = post(
        slack, "chat.postMessage", json={"channel": "C1", "text": "p", "metadata": metadata}
    )
    post(slack, "chat.postMessage", json={"channel": "C1", "text": "r", "thread_ts": parent["ts"]})
    plain = post(slack, "conversations.history", data={"channel": "C1"})["messages"]
    assert [m["text"] for m in plain] == ["p"] and "metadata" not in plain[0]
    full = post(slack, "conversations.history", data={"channel": "C1", "include_all_metadata": "1"})
    assert full["messages"][0]["metadata"] == metadata
    thread = post(slack, "conversations.replies", data={"channel": "C1", "ts": parent["ts"]})
    assert [m["text"] for m in thread["messages"]] == ["p", "r"]
    assert thread["messages"][1]["thread_ts"] == parent["ts"]
    missing = post(slack, "conversations.replies", data={"channel": "C1", "ts": "1.000001"})
    assert missing["error"] == "thread_not_found"


async def test_the_client_opens_a_dm_and_reads_history(slack: FakeSlack) -> None:
    web = client(slack)
    opened = await web.conversations_open(users="U0ANA")
    channel = opened["channel"]["id"]
    assert channel.startswith("D")
    metadata = {"event_type": "slabot_outbox", "event_payload": {"key": "k"}}
    await web.chat_postMessage(channel=channel, text="hi", metadata=metadata)
    history = await web.conversations_history(channel=channel, include_all_metadata=True)
    assert history["messages"][0]["metadata"] == metadata
    assert post(slack, "conversations.open", data={"users": "C1"})["error"] == "user_not_found"


def test_a_lost_response_serves_the_call_then_answers_5xx(slack: FakeSlack) -> None:
    slack.inject("lost_response", times=1, method="chat.postMessage", status=502)
    answer = httpx.post(
        slack.url + "chat.postMessage",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"channel": "C1", "text": "stored"},
    )
    assert answer.status_code == 502
    assert [m.text for m in slack.messages["C1"]] == ["stored"]
