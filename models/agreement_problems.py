"""Agreement problems: pydantic's errors turned into `funnel[3].rate`, the YAML line, and advice."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

from models.agreement import Agreement

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an agreement file: where (`funnel[3].rate`, line) and what."""

    path: str
    message: str
    line: int | None = None

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class AgreementError(ValueError):
    """The agreement file is not acceptable; `problems` says every reason found."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{self.file}: the agreement was not accepted ({len(self.problems)} problem"
        head += "s)" if len(self.problems) != 1 else ")"
        return "\n".join([head, *(f"  {p.render(self.file)}" for p in self.problems)])


def problems_of(data: CommentedMap, errors: list[Any]) -> list[Problem]:
    # A misspelt required key is one mistake, not two: the did-you-mean says it all, so the
    # "is required" of the key it meant is left out.
    meant = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            loc = tuple(error["loc"])
            close = _suggest(str(loc[-1]), _known_keys(data, loc[:-1]))
            if close:
                meant.add((*loc[:-1], close))
    return [
        _problem(data, error)
        for error in errors
        if not (error["type"] == "missing" and tuple(error["loc"]) in meant)
    ]


def _suggest(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _problem(data: CommentedMap, error: Any) -> Problem:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx", {})
    given = error.get("input")
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        key = str(loc[-1])
        message = f"unknown key {key!r}"
        known = _known_keys(data, loc[:-1])
        close = _suggest(key, known)
        if close:
            message += f"; did you mean {close!r}?"
        elif known:
            message += f"; expected one of: {', '.join(sorted(known))}"
    elif kind == "union_tag_invalid":
        message = f"unknown kind {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags', '')}"
        loc = (*loc, "kind")
    elif kind == "union_tag_not_found":
        message = "is required (the kind of source: hubspot, metrics_csv, leads_csv, deals_csv or http_json)"
        loc = (*loc, "kind")
    elif kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
    elif kind == "invalid_key":
        message = f"a key must be a name such as 'currency', not {_show(given)}"
    elif given is None and kind.endswith("_type"):
        message = "has no value; write one after the colon, or leave the key out if it is optional"
    elif kind in ("decimal_parsing", "decimal_type", "float_parsing", "float_type"):
        message = (
            f"expected a number such as 0.25 or 1200000 (digits only: no units, currency "
            f"signs or thousands separators); got {_show(given)}"
        )
    elif kind == "finite_number":
        message = f"expected a finite number such as 0.25 or 1200000; got {_show(given)}"
    elif kind == "string_type":
        message = f"expected text; got {_show(given)}"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        keys = _known_keys(data, loc)
        message = "expected a mapping of `key: value` pairs"
        if keys:
            message += f" (keys: {', '.join(keys)})"
        message += f"; got {_show(given)}"
    elif kind == "list_type":
        message = f"expected a list, e.g. [a, b] or one `- item` per line; got {_show(given)}"
    elif kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        message = f"{_show(given)} is not one of: {', '.join(choices)}"
        close = _suggest(str(given), choices) if isinstance(given, str) else None
        if close:
            message += f"; did you mean {close!r}?"
    elif kind in ("too_short", "string_too_short"):
        message = "must not be empty"
    elif kind.startswith("date"):
        reason = ctx.get("error")
        message = f"{_show(given)} is not a date" + (f" ({reason})" if reason else "")
        message += "; write YYYY-MM-DD, e.g. 2027-06-30"
    else:
        message = str(error["msg"])
        if "input" in error and not isinstance(given, dict | list):
            message += f"; got {_show(given)}"
    return located(data, loc, message)


def _show(value: Any) -> str:
    """A value as the person wrote it in YAML, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, TaggedScalar):
        return f"a value tagged {value.tag}"
    if isinstance(value, Decimal):
        return str(value)
    return repr(value)


def located(data: CommentedMap, loc: Loc, message: str) -> Problem:
    """Turn a pydantic location into `funnel[3].rate` and the YAML line it sits on."""
    node: Any = data
    line: int | None = 1
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(node, CommentedMap) and part in node:
            line = _line_in(node, part, line, node.lc.key)
            node = node[part]
        elif isinstance(part, int) and not isinstance(node, CommentedMap):
            path += f"[{part}]"
            if isinstance(node, CommentedSeq) and 0 <= part < len(node):
                line = _line_in(node, part, line, node.lc.item)
                node = node[part]
            else:
                node = None
            continue
        elif isinstance(node, CommentedMap) and part == node.get("kind"):
            continue  # a discriminated union's tag, not a key in the file
        else:
            node = None
        path += f".{part}" if path else str(part)
    return Problem(path, message, line)


def _line_in(
    node: Any, part: str | int, outer: int | None, position: Callable[[Any], Any]
) -> int | None:
    """The line of `part` in `node`; a key merged in (`<<: *base`) was written elsewhere and
    has no line in `node`, so the line of the key that holds `node` stands for it."""
    try:
        return int(position(part)[0]) + 1
    except (KeyError, IndexError, TypeError):  # TypeError: ruamel has no lines for `node`
        return outer


def _known_keys(data: CommentedMap, loc: Loc) -> list[str]:
    """Keys the model at `loc` accepts, to suggest the one a misspelt key meant."""
    annotation: Any = Agreement
    node: Any = data
    for part in loc:
        if part == "[key]":
            continue
        annotation = _child(_unwrap(annotation, node), part)
        node = node[part] if isinstance(node, dict | list) and _has(node, part) else None  # type: ignore[index]
        if annotation is None:
            return []
    model = _unwrap(annotation, node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _has(node: dict[Any, Any] | list[Any], part: str | int) -> bool:
    if isinstance(node, list):
        return isinstance(part, int) and 0 <= part < len(node)
    return part in node


def _child(annotation: Any, part: str | int) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    if typing.get_origin(annotation) in (list, dict):
        return typing.get_args(annotation)[-1]
    return None


def _unwrap(annotation: Any, node: Any) -> Any:
    """Strip Annotated and Optional; pick the member of the tagged source union by `kind`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], node)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _unwrap(options[0], node)
        kind = node.get("kind") if isinstance(node, dict) else None
        for option in options:
            field = getattr(option, "model_fields", {}).get("kind")
            if field is not None and kind in typing.get_args(field.annotation):
                return option
        return None
    return annotation
