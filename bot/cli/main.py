"""The ``louzhang`` command line (also ``python -m bot``).

Commands that change things write to the database and return at once; a running
``louzhang run`` on the same database carries out what they queued.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import bot.cli.audit as audit
import bot.cli.db as db
import bot.cli.demo as demo
import bot.cli.drive as drive
import bot.cli.outbox as outbox
import bot.cli.pickup as pickup
import bot.cli.residents as residents
import bot.cli.service as service
import bot.cli.staff as staff
import bot.cli.survey as survey
from bot.cli.args import buildings_arg
from bot.cli.errors import CliError
from bot.cli.texts import arg_reason, say
from config.database import DatabaseUrlError, close_db
from config.logging import setup_logging

GROUPS = (db, residents, demo, staff, survey, audit, outbox, drive)


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix if prefix is not None else say("usage"))


class _RawFormatter(argparse.RawDescriptionHelpFormatter, _Formatter):
    pass


class _Parser(argparse.ArgumentParser):
    """A parser whose own words (usage, section titles, -h) are in the staff language; every
    sub-command's parser is one too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        given = kwargs.get("formatter_class")
        if given is argparse.RawDescriptionHelpFormatter:
            kwargs["formatter_class"] = _RawFormatter
        elif given in (None, argparse.HelpFormatter):
            kwargs["formatter_class"] = _Formatter
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = say("positionals")
        self._optionals.title = say("optionals")
        self.add_argument("-h", "--help", action="help", help=say("h_help"))

    def error(self, message: str) -> NoReturn:
        """Wrong arguments: the usage, then what is wrong, in the staff language; exit 2."""
        self.print_usage(sys.stderr)
        for pattern, key in _ARGPARSE_ERRORS:
            found = pattern.match(message)
            if found:
                values = found.groupdict()
                if "type" in values:
                    values["type"] = say(f"type_{values['type']}") if values["type"] in (
                        "int", "float") else values["type"]  # fmt: skip
                if "reason" in values:
                    values["reason"] = arg_reason(values["reason"])
                message = say(key, **values)
                break
        self.exit(2, say("arg_error", prog=self.prog, message=message) + "\n")


_ARGPARSE_ERRORS = (
    (re.compile(r"the following arguments are required: (?P<names>.+)"), "arg_required"),
    (re.compile(r"argument (?P<name>\S+): invalid choice: (?P<value>.+?) \("), "arg_choice"),
    (re.compile(r"unrecognized arguments: (?P<names>.+)"), "arg_unknown"),
    (
        re.compile(r"argument (?P<name>\S+): invalid (?P<type>\w+) value: (?P<value>.+)"),
        "arg_value",
    ),
    (re.compile(r"argument (?P<name>\S+): expected one argument"), "arg_expected_one"),
    (
        re.compile(r"argument (?P<name>\S+): not allowed with argument (?P<other>.+)"),
        "arg_not_with",
    ),
    (re.compile(r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)"), "arg_ambiguous"),
    (re.compile(r"one of the arguments (?P<names>.+) is required"), "arg_one_of"),
    (re.compile(r"argument (?P<name>\S+): (?P<reason>.+)", re.DOTALL), "arg_reason"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="louzhang", description=say("description"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def group(name: str, help_text: str) -> Any:
        p = sub.add_parser(name, help=help_text, description=help_text)
        return p.add_subparsers(dest="verb", required=True, metavar="VERB")

    for module in GROUPS:
        module.add_parsers(sub, group)
    pickup.add_pickup_parsers(sub, buildings_arg)
    service.add_parsers(sub, group)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging()
    func: Callable[[argparse.Namespace], Awaitable[None]] = args.func

    async def runner() -> None:
        try:
            await func(args)
        finally:
            await close_db()

    try:
        asyncio.run(runner())
    except (CliError, DatabaseUrlError) as exc:
        print(f"louzhang: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `louzhang audit | head`: the reader left; that is not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear message, not a traceback, for operational errors
        print(f"louzhang: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


__all__ = ["build_parser", "main"]
