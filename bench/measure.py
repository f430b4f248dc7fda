"""Closed-loop load and its figures: each client waits for its answer before the next request."""

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

Operation = Callable[[int, int], Awaitable[None]]
"""One request of client `c` (0-based), its `n`th; raises when the request fails."""


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and p99 in milliseconds (None without samples)."""
    if not seconds:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    if len(seconds) == 1:
        only = round(seconds[0] * 1000, 2)
        return {"p50_ms": only, "p95_ms": only, "p99_ms": only}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
    }


async def closed_loop(
    clients: int, seconds: float, operation: Operation, warm_up: int = 3
) -> dict[str, Any]:
    """Run `clients` loops for `seconds`; latency percentiles, throughput and errors."""
    for client in range(clients):
        for n in range(warm_up):
            await operation(client, -1 - n)
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + seconds

    async def loop(client: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            began = time.monotonic()
            try:
                await operation(client, n)
            except Exception as error:  # a failed request is counted, not fatal
                errors.append(f"{type(error).__name__}: {error}"[:200])
            else:
                latencies.append(time.monotonic() - began)
            n += 1

    began = time.monotonic()
    await asyncio.gather(*(loop(client) for client in range(clients)))
    elapsed = time.monotonic() - began
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "count": len(latencies),
        "per_s": round(len(latencies) / elapsed, 1),
        **percentiles_ms(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


async def bounded(
    concurrency: int, count: int, operation: Callable[[int], Awaitable[None]]
) -> float:
    """Run `operation(i)` for i < count, at most `concurrency` at once; the wall time."""
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await operation(i)

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return time.monotonic() - began
