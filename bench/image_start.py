"""The image's size and the API container's start time, from `podman run` to `/readyz` 200.

    PYTHONPATH=. .venv/bin/python bench/image_start.py            # 5 starts
    PYTHONPATH=. .venv/bin/python bench/image_start.py --runs 10

Builds the image first when it is missing (`make image`). Against a dev server and an embedded
PostgreSQL of its own on this host (ports picked free), migrates once with the image's
`migrate`, then starts the API container `--runs` times, hardened as in `make test-image`, and
times each start until `/readyz` answers 200 (Temporal and PostgreSQL reached). Prints JSON.
"""

import argparse
import asyncio
import json
import os
import statistics
import time

os.environ.setdefault("PARCOURS_ENV", "development")

from bench.stack import embedded_postgres, start_temporal, workdir
from tests.containers import (
    IMAGE,
    containers,
    ensure_image,
    free_port,
    fresh_database,
    key_spec,
    podman,
    run_once,
    start,
    wait_until_ready,
)


async def measure(runs: int) -> dict[str, object]:
    await asyncio.to_thread(ensure_image)
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    async with workdir() as path:
        server, address = await start_temporal(path)
        postgres, url = await asyncio.to_thread(embedded_postgres, path)
        try:
            async with fresh_database(url) as database:
                api_port = free_port()
                env = {
                    "TEMPORAL_ADDRESS": address,
                    "TEMPORAL_NAMESPACE": "default",
                    "DATABASE_URL": database,
                    "PARCOURS_CODEC_KEYS": key_spec("bench"),
                    "PARCOURS_PERSON_KEYS": key_spec("bench-persons"),
                    "PARCOURS_API_PORT": str(api_port),
                }
                code, output = await asyncio.to_thread(run_once, ["migrate"], env)
                if code != 0:
                    raise SystemExit(f"migrate failed in the image:\n{output}")
                seconds = []
                for _ in range(runs):
                    with containers() as started:
                        began = time.monotonic()
                        started.append(start(["api"], env))
                        await wait_until_ready(f"http://127.0.0.1:{api_port}/readyz", started[0])
                        seconds.append(time.monotonic() - began)
        finally:
            await asyncio.to_thread(postgres.cleanup)
            await server.stop()
    return {
        "image": IMAGE,
        "size_mb": round(size / 1e6),
        "api_ready_s": {
            "runs": runs,
            "median": round(statistics.median(seconds), 2),
            "min": round(min(seconds), 2),
            "max": round(max(seconds), 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    print(json.dumps(asyncio.run(measure(parser.parse_args().runs)), indent=2))


if __name__ == "__main__":
    main()
