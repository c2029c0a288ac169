"""The quick-start path: apply the example agreement, then plan, on both stores."""

from __future__ import annotations

import json

from tests.conftest import CLI, EXAMPLES


def test_apply_then_plan(cli: CLI) -> None:
    applied = cli("agreement", "apply", str(EXAMPLES / "agreement.yaml"))
    assert applied.code == 0, applied.err
    assert "Stored version 1" in applied.out
    again = cli("agreement", "apply", str(EXAMPLES / "agreement.yaml"))
    assert again.code == 0
    assert "Unchanged" in again.out
    plan = cli("plan", "--json")
    assert plan.code == 0, plan.err
    stages = {s["stage"]: s["target"] for s in json.loads(plan.out)["stages"]}
    assert stages == {
        "visits": 106667,
        "leads": 2134,
        "mqls": 534,
        "sqls": 267,
        "proposals": 134,
        "customers": 40,
    }
