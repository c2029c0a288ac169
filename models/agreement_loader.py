"""Reads an agreement YAML file into an `Agreement`, or explains each problem with path and line."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    MappingStartEvent,
    NodeEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from models.agreement import CSV_SOURCE_KINDS, Agreement
from models.agreement_problems import AgreementError, Problem, located, problems_of
from models.agreement_rules import check_rules

__all__ = [
    "AgreementError",
    "Problem",
    "canonical_json",
    "content_hash",
    "load_agreement",
    "parse_agreement",
]

# An agreement is a few levels deep and a few hundred values big. Deeper text would exhaust
# the YAML composer's recursion, and aliases (`*name`) can make a short text stand for
# billions of values, or for itself: both are refused with their line instead.
MAX_DEPTH = 64
MAX_VALUES = 100_000


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
        shape = _shape_problem(yaml, text)
        if shape is not None:
            raise AgreementError(file, [shape])
        with _anchors_reused_quietly():
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
        plain = _plain(data)
    except _Unreadable as exc:
        raise AgreementError(file, [located(data, exc.loc, exc.message)]) from None
    try:
        agreement = Agreement.model_validate(plain)
    except ValidationError as exc:
        raise AgreementError(file, _unique(problems_of(data, exc.errors()))) from None
    problems = [located(data, loc, message) for loc, message in check_rules(agreement)]
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
        with _anchors_reused_quietly():
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
    node: Node | None, at: tuple[int, int], path: str, seen: set[int] | None = None
) -> tuple[str, str, int] | None:
    """The key written at `at` that its mapping already has: its path, name and first line.
    Each node is looked at once: an alias (`*name`) is the anchored node again, whose keys are
    where the anchor is written (and a list may alias itself, a loop)."""
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return None
    seen.add(id(node))
    if isinstance(node, MappingNode):
        first: dict[Any, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else None
            here = f"{path}.{name}" if path else str(name)
            if (key.start_mark.line, key.start_mark.column) == at and name in first:
                return here, str(name), first[name]
            first.setdefault(name, key.start_mark.line + 1)
            found = _find_duplicate(value, at, here, seen)
            if found is not None:
                return found
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            found = _find_duplicate(item, at, f"{path}[{index}]", seen)
            if found is not None:
                return found
    return None


@contextmanager
def _anchors_reused_quietly() -> Iterator[None]:
    """An anchor defined twice is valid YAML (an alias takes the latest); ruamel would print a
    warning quoting the text to stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReusedAnchorWarning)
        yield


def _shape_problem(yaml: YAML, text: str) -> Problem | None:
    """Nesting deeper than `MAX_DEPTH`, or a mapping or list used as a key, with its line.

    ruamel's composer recurses once per level and its constructor fails on such keys, neither
    saying where; its parser reads events without recursion, so this runs before them.
    """
    open_collections: list[list[bool]] = []  # each open one: [is a mapping, next node is a key]
    collection_anchors: set[str] = set()
    for event in yaml.parse(text):
        if isinstance(event, CollectionEndEvent):
            open_collections.pop()
            continue
        if not isinstance(event, NodeEvent):
            continue  # the stream's and documents' own events
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        collection = isinstance(event, CollectionStartEvent) or (
            isinstance(event, AliasEvent) and event.anchor in collection_anchors
        )
        if open_collections and open_collections[-1][0]:
            is_key = open_collections[-1][1]
            open_collections[-1][1] = not is_key
            if is_key and collection:
                message = "a key must be a name such as 'currency', not a list or mapping"
                return Problem("", message, line)
        if isinstance(event, CollectionStartEvent):
            if event.anchor:
                collection_anchors.add(event.anchor)
            open_collections.append([isinstance(event, MappingStartEvent), True])
            if len(open_collections) > MAX_DEPTH:
                message = (
                    f"nested more than {MAX_DEPTH} levels deep; an agreement needs a few "
                    "(see examples/agreement.yaml)"
                )
                return Problem("", message, line)
    return None


class _Unreadable(Exception):
    """A value that cannot be copied out of the YAML; `loc` is where, as pydantic writes it."""

    def __init__(self, loc: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.loc, self.message = loc, message


def _plain(data: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (pydantic wants those).

    Raises `_Unreadable` for an alias that stands for a mapping or list it is inside of, and
    when aliases repeat values past `MAX_VALUES`.
    """
    copied = 0

    def copy(node: Any, loc: tuple[Any, ...], inside: frozenset[int]) -> Any:
        nonlocal copied
        copied += 1
        if copied > MAX_VALUES:
            raise _Unreadable(
                loc[:1],  # the top key whose aliases multiply; deeper, the path only repeats
                f"the aliases (*name) make this more than {MAX_VALUES:,} values; write the "
                "values out instead",
            )
        if not isinstance(node, dict | list):
            return node
        if id(node) in inside:
            raise _Unreadable(
                loc,
                "this alias (*name) stands for a mapping or list that contains it; write the "
                "values out instead",
            )
        inside = inside | {id(node)}
        if isinstance(node, dict):
            return {key: copy(value, (*loc, key), inside) for key, value in node.items()}
        return [copy(item, (*loc, n), inside) for n, item in enumerate(node)]

    return copy(data, (), frozenset())


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
