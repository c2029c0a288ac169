"""Reads an agreement YAML file into an `Agreement`, or explains each problem with path and line."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from models.agreement import CSV_SOURCE_KINDS, Agreement
from models.agreement_rules import check_rules

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


def load_agreement(path: Path) -> Agreement:
    """Read, validate and resolve an agreement file; raise `AgreementError` on any problem."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AgreementError(
            file,
            [
                Problem(
                    "",
                    "no such file; check the path (examples/agreement.yaml is a complete example)",
                )
            ],
        ) from None
    except IsADirectoryError:
        raise AgreementError(
            file, [Problem("", "is a folder; give the agreement YAML file")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AgreementError(file, [Problem("", f"cannot be read: {exc}")]) from None
    return parse_agreement(text, file=file, base_dir=path.resolve().parent)


def parse_agreement(
    text: str, *, file: str = "<agreement>", base_dir: Path | None = None
) -> Agreement:
    """Validate agreement YAML text; relative source paths are resolved against `base_dir`."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    try:
        data = yaml.load(text)
    except DuplicateKeyError as exc:
        raise AgreementError(file, [_duplicate_key(text, exc)]) from None
    except MarkedYAMLError as exc:
        raise AgreementError(file, [_syntax_error(exc)]) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"YAML syntax error: the control character U+{code:04X} is not allowed; remove it"
        raise AgreementError(file, [Problem("", message, line)]) from None
    except YAMLError as exc:
        raise AgreementError(file, [Problem("", f"YAML syntax error: {exc}")]) from None
    if data is None:
        raise AgreementError(
            file, [Problem("", "the file is empty; see examples/agreement.yaml for one", 1)]
        )
    if not isinstance(data, CommentedMap):
        raise AgreementError(
            file,
            [
                Problem(
                    "",
                    f"the file must be a mapping of keys (name:, period:, …), not {_kind(data)}",
                    1,
                )
            ],
        )
    try:
        agreement = Agreement.model_validate(_plain(data))
    except ValidationError as exc:
        raise AgreementError(file, _unique(_problems(data, exc.errors()))) from None
    problems = [_located(data, loc, message) for loc, message in check_rules(agreement)]
    if problems:
        raise AgreementError(file, _unique(problems))
    return _resolve_paths(agreement, base_dir)


def canonical_json(agreement: Agreement) -> str:
    """The agreement as canonical JSON: what versions are compared and stored by."""
    return json.dumps(agreement.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def content_hash(agreement: Agreement) -> str:
    return hashlib.sha256(canonical_json(agreement).encode()).hexdigest()


def _resolve_paths(agreement: Agreement, base_dir: Path | None) -> Agreement:
    if base_dir is None:
        return agreement
    sources = []
    for source in agreement.sources:
        if source.kind in CSV_SOURCE_KINDS:
            path = Path(source.path)  # type: ignore[union-attr]
            if not path.is_absolute():
                source = source.model_copy(update={"path": str((base_dir / path).resolve())})
        sources.append(source)
    return agreement.model_copy(update={"sources": sources})


class _Constructor(RoundTripConstructor):
    """ruamel's round-trip constructor, but a date that is not on the calendar stays text.

    `end: 2027-06-31` would otherwise abort loading with a bare ValueError and no line; as text
    it reaches the schema, which names the field and the line.
    """

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError:
            return self.construct_scalar(node)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def _syntax_error(exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    message = f"YAML syntax error: {exc.problem or exc.context or 'not valid YAML'}"
    opened = exc.context_mark.line + 1 if exc.context_mark is not None else None
    if exc.problem and exc.context and opened is not None and opened != line:
        # e.g. an unclosed `[`: the parser notices lines later; say where the construct began.
        message += f" ({exc.context} that starts on line {opened})"
    return Problem("", message, line)


def _duplicate_key(text: str, exc: DuplicateKeyError) -> Problem:
    """A key written twice in one mapping: its path, its line, and where it was first."""
    mark = exc.problem_mark
    line = mark.line + 1 if mark is not None else None
    try:
        root = YAML(typ="rt").compose(text)
    except YAMLError:  # pragma: no cover - ruamel composes the whole text before constructing
        root = None
    found = _find_duplicate(root, (mark.line, mark.column), "") if mark is not None else None
    if found is None:  # pragma: no cover - composing finds every key the constructor saw
        return Problem("", f"YAML error: {exc.problem}", line)
    path, key, first = found
    where = "earlier on this line" if first == line else f"on line {first}"
    return Problem(path, f"duplicate key {key!r}: it is already {where}; write each key once", line)


def _find_duplicate(
    node: Node | None, at: tuple[int, int], path: str
) -> tuple[str, str, int] | None:
    if isinstance(node, MappingNode):
        first: dict[Any, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else None
            here = f"{path}.{name}" if path else str(name)
            if (key.start_mark.line, key.start_mark.column) == at and name in first:
                return here, str(name), first[name]
            first.setdefault(name, key.start_mark.line + 1)
            found = _find_duplicate(value, at, here)
            if found is not None:
                return found
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            found = _find_duplicate(item, at, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _plain(node: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (pydantic wants those)."""
    if isinstance(node, dict):
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    return node


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "plain text"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        seen.setdefault((problem.path, problem.message), problem)
    return sorted(seen.values(), key=lambda p: (p.line or 0, p.path))


def _problems(data: CommentedMap, errors: list[Any]) -> list[Problem]:
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
        message = "is required (the kind of source: hubspot, metrics_csv, leads_csv or deals_csv)"
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
    return _located(data, loc, message)


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


def _located(data: CommentedMap, loc: Loc, message: str) -> Problem:
    """Turn a pydantic location into `funnel[3].rate` and the YAML line it sits on."""
    node: Any = data
    line: int | None = 1
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(part, int) and not isinstance(node, CommentedMap):
            path += f"[{part}]"
            if isinstance(node, CommentedSeq) and 0 <= part < len(node):
                line = node.lc.item(part)[0] + 1
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
