"""Pieces every builder shares, within Slack's limits, each message with its `text` fallback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
FIELDS = 10
FIELD_TEXT = 2000
CONTEXT_ELEMENTS = 10

Block = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A message: the fallback `text` (notifications, screen readers) and its blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """The arguments of `respond`, `say` or `chat_postMessage`."""
        return {"text": self.text, "blocks": self.blocks}


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = HEADER_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit) or " "}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text)}


def section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def fields(items: list[str]) -> list[Block]:
    """Short facts two to a row, as many sections as 10 fields each need."""
    return [
        {"type": "section", "fields": [mrkdwn(item, FIELD_TEXT) for item in items[i : i + FIELDS]]}
        for i in range(0, len(items), FIELDS)
    ]


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text) for text in texts[:CONTEXT_ELEMENTS]]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(text, 75),
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def capped(items: list[Block], room: int, more: str = "…and {n} more") -> list[Block]:
    """At most `room` blocks of `items`; when some are left out, the last says how many."""
    if len(items) <= room:
        return items
    kept = items[: max(room - 1, 0)]
    return [*kept, context(more.format(n=len(items) - len(kept)))]


def lines_within(lines: list[str], limit: int = SECTION_TEXT, more: str = "…and {n} more") -> str:
    """Lines joined for one section, cut at whole lines with "…and N more" to fit `limit`."""
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        tail = len(more.format(n=len(lines) - index)) + 1
        if size + len(line) + 1 + (tail if index < len(lines) - 1 else 0) > limit:
            return "\n".join([*kept, more.format(n=len(lines) - len(kept))])
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)
