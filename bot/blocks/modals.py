"""Modals for admins and team leads: targets and rates, the agreement's YAML, owners' Slack users.

Each modal's `private_metadata` is only the agreement version it was opened on (a few bytes):
a submission made after someone else saved a newer version is refused rather than undoing it.
"""

from __future__ import annotations

import json
from typing import Any

from bot.agreement_edits import TargetField
from bot.blocks.common import VIEW_BLOCKS, Block, capped, context, lines_within, plain, section
from models.agreement import Agreement

EDIT_TARGETS = "edit_targets"
REVISE_AGREEMENT = "revise_agreement"
MAP_OWNERS = "map_owners"
VALUE = "value"  # the action id of every text input
USER = "user"  # the action id of every user picker
AGREEMENT_BLOCK = "agreement"
OWNER_PREFIX = "owner/"
TEXT_INPUT_MAX = 3000  # Slack's limit on a plain_text_input
ERROR_TEXT = 1500  # room for an error under a field (Slack cuts longer ones)

View = dict[str, Any]


def _modal(
    callback_id: str, title: str, blocks: list[Block], *, submit: str | None, version: int | None
) -> View:
    view: View = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "close": plain("Cancel" if submit else "Close", 24),
        "blocks": blocks,
    }
    if submit:
        view["submit"] = plain(submit, 24)
    if version is not None:
        view["private_metadata"] = json.dumps({"v": version})
    return view


def opened_version(private_metadata: str) -> int | None:
    """The agreement version a modal was opened on, from its `private_metadata`."""
    try:
        value = json.loads(private_metadata or "{}").get("v")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def _text_input(field: TargetField) -> Block:
    return {
        "type": "input",
        "block_id": field.block_id,
        "label": plain(field.label, 2000),
        "hint": plain(field.hint, 2000),
        "element": {
            "type": "plain_text_input",
            "action_id": VALUE,
            "initial_value": field.initial,
        },
    }


def targets_modal(agreement: Agreement, version: int, fields: list[TargetField]) -> View:
    """Revenue goal, deal size, each stage's rate, each rule's time and target, pre-filled."""
    intro = context(
        f"*{agreement.name}*, version {version}. Saving stores a new version "
        "(the previous one stays in `slabot agreement history`)."
    )
    inputs = capped(
        [_text_input(f) for f in fields],
        VIEW_BLOCKS - 1,
        "…and {n} more fields: use Revise the agreement for them.",
    )
    return _modal(EDIT_TARGETS, "Edit targets", [intro, *inputs], submit="Save", version=version)


def revise_modal(agreement: Agreement, version: int, source_text: str) -> View:
    """The agreement's YAML to paste or edit, validated like a file on submit."""
    element: Block = {
        "type": "plain_text_input",
        "action_id": VALUE,
        "multiline": True,
        "max_length": TEXT_INPUT_MAX,
    }
    notes = [
        f"*{agreement.name}*, version {version}. Paste the whole agreement in YAML, as in "
        "`examples/agreement.yaml`; it is checked like `slabot agreement apply`."
    ]
    if len(source_text) <= TEXT_INPUT_MAX:
        element["initial_value"] = source_text
    else:
        notes.append(
            f"The current text is longer than Slack's {TEXT_INPUT_MAX:,} characters: "
            "paste a shorter one here, or apply the file with `slabot agreement apply FILE`."
        )
    return _modal(
        REVISE_AGREEMENT,
        "Revise the agreement",
        [
            context(*notes),
            {
                "type": "input",
                "block_id": AGREEMENT_BLOCK,
                "label": plain("Agreement (YAML)"),
                "element": element,
            },
        ],
        submit="Check and save",
        version=version,
    )


def owners_modal(owners: list[tuple[str, str | None]]) -> View:
    """A Slack user picker for each CRM owner (email, name) that has none."""
    if not owners:
        return notice_modal("Every CRM owner has a Slack user: nothing to map.", "Map owners")
    pickers = [
        {
            "type": "input",
            "optional": True,
            "block_id": f"{OWNER_PREFIX}{email}",
            "label": plain(f"{name} <{email}>" if name else email, 2000),
            "element": {
                "type": "users_select",
                "action_id": USER,
                "placeholder": plain("Slack user"),
            },
        }
        for email, name in owners
        if len(OWNER_PREFIX) + len(email) <= 255  # a block id's limit; no real email is longer
    ]
    intro = context(
        "CRM owners with no Slack user: their alerts cannot mention them. "
        "Pick who each one is; leave a field empty to skip it."
    )
    blocks = [intro, *capped(pickers, VIEW_BLOCKS - 1, "…and {n} more: save, then map the rest.")]
    return _modal(MAP_OWNERS, "Map owners to Slack", blocks, submit="Save", version=None)


def notice_modal(text: str, title: str = "SLA Bot") -> View:
    """A modal that only says something (a refusal from the App Home, a result)."""
    return _modal("notice", title, [section(text)], submit=None, version=None)


def saved_modal(title: str, lines: list[str]) -> View:
    """What a submission did, replacing the modal (`response_action: update`)."""
    return notice_modal(lines_within(lines), title)


OPEN_TARGETS = "open_edit_targets"
OPEN_REVISE = "open_revise_agreement"
OPEN_OWNERS = "open_map_owners"
OPENERS = (OPEN_TARGETS, OPEN_REVISE, OPEN_OWNERS)
