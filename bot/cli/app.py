"""The `slabot` command tree; each command module adds itself to one of these groups."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="slabot",
    help="SLA Bot: keeps a sales & marketing Service Level Agreement alive in Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
agreement_app = typer.Typer(help="Apply, show and trace the agreement.", no_args_is_help=True)
db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)
sandbox_app = typer.Typer(  # `slabot sandbox` alone starts the fakes (bot.cli.sandbox)
    help="Local fakes of Slack and HubSpot for trying the bot without a workspace.",
)
app.add_typer(agreement_app, name="agreement")
app.add_typer(db_app, name="db")
app.add_typer(sandbox_app, name="sandbox")


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show a traceback when a command fails."),
) -> None:
    """SLA Bot: keeps a sales & marketing Service Level Agreement alive in Slack."""
