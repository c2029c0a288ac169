"""A digest's Slack message as a Markdown document for the meeting, with its charts linked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.blocks.common import Block, Reply

_MENTION = re.compile(r"<[@#]([A-Z0-9]+)(?:\|([^>]*))?>")
_BOLD = re.compile(r"(?<![\w*`])\*([^*\n]+)\*(?![\w*])")


def unslack(text: str) -> str:
    """Slack mrkdwn's mentions and escapes as plain text (`<@U1>` -> `@U1`, `&lt;` -> `<`)."""
    text = _MENTION.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def bold_spans(text: str, before: str, after: str) -> str:
    """mrkdwn `*bold*` written with another markup's markers (`**…**`, `[bold]…[/bold]`)."""
    return _BOLD.sub(lambda m: f"{before}{m.group(1)}{after}", text)


def hard_breaks(text: str) -> str:
    """Slack's line breaks kept in Markdown (two trailing spaces), except inside code blocks."""
    out, code = [], False
    lines = text.split("\n")
    for index, line in enumerate(lines):
        code ^= line.startswith("```")
        last = index == len(lines) - 1
        out.append(line if code or last or line.startswith("```") else line + "  ")
    return "\n".join(out)


def block_texts(block: Block) -> list[str]:
    """The texts a block shows, in order (a section's text and fields, a context's elements)."""
    texts = [block["text"]["text"]] if isinstance(block.get("text"), dict) else []
    texts += [item["text"] for item in block.get("fields", []) + block.get("elements", [])]
    return [unslack(text) for text in texts]


def markdown_report(reply: Reply, charts: Sequence[tuple[str, str]]) -> str:
    """The message as Markdown, then each chart as an image: `charts` are (title, file name)."""
    parts: list[str] = []
    for block in reply.blocks:
        kind = block["type"]
        texts = block_texts(block)
        if kind == "header":
            parts.append("# " + " ".join(texts))
        elif kind == "divider":
            parts.append("---")
        elif kind == "context":
            parts.append(" · ".join(f"_{bold_spans(t, '**', '**')}_" for t in texts))
        else:
            parts += [hard_breaks(bold_spans(text, "**", "**")) for text in texts]
    if charts:
        parts.append("## Charts")
        parts += [f"![{title}]({name})" for title, name in charts]
    return "\n\n".join(parts) + "\n"
