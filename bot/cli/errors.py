"""The command line's one error type: a clear message for stderr and a non-zero exit."""

from __future__ import annotations


class CliError(Exception):
    """A clear message for stderr; exit status 2."""
