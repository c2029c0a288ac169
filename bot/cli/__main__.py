"""`python -m bot.cli`: the same as the `slabot` command."""

from bot.cli import main

main()
