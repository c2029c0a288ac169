"""Every command the README shows is run here, as written, and does what the README says.

Each fenced shell block (`sh`) is a list of commands; in the other blocks, a line starting with
`$ ` is a command and the lines under it are the output shown. `slabot` runs in-process (as the
`cli` fixture does) in a temporary folder holding a copy of `examples/`; a few plain shell
commands (`cp`, `python3 -c`) run in that folder. The Quick start runs on a fresh store, in
order; every other block on a copy of the store its examples assume: the example agreement
applied and its data synced at 2027-03-10 16:00 in Chicago. A command exits as the README says
(0 unless its line says `# exits N`), and every output line shown (but those with `…`) appears
in what it printed, table borders and spacing aside. A command that cannot run here is listed in
`ELSEWHERE` with the file that covers it; a command that is neither fails the first test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from models.db import create_engine, upgrade
from tests.conftest import EXAMPLES, create_pg_database, drop_pg_database

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SHELL_BLOCKS = {"sh", "shell", "bash"}
QUICK_START = "Quick start"
AT = "2027-03-10T16:00:00-06:00"  # the instant the README's examples are synced at
BASELINE = (("agreement", "apply", "examples/agreement.yaml"), ("sync", "--at", AT))
SLABOT = r"(?:(?:\.\./)?\.venv/bin/)?slabot"
IN_SHELL = (r"cp -r examples \w+$", r"python3 -c ")  # plain commands run as written
BOX = str.maketrans("", "", "┃│┏┓┗┛┡┩╇┳┻━─└┘┴┬┼╋╭╮╰╯═║╞╡╪")


@dataclass(frozen=True)
class Elsewhere:
    """Commands (matched from their start) this test does not run, and what covers them."""

    pattern: str
    covered_by: str
    why: str


ELSEWHERE = (
    Elsewhere(r"python3 -m venv \.venv$", ".ci/run", "the Quick start's install, run by CI as written"),
    Elsewhere(r"\.venv/bin/pip install ", ".ci/run", "the Quick start's install, run by CI as written"),
    Elsewhere(r"(SLABOT_TEST_POSTGRES_URL=\S+ )?\.venv/bin/pytest\b", ".ci/run", "the test suite itself"),
    Elsewhere(r"\.venv/bin/(ruff|mypy)\b", ".ci/run", "the lint and type checks"),
    Elsewhere(rf"{SLABOT} run$", "tests/test_run.py", "serves until SIGTERM; test_run starts it, talks to it and stops it"),
    Elsewhere(rf"{SLABOT} demo\b", "tests/test_demo.py", "a real process writing ./demo-output; .ci/run also runs the Quick start's"),
    Elsewhere(rf"{SLABOT} sandbox say\b", "tests/test_sandbox_say.py", "needs the sandbox and a running bot"),
    Elsewhere(rf"{SLABOT} sandbox\b", "tests/test_sandbox.py", "runs until Ctrl-C"),
    Elsewhere(r"\.venv/bin/python -m bench\b", "tests/test_bench.py", "every row at a tiny size through the same entry; the full sizes take half an hour"),
    Elsewhere(r"docker\b", "tests/test_docs.py", "no Docker daemon here; the Dockerfile and docker-compose.yml are checked statically"),
    Elsewhere(r"curl\b", "tests/test_run.py", "needs a running bot; test_run reads its /healthz and /metrics"),
    Elsewhere(r"cp \.env\.example \.env$", "tests/test_docs.py", ".env.example is checked against the settings"),
    Elsewhere(r"pg_(dump|restore)\b", "tests/test_readme_commands.py", "run against PostgreSQL by test_the_postgresql_backup_restores_a_working_store"),
    Elsewhere(r"SLABOT_DATABASE_URL=\S+ \.venv/bin/python -c .*alembic", "tests/test_migrations.py", "writes a migration into the repository; test_migrations checks the migrations match the models"),
)  # fmt: skip


# --- reading the README ------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One command: where it is written, what it is, how it must end, the output shown."""

    line: int
    text: str  # the command, without its prompt or comment
    exit_status: int
    output: tuple[str, ...]
    chain: tuple[str, ...]  # the commands of its line (joined by &&)

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text)


@dataclass(frozen=True)
class Block:
    line: int
    section: str
    steps: tuple[Step, ...]


def _uncommented(line: str) -> str:
    """`line` without its shell comment (a `#` after a blank, outside quotes)."""
    quote = ""
    for at, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (at == 0 or line[at - 1].isspace()):
            return line[:at].strip()
    return line.strip()


def _steps(line_no: int, written: str, output: tuple[str, ...]) -> list[Step]:
    """The commands of one written line (joined by `&&`); `# exits N` gives the exit status."""
    command = _uncommented(written)
    said = re.search(r"#\s*exits (\d+)", written.strip()[len(command) :])
    chain = tuple(re.split(r"\s+&&\s+", command))
    status = int(said.group(1)) if said else 0
    return [Step(line_no, part, status, output, chain) for part in chain]


def readme_blocks(text: str | None = None) -> list[Block]:
    """Every fenced block of the README that shows at least one command."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks: list[Block] = []
    section, index = "", 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line[3:].strip()
        fence = re.fullmatch(r"(\s*)```(\w*)\s*", line)
        index += 1
        if not fence:
            continue
        indent, info, start = len(fence.group(1)), fence.group(2), index
        body: list[str] = []
        while index < len(lines) and lines[index].strip() != "```":
            body.append(lines[index][indent:])
            index += 1
        index += 1
        steps = (_shell_steps if info in SHELL_BLOCKS else _example_steps)(start, body)
        if steps:
            blocks.append(Block(start, section, tuple(steps)))
    return blocks


def _shell_steps(start: int, body: list[str]) -> list[Step]:
    steps: list[Step] = []
    for offset, line in enumerate(body):
        if line.strip() and not line.lstrip().startswith("#"):
            steps += _steps(start + offset + 1, line.strip(), ())
    return steps


def _example_steps(start: int, body: list[str]) -> list[Step]:
    steps: list[Step] = []
    prompts = [i for i, line in enumerate(body) if line.startswith("$ ")]
    for n, at in enumerate(prompts):
        end = prompts[n + 1] if n + 1 < len(prompts) else len(body)
        steps += _steps(start + at + 1, body[at][2:], tuple(body[at + 1 : end]))
    return steps


BLOCKS = readme_blocks()


# --- what runs where ------------------------------------------------------------------------------


CD = Elsewhere(r"cd\b", "", "only changes into the folder of commands covered elsewhere")


def elsewhere(step: Step) -> Elsewhere | None:
    """The entry covering `step` when it is not run here (a documented failure always is)."""
    if step.exit_status != 0:
        return None
    for entry in ELSEWHERE:
        if re.match(entry.pattern, step.text):
            return entry
    others = [Step(step.line, part, 0, (), ()) for part in step.chain if part != step.text]
    if re.match(CD.pattern, step.text) and others and all(map(elsewhere, others)):
        return CD
    return None


def how(step: Step) -> str:
    """`elsewhere`, `slabot`, `shell` or `cd`; anything else is a README command nobody runs."""
    if elsewhere(step) is not None:
        return "elsewhere"
    words = [w for w in step.words if not re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", w)]
    if words and Path(words[0]).name == "slabot":
        return "slabot"
    if words and words[0] == "cd":
        return "cd"
    if any(re.match(pattern, step.text) for pattern in IN_SHELL):
        return "shell"
    return "nobody"


def test_every_readme_command_is_run_here_or_covered_elsewhere() -> None:
    steps = [step for block in BLOCKS for step in block.steps]
    assert len(steps) > 20, "the README's commands were found"
    orphans = [f"README.md:{s.line}: {s.text}" for s in steps if how(s) == "nobody"]
    assert not orphans, "run these here or add them to ELSEWHERE:\n" + "\n".join(orphans)
    for entry in ELSEWHERE:
        assert (ROOT / entry.covered_by).is_file(), entry
        assert any(re.match(entry.pattern, s.text) for s in steps), (
            f"{entry.pattern}: no README command needs this entry any more; remove it"
        )


def test_the_parser_reads_commands_outputs_and_exit_statuses() -> None:
    text = (
        "## A\n\n   ```sh\n   cp -r examples sla && slabot plan   # note\n   ```\n\n"
        '```\n$ slabot agreement apply "bad.yaml"   # exits 2\nbad.yaml: …\n  line two\n```\n'
    )
    shell, example = readme_blocks(text)
    assert [(s.line, s.text) for s in shell.steps] == [
        (4, "cp -r examples sla"),
        (4, "slabot plan"),
    ]
    assert shell.steps[0].chain == ("cp -r examples sla", "slabot plan")
    (step,) = example.steps
    assert (step.line, step.text, step.exit_status) == (8, 'slabot agreement apply "bad.yaml"', 2)
    assert step.words == ["slabot", "agreement", "apply", "bad.yaml"]
    assert step.output == ("bad.yaml: …", "  line two")


# --- running them --------------------------------------------------------------------------------


def _normal(line: str) -> str:
    return " ".join(line.translate(BOX).split())


def _slabot(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:  # pragma: no cover - main always exits
        code = 0
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def run_step(
    step: Step,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str | None = None,
) -> None:
    """Run one README command in the current folder; assert its exit status and output."""
    kind = kind or how(step)
    where = f"README.md:{step.line}: {step.text}"
    assert kind != "nobody", f"{where}: neither run here nor covered elsewhere"
    if kind == "elsewhere":
        return
    words = step.words
    with monkeypatch.context() as scoped:
        while re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", words[0]):
            name, value = words.pop(0).split("=", 1)
            scoped.setenv(name, value)
        if kind == "cd":
            monkeypatch.chdir(words[1])  # for the rest of the block
            return
        if kind == "shell":
            done = subprocess.run(
                ["bash", "-c", step.text], capture_output=True, text=True, timeout=60, check=False
            )
            code, printed = done.returncode, done.stdout + done.stderr
        else:
            code, printed = _slabot(words[1:], capsys)
    assert code == step.exit_status, f"{where}: exit {code}, not {step.exit_status}\n{printed}"
    shown = [_normal(line) for line in step.output if "…" not in line and _normal(line)]
    printed_lines = [_normal(line) for line in printed.splitlines()]
    missing = [line for line in shown if not any(line in p for p in printed_lines)]
    assert not missing, (
        f"{where}: the README shows lines it does not print:\n"
        + "\n".join(missing)
        + f"\n--- it printed:\n{printed}"
    )


def _prepare(folder: Path) -> None:
    """What the README's folder has: the examples, and the `bad.yaml` it describes."""
    shutil.copytree(EXAMPLES, folder / "examples")
    lines = (EXAMPLES / "agreement.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[6].startswith("average_deal_size:") and "rate: 0.50" in lines[17]
    lines[6] = lines[6].replace("average_deal_size", "average_dealsize")
    lines[17] = lines[17].replace("rate: 0.50", "rate: 1.5")
    (folder / "bad.yaml").write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """A store with the example agreement applied and its data synced at `AT`."""
    folder = tmp_path_factory.mktemp("readme-baseline")
    _prepare(folder)
    shutil.copy(sqlite_template, folder / "slabot.db")
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith(("SLABOT_", "SLACK_", "HUBSPOT_"))]:
            patch.delenv(name)
        patch.chdir(folder)
        for args in BASELINE:
            with pytest.raises(SystemExit) as ended:
                main(list(args))
            assert ended.value.code in (0, None), args
    return folder / "slabot.db"


@pytest.fixture
def folder(cli_env: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The working folder (the cwd, with a clean environment), ready for the README's commands."""
    _prepare(tmp_path)
    return tmp_path


def test_the_quick_start_as_written(
    folder: Path,
    sqlite_template: Path,
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copy(sqlite_template, folder / "slabot.db")  # a fresh store: nothing applied yet
    steps = [step for block in BLOCKS if block.section == QUICK_START for step in block.steps]
    assert steps, "the Quick start has commands"
    for step in steps:
        run_step(step, cli_env, capsys)


@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.section != QUICK_START and any(how(s) != "elsewhere" for s in b.steps)],
    ids=lambda b: f"line{b.line}",
)
def test_each_example(
    block: Block,
    folder: Path,
    baseline: Path,
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copy(baseline, folder / "slabot.db")
    for step in block.steps:
        run_step(step, cli_env, capsys)


def _status(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, printed = _slabot(["status", "--at", AT, "--json"], capsys)
    assert code == 0, printed
    report: dict[str, object] = json.loads(printed)
    return report


def _readme_line(pattern: str) -> Step:
    (step,) = [s for b in BLOCKS for s in b.steps if re.match(pattern, s.text)]
    return step


def test_the_sqlite_backup_is_a_working_store(
    folder: Path, baseline: Path, cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(baseline, folder / "slabot.db")
    before = _status(capsys)
    run_step(_readme_line(r"python3 -c .*backup"), cli_env, capsys)
    (folder / "slabot.db").unlink()
    (folder / "slabot-backup.db").rename(folder / "slabot.db")
    assert _status(capsys) == before


@pytest.mark.postgres
def test_the_postgresql_backup_restores_a_working_store(
    folder: Path, cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed")
    source, target = create_pg_database(), create_pg_database()
    try:
        cli_env.setenv("SLABOT_DATABASE_URL", source)
        for args in BASELINE:
            code, printed = _slabot(list(args), capsys)
            assert code == 0, printed
        before = _status(capsys)
        run_step(_readme_line(r"pg_dump "), cli_env, capsys, kind="shell")
        asyncio.run(_migrated_empty(target))  # the store a new deployment starts with
        cli_env.setenv("SLABOT_DATABASE_URL", target)
        run_step(_readme_line(r"pg_restore "), cli_env, capsys, kind="shell")
        assert _status(capsys) == before
    finally:
        drop_pg_database(source)
        drop_pg_database(target)


async def _migrated_empty(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
