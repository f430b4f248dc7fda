"""An ASGI app under uvicorn inside the caller's event loop (the tests' servers and sinks, and
the bench's): serving until the block ends."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn


@asynccontextmanager
async def uvicorn_serving(config: uvicorn.Config) -> AsyncIterator[str]:
    """Serve `config`'s app once it listens; its base URL on this host. A server that stops
    before it started raises its error."""
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await serving
