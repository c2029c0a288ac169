"""Errors the command line turns into exit statuses (2 for bad input, 1 for the rest)."""

from __future__ import annotations


class BadInput(Exception):
    """Input the user can fix (a file, an option, a setting); exit status 2, nothing written."""


class NotReady(Exception):
    """The store lacks something the command needs (e.g. no agreement yet); exit status 1."""
