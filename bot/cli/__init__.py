"""`slabot`: the command line. Exit 0 on success, 2 on bad input, 1 on any other failure."""

from __future__ import annotations

import sys
import traceback

from bot.cli import (
    agreement,
    check,
    demo,
    digest,
    log,
    plan,
    run,
    sandbox,
    sandbox_say,
    status,
    store,
    sync,
)
from bot.cli.app import app
from bot.cli.common import errors
from bot.errors import BadInput, NotReady

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the command line and exit with its status."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        # Typer handles usage errors (exit 2), --help and the normal end (exit 0) itself.
        app(args=args, prog_name="slabot")
    except BadInput as exc:
        errors.print(str(exc), markup=False)
        sys.exit(2)
    except NotReady as exc:
        if debug:
            traceback.print_exc()
        errors.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        errors.print(f"error: {cause}", markup=False)
        if not debug:
            errors.print("(run again with --debug for the traceback)", markup=False)
        sys.exit(1)
    sys.exit(0)
