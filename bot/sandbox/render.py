"""Block Kit as readable terminal text: what `slabot demo` and `slabot sandbox` print.

Pure functions, plain text (no colour codes: the output also goes to files and CI logs). A
header is underlined, fields stand in two columns, context lines start with `  · `, buttons
read `[ Contacted ]` (`*` after a primary one, `!` after a dangerous one), menus
`[ Snooze ▾ ]`, images `[image: alt text]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.sandbox.mrkdwn import QUOTE, Line, mrkdwn_lines, name_of, wrap, wrap_text
from bot.sandbox.rich_text import rich_text_lines
from bot.sandbox.shown import Shown

__all__ = ["Shown", "render_blocks", "render_message"]

Block = dict[str, Any]
CONTEXT = "  · "
GAP = "   "  # between the two columns of fields
INPUT_LINES = 8  # of a long pre-filled text box (a pasted agreement); the rest are counted
STYLE_MARKS = {"primary": "*", "danger": "!"}
# Blocks drawn against the block above them, as Slack draws them: a lead's buttons under it.
_ATTACHED = frozenset({"actions", "context", "divider"})


def render_blocks(
    blocks: list[dict[str, Any]], *, names: Mapping[str, str] | None = None, width: int = 78
) -> str:
    """The blocks as lines of text no wider than `width` (but code blocks, kept as they are)."""
    names = names or {}
    out: list[str] = []
    previous = ""
    for block in blocks:
        kind = str(block.get("type") or "")
        lines = _block(block, names, width)
        if out and lines and kind not in _ATTACHED and previous not in ("header", "divider"):
            out.append("")
        out += lines
        previous = kind
    return "\n".join(out)


def render_message(
    message: Shown, *, names: Mapping[str, str] | None = None, width: int = 78
) -> str:
    """A title line saying where it went and what it is, then what it shows."""
    names = names or {}
    if message.blocks:
        body = render_blocks(message.blocks, names=names, width=width)
    else:
        body = "\n".join(wrap(mrkdwn_lines(message.text, names), width))
    if message.kind == "modal":
        body = "\n\n".join(part for part in (body, _view_buttons(message.view or {})) if part)
    if message.kind == "file":
        body = "\n".join(_file_lines(message, names, width))
    title = f"── {_title(message, names)} ──"
    return f"{title}\n{body}" if body else title


# --- titles ---------------------------------------------------------------------------------


def _title(message: Shown, names: Mapping[str, str]) -> str:
    where = _place(message.channel, names)
    viewer = f"@{name_of(message.user, names)}" if message.user else "you"
    if message.kind == "message":
        return where if where.endswith("(direct message)") else f"{where} · new message"
    if message.kind == "reply":
        return f"{where} · thread reply"
    if message.kind == "edit":
        return f"{where} · message edited"
    if message.kind == "ephemeral":
        return f"{where} · only {viewer} can see this"
    if message.kind == "response":
        return _response_title(message, names)
    if message.kind == "home":
        return f"App Home of {viewer}"
    if message.kind == "modal":
        done = "modal updated" if message.replaces else "modal opened"
        return f"{done}: {message.title}" if message.title else done
    size = f" ({_size(message.size)})" if message.size is not None else ""
    shared = "shared in a thread of" if message.thread_ts else "shared in"
    return (
        f"file {message.name}{size} {shared} {where}"
        if message.channel
        else f"file {message.name}{size} uploaded"
    )


def _place(channel: str | None, names: Mapping[str, str]) -> str:
    """`#alerts`, or `@ana (direct message)`: where a message went."""
    if not channel:
        return "somewhere"
    if channel[0] in "#@":
        return channel
    if channel[0] in "UW" or (channel[0] == "D" and channel in names):
        return f"@{name_of(channel, names)} (direct message)"
    if channel[0] == "D":
        return f"a direct message ({channel})"
    return f"#{name_of(channel, names)}"


def _response_title(message: Shown, names: Mapping[str, str]) -> str:
    said = f"reply to {message.origin}" if message.origin else "reply"
    where = _place(message.channel, names)
    if message.replaces:
        return f"{said} (replaces the message)"
    if message.public:
        return f"{said} in {where}" if message.channel else f"{said} (in the channel)"
    return f"{said} (only you can see this)"


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


def _file_lines(message: Shown, names: Mapping[str, str], width: int) -> list[str]:
    lines = []
    if message.title and message.title != message.name:
        lines.append(message.title)
    if message.alt:
        lines += wrap_text(f"[image: {message.alt}]", width)
    lines += wrap(mrkdwn_lines(message.text, names), width)
    return lines


def _view_buttons(view: dict[str, Any]) -> str:
    """A modal's own buttons, as Slack places them: close on the left, submit on the right."""
    close, submit = view.get("close"), view.get("submit")
    shown = [_text(close) and f"[ {_text(close)} ]", _text(submit) and f"[ {_text(submit)} ]*"]
    return "  ".join(button for button in shown if button)


# --- blocks ---------------------------------------------------------------------------------


def _block(block: Block, names: Mapping[str, str], width: int) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        lines = wrap_text(_text(block.get("text")), width)
        return [*lines, "═" * min(width, max(map(len, lines), default=0))]
    if kind == "section":
        return _section(block, names, width)
    if kind == "divider":
        return ["─" * width]
    if kind == "context":
        return _context(block, names, width)
    if kind == "actions":
        return _row([_element(element, names) for element in block.get("elements") or []], width)
    if kind == "image":
        title = _text(block.get("title"))
        return [*([title] if title else []), *wrap_text(_image(block), width)]
    if kind == "input":
        return _input(block, names, width)
    if kind == "rich_text":
        return wrap(rich_text_lines(block, names), width)
    if kind == "file":
        return [f"[file: {block.get('external_id') or block.get('file_id') or '?'}]"]
    return [f"[{kind} block]"]


def _section(block: Block, names: Mapping[str, str], width: int) -> list[str]:
    lines = wrap(_text_lines(block.get("text"), names), width) if block.get("text") else []
    fields = [_text_lines(field, names) for field in block.get("fields") or []]
    column = (width - len(GAP)) // 2
    for left, right in zip(fields[::2], [*fields[1::2], []], strict=False):
        left_lines, right_lines = wrap(left, column), wrap(right, column)
        for row in range(max(len(left_lines), len(right_lines))):
            cell = left_lines[row] if row < len(left_lines) else ""
            other = right_lines[row] if row < len(right_lines) else ""
            lines.append(f"{cell.ljust(column)}{GAP}{other}".rstrip() if other else cell)
    accessory = block.get("accessory")
    if accessory:
        shown = _element(accessory, names)
        lines.append(shown.rjust(width) if len(shown) < width else shown)
    return lines


def _input(block: Block, names: Mapping[str, str], width: int) -> list[str]:
    label = _text(block.get("label")) + (" (optional)" if block.get("optional") else "")
    element = block.get("element") or {}
    lines = wrap_text(label, width)
    value = str(element.get("initial_value") or "")
    if element.get("type") == "plain_text_input" and "\n" in value:
        rows = value.split("\n")
        shown = [Line(QUOTE + row, verbatim=True) for row in rows[:INPUT_LINES]]
        if len(rows) > INPUT_LINES:
            shown.append(Line(f"{QUOTE}… {len(rows) - INPUT_LINES} more lines"))
        lines += wrap(shown, width, "  ")
    else:
        lines += _row([_element(element, names)], width, "  ")
    hint = _text(block.get("hint"))
    return lines + (wrap_text(hint, width, CONTEXT, " " * len(CONTEXT)) if hint else [])


def _row(items: list[str], width: int, indent: str = "") -> list[str]:
    """Buttons and menus side by side, on as many lines as `width` needs; none cut in two."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += "  " + item
        else:
            lines.append(indent + item)
    return lines


def _element(element: Block, names: Mapping[str, str]) -> str:
    """An element of an actions or context block, an accessory, an input's field."""
    kind = str(element.get("type") or "")
    if kind == "image":
        return _image(element)
    if kind == "button":
        return f"[ {_text(element.get('text'))} ]{STYLE_MARKS.get(element.get('style', ''), '')}"
    if kind == "overflow":
        return (
            "[ ⋯ " + " / ".join(_text(o.get("text")) for o in element.get("options") or []) + " ]"
        )
    if kind in ("checkboxes", "radio_buttons"):
        return _choices(element)
    if kind == "plain_text_input":
        value = element.get("initial_value") or _text(element.get("placeholder"))
        return f"[ {value or '_' * 12} ]"
    return f"[ {_chosen(element, names) or kind.replace('_', ' ')} ▾ ]"


def _context(block: Block, names: Mapping[str, str], width: int) -> list[str]:
    """Each element of a context block on its own `  · ` line (a terminal has no small print)."""
    lines: list[str] = []
    for element in block.get("elements") or []:
        if element.get("type") in ("mrkdwn", "plain_text"):
            part = _text_lines(element, names)
        else:
            part = [Line(_element(element, names))]
        lines += wrap(part, width, CONTEXT, " " * len(CONTEXT))
    return lines


def _chosen(element: Block, names: Mapping[str, str]) -> str:
    """What a menu or picker shows: its choice, else its placeholder."""
    for key, mark in (
        ("initial_user", "@"),
        ("initial_channel", "#"),
        ("initial_conversation", "#"),
    ):
        if element.get(key):
            return mark + name_of(str(element[key]), names)
    for key in ("initial_date", "initial_time"):
        if element.get(key):
            return str(element[key])
    option = element.get("initial_option")
    if option:
        return _text(option.get("text"))
    return _text(element.get("placeholder"))


def _choices(element: Block) -> str:
    chosen = [o.get("value") for o in element.get("initial_options") or []]
    if element.get("initial_option"):
        chosen.append(element["initial_option"].get("value"))
    box = ("[x]", "[ ]") if element.get("type") == "checkboxes" else ("(•)", "( )")
    return "  ".join(
        f"{box[0] if o.get('value') in chosen else box[1]} {_text(o.get('text'))}"
        for o in element.get("options") or []
    )


def _image(element: Block) -> str:
    return f"[image: {element.get('alt_text') or element.get('image_url') or 'no description'}]"


def _text(value: Any) -> str:
    """A text object's text as written (`plain_text` is shown as is)."""
    return str(value.get("text") or "") if isinstance(value, dict) else str(value or "")


def _text_lines(value: Any, names: Mapping[str, str]) -> list[Line]:
    if isinstance(value, dict) and value.get("type") == "plain_text":
        return [Line(line) for line in _text(value).split("\n")]
    return mrkdwn_lines(_text(value), names)
