"""`python -m worker`: the worker process; a database it cannot migrate stops it in one line."""

import asyncio
import sys

from infra.settings import get_settings
from readmodel.schema import StaleSchema, start_afresh
from worker import main

try:
    asyncio.run(main())
except StaleSchema as error:
    sys.exit(f"python -m worker: {error}; {start_afresh(get_settings())}")
