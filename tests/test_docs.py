"""The docs stay true: README tables, .env.example, docker-compose.yml, Dockerfile and manifest
checked against the code they describe (settings, CLI, agreement schema, metrics, Slack words)."""

from __future__ import annotations

import inspect
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from ruamel.yaml import YAML
from sqlalchemy import make_url

from bot.cli import app
from bot.commands import WORDS
from bot.metrics import Metrics
from bot.settings import Settings
from models.agreement import Agreement, Source
from scheduler.leader import Leader
from scheduler.sources.hubspot_client import SCOPES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
Command = Any  # a click command as typer builds it (typer vendors its own click)
ALIASES = {str(field.alias): field for field in Settings.model_fields.values()}


# --- reading the README ------------------------------------------------------------------------


def section(title: str) -> str:
    """The body of README's `## title` (its `###` subsections included), up to the next `## `."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, flags=re.S | re.M)
    assert match, f"README.md has no section '## {title}'"
    return match.group(1)


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table in `text`: rows of cells, the header row first, `\\|` unescaped."""
    found: list[list[list[str]]] = []
    rows: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
            if not all(re.fullmatch(r"\s*:?-+:?\s*", cell) for cell in cells):  # the rule line
                rows.append([cell.strip().replace("\\|", "|") for cell in cells])
        elif rows:
            found.append(rows)
            rows = []
    return found


def spans(cell: str) -> list[str]:
    """The `code spans` of a cell."""
    return re.findall(r"`([^`]+)`", cell)


def rows_of(text: str, first_header: str) -> list[list[str]]:
    """The body rows of every table whose first header cell is `first_header`."""
    return [row for table in tables(text) if table[0][0] == first_header for row in table[1:]]


def header_of(text: str, first_header: str) -> list[str]:
    headers = [table[0] for table in tables(text) if table[0][0] == first_header]
    assert headers, f"no table headed '{first_header}'"
    return headers[0]


def default_matches(cell: str, field: FieldInfo) -> bool:
    """Whether a README default cell says what the field's default is."""
    if field.is_required():
        return cell.lower().startswith("required")
    value = field.get_default(call_default_factory=True)
    if value is None:
        return cell.lower().startswith("none")
    if isinstance(value, BaseModel):
        return True  # a nested part: its keys' defaults are checked one by one
    shown = {list: "[]", dict: "{}"}.get(type(value), str(getattr(value, "value", value)))
    return f"`{shown}`" in cell


def test_every_link_inside_the_readme_finds_its_heading() -> None:
    def slug(heading: str) -> str:  # as GitHub makes them
        return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

    headings = {slug(h) for h in re.findall(r"^#{1,4} (.+)$", README, flags=re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert links and links <= headings, sorted(links - headings)


# --- settings: the Configuration table and .env.example -----------------------------------------


def configuration_rows() -> dict[str, list[str]]:
    rows = rows_of(section("Configuration"), "variable")
    named = {spans(row[0])[0]: row for row in rows}
    assert len(named) == len(rows), "one variable a row"
    return named


def env_example() -> list[tuple[str, str, bool]]:
    """(name, value, commented) for each `NAME=value` or `# NAME=value` line of .env.example."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return [
        (m["name"], m["value"], bool(m["hash"]))
        for m in re.finditer(r"^(?P<hash># ?)?(?P<name>[A-Z][A-Z0-9_]+)=(?P<value>.*)$", text, re.M)
    ]


def test_the_configuration_table_lists_exactly_the_settings() -> None:
    assert set(configuration_rows()) == set(ALIASES)


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_the_configuration_table_gives_each_default(name: str) -> None:
    row = configuration_rows()[name]
    header = header_of(section("Configuration"), "variable")
    cell = row[header.index("default")]
    assert default_matches(cell, ALIASES[name]), (name, cell)


def test_env_example_lists_each_setting_once_with_its_default() -> None:
    lines = env_example()
    names = [name for name, _, _ in lines]
    assert sorted(names) == sorted(ALIASES), "each setting exactly once"
    for name, value, commented in lines:
        default = ALIASES[name].get_default()
        secret = ALIASES[name].annotation is not None and "SecretStr" in str(
            ALIASES[name].annotation
        )
        if secret:
            assert not commented and value == "", f"{name}: a secret to fill in, left empty"
        else:
            assert commented, f"{name}: a default is shown commented out, not set"
            assert value == ("" if default is None else str(default)), (name, value, default)


def test_settings_read_from_env_example_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALIASES:
        monkeypatch.delenv(name, raising=False)
    from_file = Settings(_env_file=ROOT / ".env.example")
    assert from_file.model_dump() == Settings(_env_file=None).model_dump()


# --- the command line ---------------------------------------------------------------------------


def cli_commands() -> dict[tuple[str, ...], Command]:
    """Every command a person runs, by its path: leaves, and groups that run on their own."""
    root = typer.main.get_command(app)
    found: dict[tuple[str, ...], Command] = {(): root}

    def walk(command: Command, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):  # a group
            if path and command.invoke_without_command:
                found[path] = command
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        else:
            found[path] = command

    walk(root, ())
    return found


def options_of(command: Command) -> set[str]:
    return {
        opt
        for param in command.params
        if param.param_type_name == "option"
        for opt in param.opts
        if opt != "--help"
    }


def arguments_of(command: Command) -> list[Any]:
    return [param for param in command.params if param.param_type_name == "argument"]


def documented_commands() -> dict[tuple[str, ...], str]:
    """README's Command line table: command path -> the usage written for it."""
    commands = cli_commands()
    documented: dict[tuple[str, ...], str] = {}
    for row in rows_of(section("Command line"), "command"):
        usage = spans(row[0])[0]
        words = usage.split()
        assert words[0] == "slabot", usage
        path: tuple[str, ...] = ()
        for word in words[1:]:
            if (*path, word) not in commands and not any(
                p[: len(path) + 1] == (*path, word) for p in commands
            ):
                break
            path = (*path, word)
        assert path not in documented, f"{usage}: documented twice"
        documented[path] = usage
    return documented


def positionals(usage: str, path: tuple[str, ...]) -> list[str]:
    """The argument placeholders of a usage line (`FILE`, `weekly|monthly`), options removed."""
    rest = usage.split(maxsplit=len(path) + 1)[len(path) + 1 :]
    text = re.sub(r"\[--[^\]]*\]", " ", rest[0] if rest else "")  # options and their values
    return [word.strip("[]") for word in text.split() if word != "…"]


def test_every_command_and_option_in_the_table_exists() -> None:
    commands = cli_commands()
    for path, usage in documented_commands().items():
        assert path in commands, f"{usage}: no such command"
        command = commands[path]
        written = set(re.findall(r"--[a-z][a-z-]*", usage))
        assert written <= options_of(command), (usage, written - options_of(command))
        if path:
            assert len(positionals(usage, path)) == len(arguments_of(command)), usage


def test_every_command_and_option_is_in_the_table() -> None:
    documented = documented_commands()
    for path, command in cli_commands().items():
        usage = documented.get(path)
        assert usage is not None, f"slabot {' '.join(path)} is not in the Command line table"
        missing = options_of(command) - set(re.findall(r"--[a-z][a-z-]*", usage))
        assert not missing, f"{usage}: {sorted(missing)} not documented"


# --- the agreement reference ---------------------------------------------------------------------


def _model(annotation: Any) -> type[BaseModel] | None:
    return annotation if inspect.isclass(annotation) and issubclass(annotation, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X; `Annotated[X, …]` -> X."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def agreement_keys(
    model: type[BaseModel] = Agreement, prefix: str = ""
) -> dict[str, tuple[FieldInfo, bool]]:
    """Every key path of the schema -> (its field, whether it is a leaf). `sources` excluded."""
    keys: dict[str, tuple[FieldInfo, bool]] = {}
    for name, field in model.model_fields.items():
        path, annotation = f"{prefix}{name}", _unwrap(field.annotation)
        if path == "sources":
            keys[path] = (field, False)
            continue
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        inner = None
        if _model(annotation):
            inner = (annotation, f"{path}.")
        elif origin is list and _model(_unwrap(args[0])):
            inner = (_unwrap(args[0]), f"{path}[].")
        elif origin is dict and _model(_unwrap(args[1])):
            inner = (_unwrap(args[1]), f"{path}.<{name.removesuffix('s')}>.")
        keys[path] = (field, inner is None)
        if inner is not None:
            keys |= agreement_keys(*inner)
    return keys


def source_keys() -> dict[str, dict[str, FieldInfo]]:
    """`sources[].key` -> {kind: field} over every kind of source."""
    union = _unwrap(typing.get_args(_unwrap(Agreement.model_fields["sources"].annotation))[0])
    kinds: dict[str, dict[str, FieldInfo]] = {}
    for member in typing.get_args(_unwrap(union)):
        kind = typing.get_args(member.model_fields["kind"].annotation)[0]
        for name, field in member.model_fields.items():
            kinds.setdefault(f"sources[].{name}", {})[kind] = field
    return kinds


def test_source_kinds_are_the_union_the_schema_reads() -> None:
    assert Source is not None and set(source_keys()["sources[].kind"]) == {
        "hubspot",
        "metrics_csv",
        "leads_csv",
        "deals_csv",
        "http_json",
    }


def reference_rows() -> dict[str, list[str]]:
    rows = rows_of(section("The agreement file"), "key")
    named = {spans(row[0])[0]: row for row in rows}
    assert len(named) == len(rows), "one key a row"
    return named


def test_every_agreement_key_is_documented_and_every_documented_key_exists() -> None:
    documented = {k for k in reference_rows() if not k.startswith("sources[].")}
    schema = agreement_keys()
    leaves = {path for path, (_, leaf) in schema.items() if leaf}
    assert leaves <= documented, f"not documented: {sorted(leaves - documented)}"
    assert documented <= set(schema), f"no such key: {sorted(documented - set(schema))}"


def test_the_reference_gives_each_default() -> None:
    header = header_of(section("The agreement file"), "key")
    schema = agreement_keys()
    for key, row in reference_rows().items():
        if key in schema:
            field, _ = schema[key]
            assert default_matches(row[header.index("default")], field), (key, row)


def test_every_source_key_is_documented_with_its_kinds_and_default() -> None:
    text = section("The agreement file")
    header = next(t[0] for t in tables(text) if t[0][:2] == ["key", "kinds"])
    documented = {k: row for k, row in reference_rows().items() if k.startswith("sources[].")}
    schema = source_keys()
    assert set(documented) == set(schema)
    every = set(schema["sources[].kind"])
    for key, row in documented.items():
        cell = row[header.index("kinds")]
        kinds = every if cell == "all" else set(spans(cell))
        assert kinds == set(schema[key]), (key, kinds)
        for field in schema[key].values():
            assert default_matches(row[header.index("default")], field), (key, row)


# --- Slack: the /sla words and the manifest ------------------------------------------------------


def test_every_sla_word_is_in_the_slack_commands_table() -> None:
    rows = rows_of(section("Slack commands"), "command")
    words = {
        span.split()[1] if len(span.split()) > 1 else "help"
        for row in rows
        for span in spans(row[0])
        if span.startswith("/sla")
    }
    assert words == set(WORDS)


def test_the_manifest_has_the_one_slash_command_and_the_readme_names_its_scopes() -> None:
    manifest = YAML(typ="safe").load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/sla"]
    setup = section("Set up in your workspace")
    for scope in manifest["oauth_config"]["scopes"]["bot"]:
        assert f"`{scope}`" in setup, scope


def test_the_readme_names_the_hubspot_scopes_the_client_asks_for() -> None:
    setup = section("Set up in your workspace")
    for scope in re.findall(r"crm\.[a-z.]+[a-z]", SCOPES):
        assert f"`{scope}`" in setup, scope


# --- deployment: docker-compose.yml, the Dockerfile, metrics, leadership -------------------------


def _interpolate(value: str) -> str:
    """Compose's `${NAME:-default}` with nothing set: the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(
        (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    )
    return loaded


def test_compose_runs_postgres_with_a_volume_and_a_health_check(compose: dict[str, Any]) -> None:
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "a named volume, declared"
    assert db["restart"] == "unless-stopped"


def test_compose_runs_the_bot_on_real_settings_against_the_db(compose: dict[str, Any]) -> None:
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert bot["build"] == "."
    assert bot["env_file"] in (".env", [".env"])
    assert set(bot["environment"]) <= set(ALIASES), "only settings the bot reads"
    url = make_url(_interpolate(bot["environment"]["SLABOT_DATABASE_URL"]))
    environment = {k: _interpolate(v) for k, v in db["environment"].items()}
    assert (url.host, url.username, url.password, url.database) == (
        "db",
        environment["POSTGRES_USER"],
        environment["POSTGRES_PASSWORD"],
        environment["POSTGRES_DB"],
    )
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    port = ALIASES["SLABOT_PORT"].get_default()
    assert f"{port}:{port}" in bot["ports"]
    assert bot["restart"] == "unless-stopped"
    agreement = bot["environment"]["SLABOT_AGREEMENT"]
    assert any(agreement.startswith(v.split(":")[1] + "/") for v in bot["volumes"]), agreement


def test_the_dockerfile_copies_every_package_runs_unprivileged_and_checks_health() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = {m.group(1) for m in re.finditer(r"^COPY (\w+) \./\1$", dockerfile, flags=re.M)}
    assert packages <= copied, f"not copied: {sorted(packages - copied)}"
    user = re.findall(r"^USER (\S+)", dockerfile, flags=re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\\\n.*/healthz", dockerfile, flags=re.M)
    uid = re.search(r"uid (\d+)", section("Deployment"))
    assert uid and f"--uid {uid.group(1)} {user[-1]}" in dockerfile, "the uid the README gives"


def test_the_readme_names_every_metric_series() -> None:
    deployment = section("Deployment")
    for family in Metrics().registry.collect():
        name = f"{family.name}_total" if family.type == "counter" else family.name
        assert f"`{name}`" in deployment, name


def test_the_failover_timings_in_the_readme_are_the_leaders() -> None:
    parameters = inspect.signature(Leader.__init__).parameters
    ttl = parameters["ttl"].default.total_seconds()
    every = parameters["check_every"].default
    deployment = section("Deployment")
    assert f"renewed every {every:g} s, valid {ttl:g} s" in deployment
    assert f"leads within {every + ttl:g} s" in deployment
