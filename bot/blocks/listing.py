"""Lists in a message: people as mentions, lines cut with "…and N more" when they overflow."""

from __future__ import annotations

from bot.blocks.common import SECTION_TEXT


def owner_text(owner: str | None) -> str:
    """A Slack user as a mention; an owner only known by email as the email."""
    if not owner:
        return "no owner"
    return f"<@{owner}>" if "@" not in owner else owner


def listed(lines: list[str], hidden: int, limit: int = SECTION_TEXT) -> str:
    """Lines that fit in `limit`, then "…and N more" counting the cut ones and `hidden`."""
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        left = len(lines) - index - 1 + hidden  # what a "more" line after this one counts
        tail = len(f"…and {left + 1} more") + 1 if left else 0
        if size + len(line) + 1 + tail > limit:
            break
        kept.append(line)
        size += len(line) + 1
    more = len(lines) - len(kept) + hidden
    return "\n".join([*kept, f"…and {more} more"] if more else kept)
