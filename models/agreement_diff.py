"""A readable difference between two agreement documents (`funnel[mqls].rate: 0.25 -> 0.3`)."""

from __future__ import annotations

import json
from typing import Any

_NATURAL_KEYS = ("stage", "id", "name")


def diff_documents(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """One line per changed, added (`+`) or removed (`-`) leaf; empty when nothing changed."""
    if old is None:
        return ["first version"]
    before, after = _flatten(old), _flatten(new)
    lines = []
    for path in sorted(before.keys() | after.keys(), key=_order(new, old)):
        if path not in after:
            lines.append(f"- {path}: {_show(before[path])}")
        elif path not in before:
            lines.append(f"+ {path}: {_show(after[path])}")
        elif before[path] != after[path]:
            lines.append(f"{path}: {_show(before[path])} -> {_show(after[path])}")
    return lines


def _order(*docs: dict[str, Any]) -> Any:
    tops = [key for doc in docs for key in doc]

    def key(path: str) -> tuple[int, str]:
        top = path.split(".")[0].split("[")[0]
        return (tops.index(top) if top in tops else len(tops), path)

    return key


def _flatten(node: Any, path: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        if not node and path:
            return {path: {}}
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(node, list):
        if not node:
            return {path: []}
        if all(isinstance(item, dict) for item in node):
            for natural in _NATURAL_KEYS:
                names = [item.get(natural) for item in node]
                if all(isinstance(n, str) for n in names) and len(set(names)) == len(names):
                    out = {}
                    for name, item in zip(names, node, strict=True):
                        out.update(_flatten(item, f"{path}[{name}]"))
                    return out
        if all(not isinstance(item, dict | list) for item in node):
            return {path: node}
        out = {}
        for index, item in enumerate(node):
            out.update(_flatten(item, f"{path}[{index}]"))
        return out
    return {path: node}


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
