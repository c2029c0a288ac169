"""Targets and rates edited in a modal, written into the agreement's YAML and validated by its loader.

The fields are set in the stored YAML text itself (comments and layout kept), and the result is
validated like a file (`parse_agreement`), so a modal accepts exactly what `slabot agreement
apply` accepts, and each problem is shown next to the field it comes from.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from models.agreement import Agreement
from models.agreement_loader import AgreementError, Problem, parse_agreement

REVENUE_GOAL = "revenue_goal"
DEAL_SIZE = "average_deal_size"
_INDEXED = re.compile(r"^(funnel|followup)\[(\d+)\](?:\.(\w+))?")


@dataclass(frozen=True)
class TargetField:
    """One editable number or duration: its modal block, label, hint and current value."""

    block_id: str
    label: str
    initial: str
    hint: str


@dataclass(frozen=True)
class Edited:
    """The edited agreement and its YAML text, or the problems by modal block."""

    agreement: Agreement | None
    text: str
    errors: dict[str, str] = field(default_factory=dict)


def target_fields(agreement: Agreement) -> list[TargetField]:
    """The fields the targets modal offers, in the agreement's order."""
    money = agreement.currency
    fields = [
        TargetField(REVENUE_GOAL, f"Revenue goal ({money})", str(agreement.revenue_goal), "e.g. 1200000"),
        TargetField(DEAL_SIZE, f"Average deal size ({money})", str(agreement.average_deal_size), "e.g. 30000"),
    ]  # fmt: skip
    above = None
    for stage in agreement.funnel:
        if stage.rate is not None:
            fields.append(
                TargetField(
                    f"funnel.{stage.stage}.rate",
                    f"Rate from {above} into {stage.stage}",
                    str(stage.rate),
                    "A share between 0 and 1, e.g. 0.25 for 25%",
                )
            )
        above = stage.stage
    for rule in agreement.followup:
        fields.append(
            TargetField(
                f"followup.{rule.name}.within",
                f"{rule.name}: first touch within",
                rule.within,
                "Business time, e.g. 30m, 4h or 1d",
            )
        )
        fields.append(
            TargetField(
                f"followup.{rule.name}.target",
                f"{rule.name}: share touched in time",
                str(rule.target),
                "A share between 0 and 1, e.g. 0.95",
            )
        )
    return fields


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold a long line the user wrote on one
    yaml.indent(mapping=2, sequence=4, offset=2)  # lists indented as in examples/agreement.yaml
    yaml.preserve_quotes = True
    return yaml


def _plain(value: Any) -> Any:
    """The agreement's content as YAML writes it by hand: numbers as numbers, not text."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item not in (None, [], {})}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _document(source_text: str, agreement: Agreement) -> CommentedMap:
    """The stored text as an editable mapping (comments kept), or the content as fresh YAML."""
    # Canonical JSON (stored by a script or a test) would stay one unreadable line: rewrite it.
    if not source_text.lstrip().startswith("{"):
        try:
            data = _yaml().load(source_text)
        except YAMLError:
            data = None
        if isinstance(data, CommentedMap):
            return data
    yaml = _yaml()
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(_plain(agreement.model_dump(mode="python")), out)
    loaded: CommentedMap = _yaml().load(out.getvalue())
    return loaded


def _value(text: str, *, number: bool) -> Any:
    """What the user typed, as YAML should hold it: a number when it reads as one."""
    text = text.strip()
    if not text:
        return None
    if number and re.fullmatch(r"-?\d+", text):
        return int(text)
    if number and re.fullmatch(r"-?\d*\.\d+", text):
        return float(text)  # read back through its shortest repr, so 0.3 stays exactly 0.3
    return text


def _item(data: CommentedMap, key: str, name_key: str, name: str) -> Any:
    for item in data.get(key) or []:
        if isinstance(item, dict) and item.get(name_key) == name:
            return item
    return None


def _set(data: CommentedMap, block_id: str, typed: str) -> None:
    parts = block_id.split(".")
    if block_id in (REVENUE_GOAL, DEAL_SIZE):
        data[block_id] = _value(typed, number=True)
    elif parts[0] == "funnel" and len(parts) == 3:
        item = _item(data, "funnel", "stage", parts[1])
        if item is not None:
            item["rate"] = _value(typed, number=True)
    elif parts[0] == "followup" and len(parts) == 3:
        item = _item(data, "followup", "name", parts[1])
        if item is not None:
            item[parts[2]] = _value(typed, number=parts[2] == "target")


def _block_of(data: CommentedMap, problem: Problem, known: set[str]) -> str | None:
    """The modal block a problem belongs to (a rule's other durations go with its `within`)."""
    if problem.path in known:
        return problem.path
    match = _INDEXED.match(problem.path)
    if match is None:
        return None
    kind, index, leaf = match[1], int(match[2]), match[3]
    items = data.get(kind) or []
    if index >= len(items) or not isinstance(items[index], dict):
        return None
    if kind == "funnel":
        block = f"funnel.{items[index].get('stage')}.rate"
    else:
        block = f"followup.{items[index].get('name')}.{'target' if leaf == 'target' else 'within'}"
    return block if block in known else None


def edit_targets(source_text: str, agreement: Agreement, typed: dict[str, str]) -> Edited:
    """The agreement with the typed values (by block id) in place of the current ones."""
    known = {f.block_id for f in target_fields(agreement)}
    data = _document(source_text, agreement)
    for block_id, value in typed.items():
        if block_id in known:
            _set(data, block_id, value)
    out = io.StringIO()
    _yaml().dump(data, out)
    text = out.getvalue()
    try:
        edited = parse_agreement(text, file="the edited agreement")
    except AgreementError as exc:
        errors: dict[str, str] = {}
        first = next(iter(typed), REVENUE_GOAL)
        for problem in exc.problems:
            block = _block_of(data, problem, known)
            message = problem.message if block else f"{problem.path}: {problem.message}"
            block = block or first
            errors[block] = f"{errors[block]}; {message}" if block in errors else message
        return Edited(None, text, errors)
    # Source paths are not edited here; keep the stored ones (resolved against the file's folder).
    return Edited(edited.model_copy(update={"sources": agreement.sources}), text)


def problem_lines(error: AgreementError) -> list[str]:
    """Each problem of a pasted agreement as `line N: path: message`."""
    out = []
    for problem in error.problems:
        where = f"line {problem.line}: " if problem.line else ""
        what = f"{problem.path}: " if problem.path else ""
        out.append(f"{where}{what}{problem.message}")
    return out
