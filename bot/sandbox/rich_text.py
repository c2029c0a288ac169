"""A `rich_text` block as lines of plain text: sections, lists, quotes, preformatted text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.sandbox.mrkdwn import QUOTE, Line, name_of

_BROADCASTS = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def rich_text_lines(block: dict[str, Any], names: Mapping[str, str]) -> list[Line]:
    lines: list[Line] = []
    for part in block.get("elements") or []:
        kind = part.get("type")
        text = _inline(part.get("elements") or [], names)
        if kind == "rich_text_list":
            lines += _list(part, names)
        elif kind == "rich_text_quote":
            lines += [Line(QUOTE + line) for line in text.split("\n")]
        elif kind == "rich_text_preformatted":
            lines += [Line(line, verbatim=True) for line in text.split("\n")]
        else:
            lines += [Line(line) for line in text.removesuffix("\n").split("\n")]
    return lines


def _list(part: dict[str, Any], names: Mapping[str, str]) -> list[Line]:
    indent = "  " * int(part.get("indent") or 0)
    ordered = part.get("style") == "ordered"
    items = part.get("elements") or []
    return [
        Line(
            f"{indent}{f'{number}.' if ordered else '•'} {_inline(item.get('elements') or [], names)}"
        )
        for number, item in enumerate(items, start=int(part.get("offset") or 0) + 1)
    ]


def _inline(elements: list[dict[str, Any]], names: Mapping[str, str]) -> str:
    return "".join(_element(element, names) for element in elements)


def _element(element: dict[str, Any], names: Mapping[str, str]) -> str:
    kind = element.get("type")
    if kind == "text":
        text = str(element.get("text") or "")
        return f"`{text}`" if (element.get("style") or {}).get("code") else text
    if kind == "link":
        return str(element.get("text") or element.get("url") or "")
    if kind == "user":
        return "@" + name_of(str(element.get("user_id") or ""), names)
    if kind == "channel":
        return "#" + name_of(str(element.get("channel_id") or ""), names)
    if kind == "usergroup":
        return "@" + name_of(str(element.get("usergroup_id") or ""), names)
    if kind == "broadcast":
        return _BROADCASTS.get(str(element.get("range")), "@here")
    if kind == "emoji":
        return f":{element.get('name')}:"
    if kind == "date":
        return str(element.get("fallback") or element.get("timestamp") or "")
    return str(element.get("text") or "")
