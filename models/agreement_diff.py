"""A readable difference between two agreement documents (`funnel[mqls].rate: 0.25 -> 0.3`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Items of a list of mappings are matched by the first of these that names each one uniquely,
# so a stage moved or inserted shows as that, not as every later stage changing. `stage` comes
# last: a follow-up rule has one too, but its name is what identifies it.
_NATURAL_KEYS = ("id", "name", "stage")


def diff_documents(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """One line per changed value, added (`+`) or removed (`-`) part; empty when nothing changed.

    Lines follow the new document's order; a list whose items were only reordered says so
    (`funnel: order a, b -> b, a`), since order is meaning in the funnel.
    """
    if old is None:
        return ["first version"]
    return list(_diff(old, new, ""))


def _diff(old: Any, new: Any, path: str) -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        yield from _diff_mappings(old, new, path)
        return
    if isinstance(old, list) and isinstance(new, list):
        key = _natural_key(old, new)
        if key is not None:
            yield from _diff_keyed(old, new, key, path)
            return
    if old != new:
        yield f"{path}: {_show(old)} -> {_show(new)}"


def _diff_mappings(old: dict[str, Any], new: dict[str, Any], path: str) -> Iterator[str]:
    for key in [*new, *(k for k in old if k not in new)]:
        here = f"{path}.{key}" if path else str(key)
        if key not in old:
            yield f"+ {here}: {_show(new[key])}"
        elif key not in new:
            yield f"- {here}: {_show(old[key])}"
        else:
            yield from _diff(old[key], new[key], here)


def _diff_keyed(old: list[Any], new: list[Any], key: str, path: str) -> Iterator[str]:
    before = {item[key]: item for item in old}
    after = {item[key]: item for item in new}
    kept_before = [name for name in before if name in after]
    kept_after = [name for name in after if name in before]
    if kept_before != kept_after:
        yield f"{path}: order {', '.join(before)} -> {', '.join(after)}"
    for name, item in after.items():
        here = f"{path}[{name}]"
        if name in before:
            yield from _diff(before[name], item, here)
        else:
            yield f"+ {here}: {_show(item)}"
    for name, item in before.items():
        if name not in after:
            yield f"- {path}[{name}]: {_show(item)}"


def _natural_key(*lists: list[Any]) -> str | None:
    """The field that names every item of these lists of mappings uniquely, if there is one."""
    every = [item for items in lists for item in items]
    if not every or not all(isinstance(item, dict) for item in every):
        return None
    for key in _NATURAL_KEYS:
        names = [[item.get(key) for item in items] for items in lists]
        if all(isinstance(n, str) for ns in names for n in ns) and all(
            len(set(ns)) == len(ns) for ns in names
        ):
            return key
    return None


def _show(value: Any) -> str:
    """A value as YAML flow text, the way it is written in agreement files."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
