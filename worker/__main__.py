"""`python -m worker`: the worker process. A missing or wrong setting, or a database it cannot
migrate, stops it in one line."""

import asyncio
import sys

from infra.settings import get_settings, run_configured
from infra.temporal import exit_now
from readmodel.schema import StaleSchema, start_afresh
from worker import main


def _run() -> int:
    try:
        asyncio.run(main())
    except StaleSchema as error:
        sys.stderr.write(f"python -m worker: {error}; {start_afresh(get_settings())}\n")
        return 1
    return 0


exit_now(run_configured(_run))  # a drained worker's code, not a crash in finalisation
