"""A click on the App Home tab: the builder's payload through the real bot, the fake Slack's views
read back, and `slabot sandbox click --home` against the real bot listener."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from bot.cli.sandbox_home import Screen, changes
from bot.cli.sandbox_say import DEFAULT_USER
from bot.sandbox import slack_requests as sr
from bot.sandbox.slack import TOKEN, FakeSlack
from bot.sandbox.slack_seen import PATH
from bot.server import EVENTS_PATH
from tests.conftest import CLI, Result
from tests.utils.alerts import MEMBER
from tests.utils.processes import free_port
from tests.utils.slack_bot import SIGNING_SECRET, SlackBot
from tests.utils.store import store_agreement

ADMIN = DEFAULT_USER  # an admin of the example agreement: their Home tab has the edit buttons
EDIT_BUTTONS = "open_edit_targets, open_revise_agreement, open_map_owners"


def _button(label: str, action_id: str, value: str, **more: str) -> dict[str, Any]:
    text = {"type": "plain_text", "text": label, "emoji": True}
    return {"type": "button", "text": text, "action_id": action_id, "value": value, **more}


HOME: dict[str, Any] = {
    "type": "home",
    "blocks": [
        {
            "type": "section",
            "block_id": "top",
            "text": {"type": "mrkdwn", "text": "Hello"},
            "accessory": _button("More", "show_more", "more"),
        },
        {
            "type": "actions",
            "block_id": "home_edit",
            "elements": [_button("Edit targets", "open_edit_targets", "targets", style="primary")],
        },
    ],
}

# --- the builder ----------------------------------------------------------------------------------


def test_a_home_click_carries_the_view_and_no_channel_message_or_response_url() -> None:
    view = {**HOME, "id": "VHOME0001"}
    payload = sr.home_block_actions_payload(
        "open_edit_targets", user="U1", action_ts=1800000000.5, view=view, trigger_id="1.2.3"
    )
    assert payload["type"] == "block_actions"
    assert payload["container"] == {"type": "view", "view_id": "VHOME0001"}
    assert {"channel", "message", "response_url"}.isdisjoint(payload)
    shown = payload["view"]
    assert (shown["id"], shown["type"], shown["root_view_id"]) == ("VHOME0001", "home", "VHOME0001")
    assert shown["blocks"] == HOME["blocks"] and shown["state"] == {"values": {}}
    assert payload["actions"] == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Edit targets", "emoji": True},
            "value": "targets",
            "style": "primary",
            "action_id": "open_edit_targets",
            "block_id": "home_edit",
            "action_ts": "1800000000.500000",
        }
    ]
    assert (payload["user"]["id"], payload["trigger_id"]) == ("U1", "1.2.3")


@pytest.mark.parametrize(
    ("action_id", "value", "view", "sent"),
    [
        ("show_more", None, HOME, ("top", "more", "VU1")),  # a section's accessory
        ("open_edit_targets", "other", HOME, ("home_edit", "other", "VU1")),  # value given
        ("not_shown", None, HOME, ("b1", "", "VU1")),  # no such button: sent as asked
        ("open_edit_targets", None, None, ("b1", "", "VU1")),  # no view published
    ],
)
def test_the_action_is_the_button_as_the_view_shows_it(
    action_id: str, value: str | None, view: dict[str, Any] | None, sent: tuple[str, str, str]
) -> None:
    payload = sr.home_block_actions_payload(
        action_id, value, user="U1", action_ts=time.time(), view=view
    )
    [action] = payload["actions"]
    assert (action["block_id"], action["value"], payload["view"]["id"]) == sent
    assert payload["container"]["view_id"] == payload["view"]["id"]


def test_the_home_buttons_are_found_by_action_id_in_order() -> None:
    found = sr.home_buttons(HOME)
    assert list(found) == ["show_more", "open_edit_targets"]
    assert found["open_edit_targets"][0] == "home_edit"
    assert sr.home_buttons({"type": "home", "blocks": []}) == {}


def test_the_body_is_the_payload_form_encoded_with_the_team() -> None:
    at = time.time()
    body = sr.home_block_actions_body(
        "open_edit_targets", user="U1", trigger_id="t", action_ts=at, view=HOME
    )
    [(name, encoded)] = parse_qsl(body)
    expected = sr.home_block_actions_payload(
        "open_edit_targets", user="U1", trigger_id="t", action_ts=at, view=HOME
    )
    assert name == "payload"
    assert json.loads(encoded) == {
        "team": {"id": "T0FAKE0001", "domain": "fake-workspace"},
        **expected,
    }


# --- through the real bot ---------------------------------------------------------------------------


async def published_home(bot: SlackBot, user: str) -> dict[str, Any]:
    """`user` opens the Home tab, as Slack tells the bot; the view the bot publishes."""
    await bot.event(sr.home_opened_event(user, event_ts=time.time()), event_id=f"Ev{user}")
    [view] = await bot.until(lambda: [bot.fake.home[u] for u in [user] if u in bot.fake.home])
    return view


async def test_the_bot_opens_the_modal_of_a_click_on_its_published_home_tab(
    slack_bot: SlackBot,
) -> None:
    await store_agreement(slack_bot.engine)
    view = await published_home(slack_bot, ADMIN)
    body = sr.home_block_actions_body(
        "open_edit_targets",
        user=ADMIN,
        trigger_id=sr.trigger_id(41),
        action_ts=time.time(),
        view=view,
    )
    response = await slack_bot.post(body, sr.FORM)  # signed with the bot's secret
    assert response.status_code == 200, response.text
    [opened] = await slack_bot.until(lambda: slack_bot.fake.calls_to("views.open"))
    assert opened.ok and opened.args["trigger_id"] == sr.trigger_id(41)
    [modal] = list(slack_bot.fake.modals.values())
    assert modal["callback_id"] == "edit_targets"


async def test_a_refusal_on_the_home_tab_comes_as_a_small_modal(slack_bot: SlackBot) -> None:
    # No channel and no response_url in the payload: the bot cannot answer ephemerally.
    await store_agreement(slack_bot.engine)
    payload = sr.home_block_actions_payload(
        "open_edit_targets", user=MEMBER, action_ts=time.time(), view=None
    )
    assert (await slack_bot.interaction(payload)).status == 200
    [modal] = await slack_bot.until(lambda: list(slack_bot.fake.modals.values()))
    assert modal["callback_id"] == "notice"
    assert slack_bot.fake.calls_to("chat.postEphemeral") == [] and slack_bot.fake.responses == []


# --- the fake Slack's views, read back -------------------------------------------------------------


def test_the_fake_serves_a_members_views_without_recording_them(fake_slack: FakeSlack) -> None:
    seen_url = fake_slack.url.removesuffix("api/") + PATH.lstrip("/")
    assert httpx.get(seen_url, params={"user": "U1"}).json() == {
        "ok": True,
        "home": None,
        "modals": [],
    }
    auth = {"Authorization": f"Bearer {TOKEN}"}
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": []}
    httpx.post(fake_slack.url + "views.publish", json={"user_id": "U1", "view": HOME}, headers=auth)
    httpx.post(fake_slack.url + "views.open", json={"trigger_id": "t", "view": modal}, headers=auth)
    seen = httpx.get(seen_url, params={"user": "U1"}).json()
    assert seen["home"] == {**fake_slack.home["U1"], "id": "VU1"}
    assert [m["id"] for m in seen["modals"]] == ["VMODAL0001"]
    assert httpx.get(seen_url, params={"user": "U2"}).json()["home"] is None
    assert httpx.get(seen_url).status_code == 400
    assert [c.method for c in fake_slack.calls] == ["views.publish", "views.open"]


def test_what_changes_on_the_screen() -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Edit"}, "blocks": []}
    before = Screen(HOME, {"V1": modal})
    assert changes(before, Screen(dict(HOME), {"V1": dict(modal)}), user="U1") == []
    updated = {**modal, "blocks": [{"type": "divider"}]}
    after = Screen({**HOME, "blocks": []}, {"V1": updated, "V2": modal})
    found = changes(before, after, user="U1")
    assert [(s.kind, s.replaces, s.title) for s in found] == [
        ("modal", True, "Edit"),
        ("modal", False, "Edit"),
        ("home", False, None),
    ]
    assert found[2].user == "U1"
    assert changes(Screen(None, {}), Screen(HOME, {}), user="U1")[0].kind == "home"


# --- the command line against the running bot ------------------------------------------------------


async def click(cli: CLI, bot: SlackBot, *args: str) -> Result:
    # The bot serves on this test's event loop; the command line runs its own loop in a thread.
    return await asyncio.to_thread(
        cli, "sandbox", "click", "--home", *args, "--to", bot.url + EVENTS_PATH
    )


@pytest.fixture
def sandboxed(cli_env: pytest.MonkeyPatch, fake_slack: FakeSlack) -> pytest.MonkeyPatch:
    """The settings `slabot sandbox` writes: the bot's secret and the fake Slack's URL."""
    cli_env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    cli_env.setenv("SLACK_API_URL", fake_slack.url)
    return cli_env


async def test_click_home_opens_the_tab_then_prints_the_modal_it_opens(
    slack_bot: SlackBot, cli: CLI, sandboxed: pytest.MonkeyPatch
) -> None:
    await store_agreement(slack_bot.engine)
    result = await click(cli, slack_bot, "open_edit_targets")
    assert result.code == 0, result.err
    lines = result.out
    assert f"→ open the Home tab, none published yet  (as {ADMIN}" in lines
    assert "← Home tab published (" in lines and f"buttons: {EDIT_BUTTONS})" in lines
    assert (
        f"→ click open_edit_targets targets on the Home tab  (as {ADMIN}, to {slack_bot.url}"
        in lines
    )
    assert "← modal opened (Edit targets):" in lines
    assert "Saving stores a new version" in lines and "[ Save ]*" in lines
    [modal] = slack_bot.fake.modals.values()
    assert modal["callback_id"] == "edit_targets"
    assert SIGNING_SECRET not in result.out + result.err


async def test_click_home_uses_the_tab_already_published(
    slack_bot: SlackBot, cli: CLI, sandboxed: pytest.MonkeyPatch
) -> None:
    await store_agreement(slack_bot.engine)
    await published_home(slack_bot, ADMIN)
    result = await click(cli, slack_bot, "open_revise_agreement", "--wait", "5")
    assert result.code == 0, result.err
    assert "open the Home tab" not in result.out
    assert "← modal opened (Revise" in result.out
    assert len(slack_bot.fake.calls_to("views.publish")) == 1  # not opened again


@pytest.mark.parametrize(
    ("user", "action_id", "said"),
    [
        (
            ADMIN,
            "open_edit_target",
            f"open_edit_target: no such button on {ADMIN}'s Home tab; its buttons: "
            f"{EDIT_BUTTONS} (e.g. slabot sandbox click --home open_edit_targets)",
        ),
        (
            MEMBER,
            "open_edit_targets",
            f"open_edit_targets: {MEMBER}'s Home tab has no buttons (the bot shows its edit "
            "buttons to the agreement's admins and team leads); try --user with one of them",
        ),
    ],
)
async def test_a_button_not_on_the_home_tab_is_named_with_those_that_are(
    slack_bot: SlackBot,
    cli: CLI,
    sandboxed: pytest.MonkeyPatch,
    user: str,
    action_id: str,
    said: str,
) -> None:
    await store_agreement(slack_bot.engine)
    result = await click(cli, slack_bot, action_id, "--user", user)
    assert result.code == 2
    assert said in " ".join(result.err.split())  # the console wraps long lines
    assert slack_bot.fake.modals == {}  # nothing clicked


async def test_a_home_tab_published_to_another_slack_is_never_seen(
    slack_bot: SlackBot, cli: CLI, sandboxed: pytest.MonkeyPatch
) -> None:
    await store_agreement(slack_bot.engine)
    with FakeSlack() as elsewhere:  # not the fake Slack the bot talks to
        url = elsewhere.url
        sandboxed.setenv("SLACK_API_URL", url)
        result = await click(cli, slack_bot, "open_edit_targets", "--wait", "1")
    assert result.code == 1
    assert (
        f"the bot published no Home tab for {ADMIN} within 1 s of its opening (app_home_opened); "
        f"see the log of `slabot run`, and check that SLACK_API_URL here ({url}) is "
        "the one the bot was started with"
    ) in " ".join(result.err.split())


def test_click_home_needs_the_fake_slacks_url(sqlite_cli: CLI, cli_env: pytest.MonkeyPatch) -> None:
    cli_env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    result = sqlite_cli("sandbox", "click", "--home", "open_edit_targets")
    assert result.code == 2
    assert "missing setting: SLACK_API_URL" in result.err
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    cli_env.setenv("SLACK_API_URL", nowhere)
    result = sqlite_cli("sandbox", "click", "--home", "open_edit_targets")
    assert result.code == 1
    assert f"no fake Slack answers at {nowhere} (SLACK_API_URL)" in result.err


async def test_click_home_refuses_a_slack_api_that_is_not_the_fake(
    slack_bot: SlackBot, cli: CLI, sandboxed: pytest.MonkeyPatch
) -> None:
    not_the_fake = slack_bot.url + "/api/"  # the bot's own listener answers 404 there
    sandboxed.setenv("SLACK_API_URL", not_the_fake)
    result = await click(cli, slack_bot, "open_edit_targets")
    assert result.code == 1
    assert f"{not_the_fake} (SLACK_API_URL) is not the sandbox's fake Slack" in result.err
