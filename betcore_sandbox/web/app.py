"""The aiohttp application: provider routes on the root, the admin API as a sub-application."""

from __future__ import annotations

from aiohttp import web

from ..state import SandboxState
from . import provider
from .admin import create_admin_app
from .heap import gc_pacer
from .keys import STATE

# Admin state imports can be large; provider bodies are held to their own 64 KiB limit in the handler.
MAX_ADMIN_BODY = 64 * 1024 * 1024


def create_app(state: SandboxState, *, admin_token: str | None = None, pace_gc: bool = False) -> web.Application:
    """pace_gc: for a long-running server process (see heap.py); not for sandboxes embedded in a test process."""
    app = web.Application(client_max_size=MAX_ADMIN_BODY)
    app[STATE] = state
    if pace_gc:
        app.cleanup_ctx.append(gc_pacer)
    provider.add_routes(app)
    app.add_subapp("/__admin", create_admin_app(admin_token))
    provider.add_fallback(app)
    return app
