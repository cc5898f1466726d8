"""The admin API under /__admin: never signed, never hit by faults."""

from __future__ import annotations

from aiohttp import web

from .. import __version__


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "healthy", "version": __version__})


def create_admin_app() -> web.Application:
    admin = web.Application()
    admin.router.add_get("/health", health)
    return admin
