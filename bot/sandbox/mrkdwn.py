"""Slack's mrkdwn as plain terminal text: markers dropped, mentions named, lines wrapped.

`*bold*`, `_italic_` and `~strike~` lose their markers (only where Slack reads them as markers:
at word edges, so `not_a_fit` and `:large_green_circle:` stay whole); `<@U1>`, `<#C1|sales>`,
`<!here>` and `<https://x|label>` become `@ana`, `#sales`, `@here` and `label`; `&amp;`, `&lt;`
and `&gt;` are unescaped last, so escaped text never turns into markup. Inline code keeps its
backticks; code blocks keep their lines exactly (they hold aligned tables), never wrapped.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

QUOTE = "│ "
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
_TOKEN = re.compile(r"`[^`\n]+`|<[^<>\n]+>")
_PLACEHOLDER = re.compile("[\U000f0000-\U000ffffd]")  # private use: never in the bot's text
_HANG = re.compile(r"^(\s*(?:[•◦▪\-]|\d+[.)])\s+|│ )")
_BROADCASTS = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def _emphasis(mark: str) -> re.Pattern[str]:
    """A marker pair as Slack reads it: not inside a word, hugging non-space text, one line."""
    m = re.escape(mark)
    return re.compile(rf"(?<![\w{m}]){m}(?=[^\s{m}])([^\n]*?[^\s{m}]){m}(?![\w{m}])")


_EMPHASES = [_emphasis(mark) for mark in ("*", "_", "~")]


@dataclass(frozen=True)
class Line:
    """One line of text; a `verbatim` one (in a code block) is never wrapped."""

    text: str
    verbatim: bool = False


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def name_of(entity: str, names: Mapping[str, str], label: str = "") -> str:
    """A user's, channel's or group's name without its `@`/`#`; the label or the id otherwise."""
    return (names.get(entity) or label or entity).lstrip("@#")


def mrkdwn_lines(text: str, names: Mapping[str, str] | None = None) -> list[Line]:
    """mrkdwn as lines of plain text."""
    names = names or {}
    lines: list[Line] = []
    position = 0
    for fence in _FENCE.finditer(text):
        # The newline between a fence and its neighbours separates them; it is not a blank line.
        before = text[position : fence.start()]
        lines += _prose(before.removeprefix("\n") if position else before, names, fenced=True)
        code = fence.group(1).removeprefix("\n").removesuffix("\n")
        lines += [Line(_inline_tokens(line, names), verbatim=True) for line in code.split("\n")]
        position = fence.end()
    rest = text[position:]
    lines += _prose(rest.removeprefix("\n") if position else rest, names, fenced=False)
    return lines


def mrkdwn_text(text: str, names: Mapping[str, str] | None = None) -> str:
    """mrkdwn as plain text, unwrapped."""
    return "\n".join(line.text for line in mrkdwn_lines(text, names))


def _prose(text: str, names: Mapping[str, str], *, fenced: bool) -> list[Line]:
    """Lines outside code blocks; `fenced` when a code block follows."""
    text = text.removesuffix("\n") if fenced else text
    if not text:
        return []
    lines = []
    for raw in text.split("\n"):
        quoted = raw.startswith(">")  # a literal `>`: escaped text arrives as `&gt;`
        line = _inline(raw.removeprefix(">").lstrip() if quoted else raw, names)
        lines.append(Line(QUOTE + line if quoted else line))
    return lines


def _inline(text: str, names: Mapping[str, str]) -> str:
    """One line: code spans and `<…>` set aside, markers dropped, entities unescaped."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(_token(match.group(0), names))
        return chr(0xF0000 + len(kept) - 1)

    text = unescape(_unmarked(_TOKEN.sub(keep, text)))
    return _PLACEHOLDER.sub(lambda match: kept[ord(match.group(0)) - 0xF0000], text)


def _unmarked(text: str) -> str:
    for emphasis in _EMPHASES:
        text = emphasis.sub(r"\1", text)
    return text


def _inline_tokens(text: str, names: Mapping[str, str]) -> str:
    """A code block's line: mentions and links named, entities unescaped, markers kept."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(_token(match.group(0), names))
        return chr(0xF0000 + len(kept) - 1)

    text = unescape(re.sub(r"<[^<>\n]+>", keep, text))
    return _PLACEHOLDER.sub(lambda match: kept[ord(match.group(0)) - 0xF0000], text)


def _token(token: str, names: Mapping[str, str]) -> str:
    if token.startswith("`"):
        return unescape(token)
    target, _, label = token[1:-1].partition("|")
    label = unescape(_unmarked(label))
    if target.startswith("@"):
        return "@" + name_of(target[1:], names, label)
    if target.startswith("#"):
        return "#" + name_of(target[1:], names, label)
    if target.startswith("!"):
        return _special(target[1:], label, names)
    return label or unescape(target).removeprefix("mailto:")


def _special(target: str, label: str, names: Mapping[str, str]) -> str:
    """`<!here>`, `<!subteam^S1|@sales>`, `<!date^1700000000^{date}|fallback>`."""
    word, _, rest = target.partition("^")
    if word in _BROADCASTS:
        return _BROADCASTS[word]
    if word == "subteam":
        return label if label.startswith("@") else "@" + name_of(rest, names, label)
    return label or f"@{word}"


def wrap(lines: list[Line], width: int, first: str = "", rest: str | None = None) -> list[str]:
    """Lines wrapped to `width` under a prefix (`first` on the first, `rest` on the others);
    a bullet or a quote keeps its hanging indent."""
    rest = first if rest is None else rest
    out: list[str] = []
    for line in lines:
        prefix = rest if out else first
        if line.verbatim or not line.text.strip():
            out.append((prefix + line.text).rstrip())
            continue
        hang = _HANG.match(line.text)
        under = (QUOTE if hang.group(1) == QUOTE else " " * len(hang.group(1))) if hang else ""
        out += textwrap.wrap(
            line.text,
            max(width, len(prefix) + len(under) + 10),  # a deep indent still leaves some room
            initial_indent=prefix,
            subsequent_indent=rest + under,
            break_long_words=False,
            break_on_hyphens=False,
        )
    return out


def wrap_text(text: str, width: int, first: str = "", rest: str | None = None) -> list[str]:
    """Plain text (not mrkdwn) wrapped like `wrap`."""
    return wrap([Line(line) for line in text.split("\n")], width, first, rest)
