"""`python -m starter COMMAND`: the command line of Parcours, one module per command."""

import argparse
import sys
from collections.abc import Callable, Sequence

from api import app
from infra.settings import get_settings, run_configured
from infra.temporal import exit_now
from readmodel.schema import StaleSchema, start_afresh
from reporting import command as report_command
from starter import (
    codec_server,
    cohort,
    config,
    devstack,
    erasure,
    keys,
    migrate,
    persons,
    revival,
    sinks,
)
from starter.demo import driver

Command = Callable[[argparse.Namespace], int]


def parser() -> argparse.ArgumentParser:
    """Every command, its options and the function that runs it."""
    root = argparse.ArgumentParser(prog="python -m starter", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "dev", help="run the local stack: Temporal, PostgreSQL, worker, API, codec, demo cohort"
    ).set_defaults(run=devstack.main)
    commands.add_parser(
        "demo", help="drive the demo cohort through the API of a stack that already runs"
    ).set_defaults(run=driver.main)
    keys.add_parser(commands)
    cohort.add_parser(commands)
    app.add_parser(commands)
    codec_server.add_parser(commands)
    erasure.add_parser(commands)
    revival.add_parser(commands)
    persons.add_parser(commands)
    report_command.add_parser(commands)
    migrate.add_parser(commands)
    config.add_parser(commands)
    sinks.add_parser(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Command = args.run
    return run_configured(lambda: _stale_schema_in_one_line(args, run))


def _stale_schema_in_one_line(args: argparse.Namespace, run: Command) -> int:
    """The command's code; a database from before release 1 gets one line, not a traceback."""
    try:
        return run(args)
    except StaleSchema as error:
        sys.stderr.write(
            f"python -m starter {args.command}: {error}; {start_afresh(get_settings())}\n"
        )
        return 1


if __name__ == "__main__":
    exit_now(main())
