"""Providers for the Games and Launch tests: the reference provider of examples/provider, and small hostile ones,
each an aiohttp server on 127.0.0.1 and a free port, run on the test's own loop."""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import ModuleType

from aiohttp import web

from .conftest import REPO

REFERENCE = REPO / "examples" / "provider" / "server.py"


def reference_provider() -> ModuleType:
    """examples/provider/server.py, imported as a module (it is a script, not part of the package)."""
    name = "reference_provider"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REFERENCE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """The app served on 127.0.0.1 and a free port: its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
        # Closed transports (its server's, and its client session's to the sandbox) run connection_lost on the next
        # turn of the loop; without that turn one may be collected unclosed, warning in whichever test runs then.
        await asyncio.sleep(0)


def answering(launch: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.Application:
    """A provider whose Games and Launch both answer with `launch`."""
    app = web.Application()
    app.router.add_get("/v1/games", launch)
    app.router.add_post("/v1/games/{gameId}/launch", launch)
    return app


def raw(body: bytes, status: int = 200) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        return web.Response(body=body, status=status, content_type="application/json")

    return handler


async def never_answers(request: web.Request) -> web.StreamResponse:
    await asyncio.Event().wait()  # held until the server shuts down (the sandbox gives up first)
    raise AssertionError("unreachable")


_HELD = socket.socket()  # bound and never listening: connecting is refused, and no other test can take the port
_HELD.bind(("127.0.0.1", 0))
atexit.register(_HELD.close)


def closed_port_url() -> str:
    """A URL where nothing listens, for the whole run (a port merely found free could be taken meanwhile)."""
    return f"http://127.0.0.1:{_HELD.getsockname()[1]}"
