"""What Slack sends to an app's request URL: signed slash commands, clicks, submissions, events.

Pure builders (no clock, no network): the caller passes the instants, ids and `response_url`.
The tests' `SlackBot`, `slabot sandbox say` / `click` and the demo all send these bodies, so the
bot meets one shape of request everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack import TEAM_ID
from bot.sandbox.slack_history import dm_channel

__all__ = [
    "APP_ID",
    "FORM",
    "JSON",
    "block_actions_body",
    "block_actions_payload",
    "command_form",
    "event_body",
    "home_block_actions_body",
    "home_block_actions_payload",
    "home_buttons",
    "home_opened_event",
    "interaction_body",
    "sign",
    "trigger_id",
    "view_submission_body",
    "view_submission_payload",
]

FORM = "application/x-www-form-urlencoded"  # commands and interactions
JSON = "application/json"  # Events API deliveries
APP_ID = "A0SLABOT01"
TEAM_DOMAIN = "fake-workspace"
# Slack still sends the deprecated verification token; Bolt ignores it in favour of the signature.
VERIFICATION_TOKEN = "legacy-verification-token"
NO_MESSAGE_TS = "1800000000.000001"  # the `ts` of a click's message when none is given
VIEW_HASH = "1700000000.abcdef"  # Slack's hash of a view's version (`views.update` may check it)


def sign(body: str, *, secret: str, timestamp: int) -> dict[str, str]:
    """The headers Slack sends with `body`: its timestamp and the v0 HMAC signature."""
    stamp = str(timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}


def trigger_id(n: int) -> str:
    """The `n`th trigger id, shaped like Slack's (`<n>.<digits>.<32 hex>`)."""
    return f"{n}.1111.{'a' * 32}"


def command_form(
    text: str,
    *,
    user: str,
    channel: str,
    response_url: str,
    trigger_id: str,
    team_id: str = TEAM_ID,
    command: str = "/sla",
    channel_name: str = "sales",
) -> str:
    """`command text` typed by `user` in `channel`, form-encoded as Slack posts slash commands."""
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def interaction_body(payload: Mapping[str, Any], *, team_id: str = TEAM_ID) -> str:
    """Any interaction payload (`block_actions`, `view_submission`…) form-encoded as Slack does."""
    full = {"team": {"id": team_id, "domain": TEAM_DOMAIN}, **payload}
    return urlencode({"payload": json.dumps(full)})


def _user(user: str, team_id: str) -> dict[str, str]:
    return {"id": user, "username": user.lower(), "team_id": team_id}


def block_actions_payload(
    action_id: str,
    value: str = "",
    *,
    user: str,
    channel: str,
    response_url: str,
    action_ts: float,
    message: Mapping[str, Any] | None = None,
    selected: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A click on a message's button (or a select's choice, `selected`) at epoch `action_ts`."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": "b1",
        "type": "button",
        "value": value,
        "action_ts": f"{action_ts:.6f}",
    }
    if selected is not None:
        action.update(selected)
    shown = dict(message) if message else {"ts": NO_MESSAGE_TS, "text": "", "blocks": []}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user, team_id),
        "api_app_id": APP_ID,
        "container": {
            "type": "message",
            "message_ts": shown.get("ts", NO_MESSAGE_TS),
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "channel": {"id": channel, "name": "alerts"},
        "message": shown,
        "response_url": response_url,
        "actions": [action],
    }
    if trigger_id is not None:
        payload["trigger_id"] = trigger_id
    return payload


def block_actions_body(
    action_id: str,
    value: str = "",
    *,
    user: str,
    channel: str,
    response_url: str,
    trigger_id: str,
    action_ts: float,
    message: Mapping[str, Any] | None = None,
    selected: Mapping[str, Any] | None = None,
    team_id: str = TEAM_ID,
) -> str:
    """`block_actions_payload`, form-encoded."""
    payload = block_actions_payload(
        action_id,
        value,
        user=user,
        channel=channel,
        response_url=response_url,
        action_ts=action_ts,
        message=message,
        selected=selected,
        trigger_id=trigger_id,
        team_id=team_id,
    )
    return interaction_body(payload, team_id=team_id)


def home_buttons(view: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The clickable elements of a view by action id: (the block id, the element)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for block in view.get("blocks") or []:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        elements += [block["accessory"]] if isinstance(block.get("accessory"), dict) else []
        for element in elements:
            if element.get("action_id"):
                found.setdefault(element["action_id"], (str(block.get("block_id") or ""), element))
    return found


def home_block_actions_payload(
    action_id: str,
    value: str | None = None,
    *,
    user: str,
    action_ts: float,
    view: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A click on a button of `user`'s App Home tab (`view`, as published) at epoch `action_ts`.

    The Home tab is a view, not a message: Slack sends the whole view (its blocks and state) and
    no channel, message or `response_url`, so the bot answers through the Web API only (a modal,
    a Home tab published again). The action is the button as the view shows it (its block id,
    text and value; `value` replaces the value); a button not in `view` is sent as asked.
    """
    shown: dict[str, Any] = dict(view) if view else {"blocks": []}
    view_id = str(shown.get("id") or f"V{user}")  # the fake's id for a Home tab, when not given
    block_id, element = home_buttons(shown).get(action_id, ("b1", {"type": "button"}))
    action: dict[str, Any] = {"type": "button", "value": ""}
    action.update(
        (key, element[key]) for key in ("type", "text", "value", "style") if key in element
    )
    action.update(action_id=action_id, block_id=block_id, action_ts=f"{action_ts:.6f}")
    if value is not None:
        action["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user, team_id),
        "api_app_id": APP_ID,
        "container": {"type": "view", "view_id": view_id},
        "view": {
            "team_id": team_id,
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": VIEW_HASH,
            "previous_view_id": None,
            "external_id": "",
            **shown,
            "id": view_id,
            "type": "home",
            "root_view_id": view_id,
            "app_id": APP_ID,
            "app_installed_team_id": team_id,
        },
        "actions": [action],
    }
    if trigger_id is not None:
        payload["trigger_id"] = trigger_id
    return payload


def home_block_actions_body(
    action_id: str,
    value: str | None = None,
    *,
    user: str,
    trigger_id: str,
    action_ts: float,
    view: Mapping[str, Any] | None = None,
    team_id: str = TEAM_ID,
) -> str:
    """`home_block_actions_payload`, form-encoded."""
    payload = home_block_actions_payload(
        action_id,
        value,
        user=user,
        action_ts=action_ts,
        view=view,
        trigger_id=trigger_id,
        team_id=team_id,
    )
    return interaction_body(payload, team_id=team_id)


def home_opened_event(user: str, *, event_ts: float) -> dict[str, Any]:
    """`user` opened the app's Home tab (the event; `event_body` delivers it)."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": dm_channel(user),
        "tab": "home",
        "event_ts": f"{event_ts:.6f}",
    }


def view_submission_payload(
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    *,
    user: str,
    private_metadata: str = "",
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A modal submitted; `values` is `view.state.values` (block_id -> action_id -> value)."""
    payload: dict[str, Any] = {
        "type": "view_submission",
        "user": _user(user, team_id),
        "api_app_id": APP_ID,
        "view": {
            "id": "VMODAL0001",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": {block: dict(actions) for block, actions in values.items()}},
            "hash": VIEW_HASH,
        },
    }
    if trigger_id is not None:
        payload["trigger_id"] = trigger_id
    return payload


def view_submission_body(
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    *,
    user: str,
    trigger_id: str,
    private_metadata: str = "",
    team_id: str = TEAM_ID,
) -> str:
    """`view_submission_payload`, form-encoded."""
    payload = view_submission_payload(
        callback_id,
        values,
        user=user,
        private_metadata=private_metadata,
        trigger_id=trigger_id,
        team_id=team_id,
    )
    return interaction_body(payload, team_id=team_id)


def event_body(
    event: Mapping[str, Any], *, event_id: str, event_time: int, team_id: str = TEAM_ID
) -> str:
    """An Events API delivery of `event` (JSON), as sent at epoch `event_time`."""
    return json.dumps(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "api_app_id": APP_ID,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id,
            "event_time": event_time,
        }
    )
