"""The dashboard: static files under /__admin/ui/, the login that guards it, and the browser's way in from `/`.

With an admin token set, the browser logs in once (`POST /__admin/ui/login` with the token) and gets an HttpOnly,
SameSite=Strict cookie naming a random login id; the admin middleware accepts that cookie as it accepts the Bearer
header. A cookie rather than a token in sessionStorage: the event stream (EventSource) cannot send headers, a query
ticket would put a credential in URLs and logs, and script on the page can never read an HttpOnly cookie. Strict
same-site keeps other sites' pages from making a logged-in browser call the admin API; but a page on another port of
the same host is the same site, and without a token the API needs no cookie at all, so a change a browser sends from
another origin (its `Origin` or `Sec-Fetch-Site` says so) is refused outright: a form on any page could otherwise
reset the sandbox. Programs (curl, SDKs, the CLI) send neither header and are unaffected.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import OrderedDict
from importlib import resources
from urllib.parse import urlsplit

from aiohttp import web

from .. import jsontext
from ..signing import header_bytes
from . import provider
from .keys import ADMIN_TOKEN

__all__ = [
    "COOKIE",
    "LOGIN_SECONDS",
    "MAX_LOGINS",
    "OPEN_ROUTES",
    "REPORT_HEADERS",
    "Logins",
    "add_routes",
    "by_bearer",
    "from_another_origin",
    "logged_in",
    "root",
]

COOKIE = "betcore_sandbox_login"
LOGIN_SECONDS = 12 * 3600  # a login lasts a working day
MAX_LOGINS = 256  # kept at once; past that the oldest is forgotten
LOGIN_BODY_LIMIT = 4096  # the login is open to anyone: its body is held to a token's size
LOGIN_BODY_SECONDS = 10.0
UI_PATH = "/__admin/ui/"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# Everything the page loads comes from the sandbox itself; nothing inline, no frames, no other origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
# The conformance report's pages: inline style only, never a script, a frame or another origin.
REPORT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
}
# Reachable before logging in: the page itself, and the way to log in.
OPEN_ROUTES = frozenset({"ui-redirect", "ui-index", "ui-file", "ui-login", "ui-logout", "ui-session"})


class Logins:
    """Login ids handed out as cookies, each valid for `seconds`; at most `limit` at once."""

    def __init__(self, seconds: float = LOGIN_SECONDS, limit: int = MAX_LOGINS) -> None:
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self.seconds = seconds
        self.limit = limit

    def __len__(self) -> int:
        return len(self._expiry)

    def create(self) -> str:
        login = secrets.token_urlsafe(32)
        self._expiry[login] = time.monotonic() + self.seconds
        while len(self._expiry) > self.limit:
            self._expiry.popitem(last=False)
        return login

    def valid(self, login: str) -> bool:
        expiry = self._expiry.get(login)
        if expiry is None:
            return False
        if expiry < time.monotonic():
            del self._expiry[login]
            return False
        return True

    def end(self, login: str) -> None:
        self._expiry.pop(login, None)


LOGINS = web.AppKey("dashboard_logins", Logins)


def by_bearer(request: web.Request, token: str) -> bool:
    """The request carries `Authorization: Bearer <token>`."""
    given = header_bytes(request.headers.get("Authorization", ""))
    return hmac.compare_digest(given, f"Bearer {token}".encode())


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def from_another_origin(request: web.Request) -> bool:
    """A browser sends this change from a page of another origin (a cross-site form or script): never honoured."""
    if request.method in SAFE_METHODS:
        return False
    if request.headers.get("Sec-Fetch-Site", "") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc.lower() != (request.host or "").lower()


def logged_in(request: web.Request) -> bool:
    """The request carries the cookie of a current login."""
    login = request.cookies.get(COOKIE)
    logins = request.config_dict.get(LOGINS)
    return login is not None and logins is not None and logins.valid(login)


def _files() -> dict[str, tuple[bytes, str]]:
    """The shipped files by name, read once: only these are ever served (no path reaches the file system)."""
    found = {}
    for item in resources.files("betcore_sandbox").joinpath("ui").iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1] if "." in item.name else ""
        if item.is_file() and suffix in CONTENT_TYPES:
            found[item.name] = (item.read_bytes(), CONTENT_TYPES[suffix])
    return found


async def index(request: web.Request) -> web.Response:
    return _serve("index.html")


async def ui_file(request: web.Request) -> web.Response:
    return _serve(request.match_info["name"])


def _serve(name: str) -> web.Response:
    found = FILES.get(name)
    if found is None:
        raise web.HTTPNotFound()
    content, content_type = found
    response = web.Response(body=content, headers=SECURITY_HEADERS)
    response.headers["Content-Type"] = content_type
    return response


async def to_index(request: web.Request) -> web.Response:
    raise web.HTTPFound(UI_PATH)


async def login(request: web.Request) -> web.Response:
    """`{"token": "..."}` → 200 with the login cookie; a wrong token → 401. Without a token set, nothing to do."""
    token = request.config_dict.get(ADMIN_TOKEN)
    if not token:
        return web.json_response({"login": "not needed: no admin token is set"})
    raw = await _small_body(request)
    if raw is None:
        return web.json_response({"error": f"the body is over {LOGIN_BODY_LIMIT} bytes or too slow"}, status=400)
    try:
        given = jsontext.decode_document(raw or b"{}")  # a key given twice is refused, as everywhere
    except jsontext.JsonError as exc:
        return web.json_response({"error": f"body {exc}"}, status=400)
    offered = given.get("token") if isinstance(given, dict) else None
    if not isinstance(offered, str):
        return web.json_response({"error": "token: a string is required"}, status=400)
    if not hmac.compare_digest(offered.encode(), token.encode()):
        return web.json_response({"error": "wrong admin token"}, status=401)
    response = web.json_response({"login": "ok"})
    response.set_cookie(
        COOKIE,
        request.config_dict[LOGINS].create(),
        path="/__admin",
        httponly=True,
        samesite="Strict",
        max_age=LOGIN_SECONDS,
    )
    return response


async def session(request: web.Request) -> web.Response:
    """Whether the admin API needs a login and whether this browser has one: the page asks before anything else."""
    token = request.config_dict.get(ADMIN_TOKEN)
    required = bool(token)
    return web.json_response({"tokenRequired": required, "loggedIn": not required or logged_in(request)})


async def _small_body(request: web.Request) -> bytes | None:
    """The login body, which anyone may send: at most LOGIN_BODY_LIMIT bytes within the body-read timeout."""
    if (request.content_length or 0) > LOGIN_BODY_LIMIT:
        return None
    body = b""
    try:
        async with asyncio.timeout(LOGIN_BODY_SECONDS):
            while len(body) <= LOGIN_BODY_LIMIT and (chunk := await request.content.read(LOGIN_BODY_LIMIT + 1)):
                body += chunk
    except TimeoutError:
        return None
    return body if len(body) <= LOGIN_BODY_LIMIT else None


async def logout(request: web.Request) -> web.Response:
    login = request.cookies.get(COOKIE)
    if login:
        request.config_dict[LOGINS].end(login)
    response = web.json_response({"login": "ended"})
    response.del_cookie(COOKIE, path="/__admin")
    return response


def add_routes(admin: web.Application) -> None:
    """The dashboard's routes on the admin sub-application (which checks the login on every other route)."""
    admin[LOGINS] = Logins()
    r = admin.router
    r.add_get("/ui", to_index, name="ui-redirect")
    r.add_get("/ui/", index, name="ui-index")
    r.add_get("/ui/session", session, name="ui-session")
    r.add_get("/ui/{name}", ui_file, name="ui-file")
    r.add_post("/ui/login", login, name="ui-login")
    r.add_post("/ui/logout", logout, name="ui-logout")


async def root(request: web.Request) -> web.Response:
    """`GET /` from a browser (it asks for HTML) goes to the dashboard; an API client gets the usual 404."""
    if "text/html" in request.headers.get("Accept", ""):
        raise web.HTTPFound(UI_PATH)
    return await provider.no_such_endpoint(request)


FILES = _files()
