"""The `/sla` help, and the short replies every command shares (a problem, a refusal, a done)."""

from __future__ import annotations

from bot.blocks.common import Reply, context, section
from bot.commands import WORDS, CommandError


def help_reply(word: str | None = None) -> Reply:
    """Every word with what it does; or one word's usage and example."""
    if word is not None:
        usage = WORDS[word]
        text = f"`/sla {usage.syntax}`: {usage.summary}. Example: `/sla {usage.example}`"
        return Reply(text, [section(text), context(_public_hint())])
    lines = [f"`/sla {usage.syntax}`  {usage.summary}" for usage in WORDS.values()]
    return Reply(
        "SLA Bot commands: " + ", ".join(f"/sla {word}" for word in WORDS),
        [
            section("*SLA Bot commands*\n" + "\n".join(lines)),
            context(_public_hint()),
        ],
    )


def _public_hint() -> str:
    return "Replies are only for you; add `public` to share one with the channel."


def problem_reply(error: CommandError) -> Reply:
    """What was wrong with the typed text, with the usage of its word or the whole help."""
    text = f":warning: {error.message}"
    if error.show_help:
        listing = help_reply()
        return Reply(f"{error.message} {listing.text}", [section(text), *listing.blocks])
    if error.word is not None:
        usage = WORDS[error.word]
        return Reply(
            error.message,
            [section(text), context(f"Usage: `/sla {usage.syntax}`, e.g. `/sla {usage.example}`")],
        )
    return notice(error.message, icon=":warning:")


def notice(message: str, *, icon: str = "") -> Reply:
    """A one-sentence reply (done, refused, not possible), fallback and block alike."""
    shown = f"{icon} {message}" if icon else message
    return Reply(message, [section(shown)])
