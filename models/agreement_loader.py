"""Reads an agreement YAML file into an `Agreement`, or explains each problem with path and line."""

from __future__ import annotations

import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

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
        raise AgreementError(file, [Problem("", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AgreementError(file, [Problem("", f"cannot be read: {exc}")]) from None
    return parse_agreement(text, file=file, base_dir=path.resolve().parent)


def parse_agreement(
    text: str, *, file: str = "<agreement>", base_dir: Path | None = None
) -> Agreement:
    """Validate agreement YAML text; relative source paths are resolved against `base_dir`."""
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = exc.problem or exc.context or "not valid YAML"
        raise AgreementError(file, [Problem("", f"YAML syntax error: {reason}", line)]) from None
    except YAMLError as exc:
        raise AgreementError(file, [Problem("", f"YAML syntax error: {exc}")]) from None
    if data is None:
        raise AgreementError(file, [Problem("", "the file is empty; see examples/agreement.yaml")])
    if not isinstance(data, CommentedMap):
        raise AgreementError(
            file,
            [
                Problem(
                    "",
                    f"the file must be a mapping of keys (name:, period:, …), not a {_kind(data)}",
                    1,
                )
            ],
        )
    try:
        agreement = Agreement.model_validate(_plain(data))
    except ValidationError as exc:
        problems = [_problem(data, error) for error in exc.errors()]
        raise AgreementError(file, _unique(problems)) from None
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


def _plain(node: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (pydantic wants those)."""
    if isinstance(node, dict):
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    return node


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "plain text"
    return type(value).__name__


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        seen.setdefault((problem.path, problem.message), problem)
    return sorted(seen.values(), key=lambda p: (p.line or 0, p.path))


def _problem(data: CommentedMap, error: Any) -> Problem:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        key = str(loc[-1])
        message = f"unknown key {key!r}"
        known = _known_keys(data, loc[:-1])
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if close:
            message += f"; did you mean {close[0]!r}?"
        elif known:
            message += f"; expected one of: {', '.join(sorted(known))}"
    elif kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        expected = error.get("ctx", {}).get("expected_tags", "")
        message = f"unknown kind {tag!r}; expected one of {expected}"
        loc = (*loc, "kind")
    elif kind == "union_tag_not_found":
        message = "is required (the kind of source: hubspot, metrics_csv, leads_csv or deals_csv)"
        loc = (*loc, "kind")
    elif kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
    else:
        message = str(error["msg"])
        if "input" in error and not isinstance(error["input"], dict | list):
            message += f"; got {error['input']!r}"
    return _located(data, loc, message)


def _located(data: CommentedMap, loc: Loc, message: str) -> Problem:
    """Turn a pydantic location into `funnel[3].rate` and the YAML line it sits on."""
    node: Any = data
    line: int | None = 1
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
            if isinstance(node, CommentedSeq) and 0 <= part < len(node):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                node = None
            continue
        if isinstance(node, CommentedMap):
            if part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            elif part == node.get("kind"):
                continue  # a discriminated union's tag, not a key in the file
            else:
                node = None
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
