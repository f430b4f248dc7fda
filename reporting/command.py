"""`python -m starter report --out DIR [--from DAY] [--to DAY]`: the programme report as HTML,
JSON and CSV files."""

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

from infra.database import Pool, open_pool
from infra.settings import get_settings
from readmodel import migrate
from readmodel.reports import programme_report
from reporting.page import report_html
from reporting.tables import report_csv


async def write_report(
    pool: Pool,
    out: Path,
    *,
    day_seconds: float = 86400.0,
    period_from: date | None = None,
    period_to: date | None = None,
) -> list[Path]:
    """Write report.html, report.json and one CSV per table into `out`; return the files."""
    async with pool.acquire() as con:
        report = await programme_report(
            con, day_seconds=day_seconds, period_from=period_from, period_to=period_to
        )
    files = {
        "report.html": report_html(report),
        "report.json": report.model_dump_json(indent=2),
        **{f"{table}.csv": text for table, text in report_csv(report).items()},
    }
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
    return written


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`report --out DIR`; run by `args.run(args) -> exit code`."""
    command = subparsers.add_parser(
        "report",
        help="write the programme report (HTML with plots, JSON, CSV) into a directory",
    )
    command.add_argument(
        "--out", required=True, type=Path, help="the directory to write into (made if missing)"
    )
    command.add_argument(
        "--from", dest="period_from", type=date.fromisoformat, help="first day counted (YYYY-MM-DD)"
    )
    command.add_argument(
        "--to", dest="period_to", type=date.fromisoformat, help="last day counted (YYYY-MM-DD)"
    )
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """0 when the report is written; 2 for a period backwards, or when the database or the
    directory cannot be reached."""
    period = (args.period_from, args.period_to)
    if None not in period and args.period_from > args.period_to:
        sys.stderr.write("starter report: error: --from is after --to\n")
        return 2
    try:
        written = asyncio.run(_report(args.out, *period))
    except OSError as error:
        sys.stderr.write(f"starter report: error: {error}\n")
        return 2
    sys.stdout.write(f"programme report: {len(written)} files in {args.out}\n")
    return 0


async def _report(out: Path, period_from: date | None, period_to: date | None) -> list[Path]:
    settings = get_settings()
    pool = await open_pool(settings)
    try:
        await migrate(pool)
        return await write_report(
            pool,
            out,
            day_seconds=settings.seconds_per_day,
            period_from=period_from,
            period_to=period_to,
        )
    finally:
        await pool.close()
