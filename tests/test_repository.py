"""The repository's promises to newcomers and operators: README, manifest, .env.example, Docker."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def quick_start_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:sh|bash|shell)?\n(.*?)```", section, flags=re.S)


def test_readme_quick_start_has_two_one_line_commands() -> None:
    blocks = quick_start_blocks()
    assert len(blocks) >= 2
    run, test = blocks[0].strip(), blocks[1].strip()
    assert "\n" not in run and "\n" not in test
    assert "slabot" in run
    assert "pytest" in test and ".[test]" in test


def test_manifest_declares_what_the_app_uses() -> None:
    manifest = YAML(typ="safe").load((ROOT / "manifest.yml").read_text())
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == ["/sla"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "users:read",
        "users:read.email",
        "im:write",
    }
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert "app_home_opened" in settings["event_subscriptions"]["bot_events"]


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    names = set(
        re.findall(r"^#? ?([A-Z][A-Z_]+)=", (ROOT / ".env.example").read_text(), flags=re.M)
    )
    assert names == {field.alias for field in Settings.model_fields.values()}


def test_readme_configuration_table_lists_every_setting() -> None:
    text = (ROOT / "README.md").read_text()
    for field in Settings.model_fields.values():
        assert f"`{field.alias}`" in text, field.alias


def test_dockerfile_is_slim_non_root_with_health_check() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "-slim" in text
    assert re.search(r"^USER (?!root)\w+", text, flags=re.M)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert 'ENTRYPOINT ["slabot"]' in text and 'CMD ["run"]' in text


def test_ci_runs_the_readme_test_command_with_postgres_required() -> None:
    text = (ROOT / ".ci" / "run").read_text()
    assert "SLABOT_TEST_REQUIRE_POSTGRES=1" in text
    assert "Quick start" in text
    assert "mypy" in text and "ruff" in text
