"""GET /openapi.json and GET /__admin/openapi.json: the OpenAPI documents (contracts), made once per process.

Both are open to everyone, admin token or not: a contract is not a secret, and a client generator or a fuzzer
must be able to read it before it holds a token.
"""

from __future__ import annotations

from functools import cache

from aiohttp import web

from .. import contracts

__all__ = ["ADMIN_ROUTE", "add_admin_route", "add_provider_route"]

ADMIN_ROUTE = "openapi"  # the admin route's name: the token guard lets it through


@cache
def _text(name: str) -> bytes:
    return contracts.document_text(contracts.FILES[name]()).encode()


async def provider_document(request: web.Request) -> web.Response:
    return web.Response(body=_text("openapi/provider.json"), content_type="application/json")


async def admin_document(request: web.Request) -> web.Response:
    return web.Response(body=_text("openapi/admin.json"), content_type="application/json")


def add_provider_route(app: web.Application) -> None:
    app.router.add_get("/openapi.json", provider_document)


def add_admin_route(admin: web.Application) -> None:
    admin.router.add_get("/openapi.json", admin_document, name=ADMIN_ROUTE)
