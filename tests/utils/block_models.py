"""Block Kit checked with slack_sdk's own models, on top of the fake Slack's limits."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.blocks.common import MESSAGE_BLOCKS, VIEW_BLOCKS, Reply


def valid_blocks(blocks: list[dict[str, Any]]) -> None:
    """Each block parses into slack_sdk's model, validates, and loses nothing on the way."""
    for block in blocks:
        model = Block.parse(block)
        assert model is not None, block
        model.validate_json()
        assert model.to_dict() == block, f"slack_sdk does not know part of {block}"


def valid_message(reply: Reply) -> None:
    assert reply.text.strip(), "a message needs its text fallback"
    assert len(reply.blocks) <= MESSAGE_BLOCKS
    valid_blocks(reply.blocks)


def valid_view(view: dict[str, Any]) -> None:
    assert len(view["blocks"]) <= VIEW_BLOCKS
    model = View(**view)
    model.validate_json()
    valid_blocks(view["blocks"])


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every text of the blocks, one per line, to assert on what people read."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("text"), str):
                out.append(value["text"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(blocks)
    return "\n".join(out)
