"""The aiohttp application: provider routes on the root, the admin API as a sub-application."""

from __future__ import annotations

import logging

from aiohttp import web

from ..limits import DEFAULT_HEADER_TIMEOUT, MAX_ADMIN_BODY
from ..logs import quiet_bad_requests
from ..state import SandboxState
from . import connections, dashboard, documents, events, heap, provider
from .admin import create_admin_app
from .keys import STATE

# Admin state imports can be large; provider bodies are held to their own 64 KiB limit in the handler.


def create_app(
    state: SandboxState,
    *,
    admin_token: str | None = None,
    pace_gc: bool | heap.GcPacing = False,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
) -> web.Application:
    """pace_gc: for a long-running server process (see heap.py); not for sandboxes embedded in a test process.
    header_timeout: seconds a connection has to deliver a complete request head; it applies when the app is served
    by connections.SandboxRunner (read it back with connections.header_timeout(app))."""
    logging.getLogger("aiohttp.server").addFilter(quiet_bad_requests)  # added once, whatever the app count
    app = web.Application(client_max_size=MAX_ADMIN_BODY)
    app[STATE] = state
    connections.install(app, header_timeout)
    if pace_gc:
        heap.install(app, pace_gc if isinstance(pace_gc, heap.GcPacing) else heap.GcPacing())
    events.install(app)
    provider.add_routes(app)
    app.add_subapp("/__admin", create_admin_app(admin_token))
    app.router.add_get("/", dashboard.root)
    documents.add_provider_route(app)
    provider.add_fallback(app)
    return app
