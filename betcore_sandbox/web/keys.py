"""Typed keys for what the application stores."""

from aiohttp import web

from ..state import SandboxState

STATE = web.AppKey("state", SandboxState)
ADMIN_TOKEN = web.AppKey("admin_token", str)
