"""Slack's Block Kit limits, as the fake Slack enforces them on everything the bot sends."""

from __future__ import annotations

import json
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
FIELDS = 10
FIELD_TEXT = 2000
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BLOCK_TYPES = frozenset(
    {"section", "header", "divider", "context", "actions", "image", "input", "rich_text", "file"}
)


class BlockKitError(ValueError):
    """What Slack would refuse, with a pointer to where: `blocks[3].text: 3001 characters…`."""


def check_message(args: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's blocks (parsed), checked; a message needs `text` or blocks with a fallback."""
    blocks = _parse(args.get("blocks"))
    text = str(args.get("text") or "")
    if not text.strip():
        # Slack accepts it but screen readers and notifications get nothing: our rule is stricter.
        raise BlockKitError("no_text: every message needs a `text` fallback")
    if len(blocks) > MESSAGE_BLOCKS:
        raise BlockKitError(f"invalid_blocks: {len(blocks)} blocks (at most {MESSAGE_BLOCKS})")
    check_blocks(blocks)
    return blocks


def check_view(view: Any) -> dict[str, Any]:
    """A modal or Home tab view (parsed), checked."""
    if isinstance(view, str):
        view = json.loads(view)
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        raise BlockKitError("invalid_arguments: view.type must be modal or home")
    blocks = view.get("blocks") or []
    if len(blocks) > VIEW_BLOCKS:
        raise BlockKitError(
            f"invalid_blocks: {len(blocks)} blocks in a view (at most {VIEW_BLOCKS})"
        )
    if view["type"] == "modal":
        title = (view.get("title") or {}).get("text", "")
        if not title or len(title) > 24:
            raise BlockKitError("invalid_arguments: a modal title needs 1-24 characters")
    check_blocks(blocks)
    return view


def check_blocks(blocks: list[dict[str, Any]]) -> None:
    ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            raise BlockKitError(f"invalid_blocks: {where}.type {kind!r} is not a block type")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in ids:
                raise BlockKitError(f"invalid_blocks: {where}.block_id {block_id!r} is repeated")
            ids.add(block_id)
        if kind == "section":
            _section(block, where)
        elif kind == "header":
            _text(block.get("text"), f"{where}.text", HEADER_TEXT, plain=True)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= CONTEXT_ELEMENTS:
                raise BlockKitError(f"invalid_blocks: {where}.elements needs 1-{CONTEXT_ELEMENTS}")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= ACTIONS_ELEMENTS:
                raise BlockKitError(f"invalid_blocks: {where}.elements needs 1-{ACTIONS_ELEMENTS}")


def _section(block: dict[str, Any], where: str) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        raise BlockKitError(f"invalid_blocks: {where} needs text or fields")
    if text is not None:
        _text(text, f"{where}.text", SECTION_TEXT)
    if fields:
        if len(fields) > FIELDS:
            raise BlockKitError(
                f"invalid_blocks: {where}.fields has {len(fields)} (at most {FIELDS})"
            )
        for number, item in enumerate(fields):
            _text(item, f"{where}.fields[{number}]", FIELD_TEXT)


def _text(value: Any, where: str, limit: int, *, plain: bool = False) -> None:
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise BlockKitError(f"invalid_blocks: {where} must be a text object")
    if plain and value.get("type") != "plain_text":
        raise BlockKitError(f"invalid_blocks: {where} must be plain_text")
    if not value["text"]:
        raise BlockKitError(f"invalid_blocks: {where} is empty")
    if len(value["text"]) > limit:
        raise BlockKitError(
            f"invalid_blocks: {where}: {len(value['text'])} characters (at most {limit})"
        )


def _parse(blocks: Any) -> list[dict[str, Any]]:
    if blocks is None or blocks == "":
        return []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not isinstance(blocks, list):
        raise BlockKitError("invalid_blocks_format: blocks must be a list")
    return blocks
