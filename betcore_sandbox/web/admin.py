"""The admin API under /__admin: JSON in and out, never signed, never hit by faults.

Each handler parses the request, calls one control operation and wraps the result; the middleware turns
AdminInputError into 400 and NotFound into 404, and guards every route but health (and the dashboard's page and
login) with the admin token or the dashboard's login cookie.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import traceback
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any, TypeVar

from aiohttp import ClientPayloadError, web

from .. import __version__, control, jsontext, launches, snapshot, views
from .. import audit as money_audit
from ..errors import AdminInputError, NotFound, SandboxError
from ..limits import MAX_ADMIN_BODY
from . import dashboard, documents, events
from .keys import ADMIN_TOKEN, STATE
from .outgoing import send

T = TypeVar("T")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reply(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=views.encode(data), status=status, content_type="application/json")


async def stream(request: web.Request, pieces: Iterator[bytes]) -> web.StreamResponse:
    """A large JSON answer written piece by piece, letting other requests in between pieces.

    The first piece is made before anything is sent, so a bad query still gets a clean error answer. Once the
    answer has started, a client that went away ends it quietly; a failure of the sandbox is logged and the
    connection aborted, since a second answer cannot follow a half-sent one."""
    first = next(pieces, b"")
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        await response.write(first)
        for piece in pieces:
            await asyncio.sleep(0)
            await response.write(piece)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away
    except Exception as exc:
        _record_failure(request, exc)
        if request.transport is not None:
            request.transport.abort()
    return response


def _record_failure(request: web.Request, exc: BaseException) -> None:
    """A bug in the sandbox: visible in the log, and counted for the plugin's teardown check."""
    request.config_dict[STATE].record_internal_error("".join(traceback.format_exception(exc)))
    logging.getLogger("betcore_sandbox").error(
        "unexpected failure in %s %s", request.method, request.path, exc_info=exc
    )


async def paused(steps: Generator[None, None, T]) -> T:
    """Run a stepped read (see audit.audit_steps), letting other requests in at each of its pauses."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        await asyncio.sleep(0)


def no_content() -> web.Response:
    return web.Response(status=204)


async def body(request: web.Request, *, optional: bool = False) -> Any:
    """The JSON body (a key given twice is refused). optional: no body at all reads as {} (options that all
    have defaults); otherwise an empty body is refused as what it is."""
    raw = await raw_body(request)
    try:
        return jsontext.decode_document((raw or b"{}") if optional else raw)
    except jsontext.JsonError as exc:
        raise AdminInputError(f"body {exc}") from None


async def raw_body(request: web.Request) -> bytes:
    """The body, within the body-read timeout (a client that never sends it gets 408)."""
    timeout_ms = request.config_dict[STATE].settings.bodyReadTimeoutMs
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            return await request.read()
    except TimeoutError:
        raise BodyTimeout(f"the body did not arrive within {timeout_ms} ms (setting bodyReadTimeoutMs)") from None


class BodyTimeout(Exception):
    pass


@web.middleware
async def admin_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if dashboard.from_another_origin(request):
        return reply({"error": "a change sent by a page of another origin is refused"}, 403)
    token = request.config_dict.get(ADMIN_TOKEN)
    if token and _guarded(request) and not (dashboard.by_bearer(request, token) or dashboard.logged_in(request)):
        return reply({"error": "admin token required: send 'Authorization: Bearer <token>'"}, 401)
    try:
        response = await handler(request)
        store = request.config_dict[STATE].store
        if store is not None and (failure := await store.settled()) is not None:  # durable: written first
            raise failure
        return response
    except AdminInputError as exc:
        return reply({"error": str(exc)}, 400)
    except (ConnectionError, asyncio.IncompleteReadError, ClientPayloadError):
        return reply({"error": "the client went away"}, 400)  # never sent: nobody is there
    except BodyTimeout as exc:
        response = reply({"error": str(exc)}, 408)
        response.force_close()
        return response
    except NotFound as exc:
        return reply({"error": str(exc)}, 404)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        return reply({"error": f"no admin route {request.method} {request.path}"}, exc.status)
    except web.HTTPRequestEntityTooLarge:
        response = reply({"error": f"the body is over the {MAX_ADMIN_BODY}-byte limit of the admin API"}, 413)
        response.force_close()
        return response
    except web.HTTPException:
        raise
    except SandboxError as exc:  # the state database could not be written (durable mode): nothing changed
        _record_failure(request, exc)
        return reply({"error": exc.message}, 500)
    except Exception as exc:
        _record_failure(request, exc)
        return reply({"error": f"unexpected sandbox failure: {exc!r}"}, 500)


def _guarded(request: web.Request) -> bool:
    """Needs the token (or the dashboard's login): every route but health, the OpenAPI document and the
    dashboard's page and login."""
    route = request.match_info.route.name
    open_route = route in ("health", documents.ADMIN_ROUTE) or route in dashboard.OPEN_ROUTES
    return not open_route and request.match_info.http_exception is None


def _query(request: web.Request, *names: str) -> dict[str, str | None]:
    return {name: request.query.get(name) or None for name in names}


def _id(request: web.Request) -> str:
    return request.match_info["id"]


async def health(request: web.Request) -> web.Response:
    return reply({"status": "healthy", "version": __version__})


async def reset(request: web.Request) -> web.Response:
    control.reset(request.config_dict[STATE])
    return reply({"status": "reset"})


async def get_state(request: web.Request) -> web.StreamResponse:
    return await stream(request, snapshot.export_chunks(request.config_dict[STATE]))


async def put_state(request: web.Request) -> web.Response:
    """Checked on a wallet of its own in a worker thread (a large import takes seconds), then swapped in here."""
    state = request.config_dict[STATE]
    raw = await raw_body(request)
    prepared = await asyncio.get_running_loop().run_in_executor(None, snapshot.prepare_import, raw, state.wallet.clock)
    return reply(snapshot.install(state, prepared))


async def list_players(request: web.Request) -> web.Response:
    return reply(control.players(request.config_dict[STATE]))


async def create_player(request: web.Request) -> web.Response:
    return reply(control.create_player(request.config_dict[STATE], await body(request)), 201)


async def get_player(request: web.Request) -> web.Response:
    return reply(control.player(request.config_dict[STATE], _id(request)))


async def patch_player(request: web.Request) -> web.Response:
    return reply(control.update_player(request.config_dict[STATE], _id(request), await body(request)))


async def list_sessions(request: web.Request) -> web.Response:
    return reply(control.sessions(request.config_dict[STATE]))


async def create_session(request: web.Request) -> web.Response:
    return reply(control.create_session(request.config_dict[STATE], await body(request)), 201)


async def get_session(request: web.Request) -> web.Response:
    return reply(control.session(request.config_dict[STATE], _id(request)))


async def patch_session(request: web.Request) -> web.Response:
    return reply(control.update_session(request.config_dict[STATE], _id(request), await body(request)))


async def delete_session(request: web.Request) -> web.Response:
    control.delete_session(request.config_dict[STATE], _id(request))
    return no_content()


async def list_bets(request: web.Request) -> web.StreamResponse:
    q = _query(request, "sessionId", "playerId", "status")
    state = request.config_dict[STATE]
    return await stream(
        request, control.bets_json(state, session_id=q["sessionId"], player_id=q["playerId"], status=q["status"])
    )


async def get_bet(request: web.Request) -> web.Response:
    counterparty_id = request.query.get("counterpartyId") or None
    return reply(control.bet(request.config_dict[STATE], _id(request), counterparty_id))


async def list_transactions(request: web.Request) -> web.StreamResponse:
    q = _query(request, "playerId", "sessionId", "betId")
    state = request.config_dict[STATE]
    return await stream(
        request,
        control.transactions_json(state, player_id=q["playerId"], session_id=q["sessionId"], bet_id=q["betId"]),
    )


async def list_requests(request: web.Request) -> web.StreamResponse:
    q = _query(request, "endpoint", "sessionId", "betId", "limit")
    return await stream(
        request,
        control.requests_json(
            request.config_dict[STATE],
            endpoint=q["endpoint"],
            session_id=q["sessionId"],
            bet_id=q["betId"],
            limit=q["limit"],
        ),
    )


async def get_request(request: web.Request) -> web.Response:
    return reply(control.request(request.config_dict[STATE], _id(request)))


async def clear_requests(request: web.Request) -> web.Response:
    control.clear_requests(request.config_dict[STATE])
    return no_content()


async def list_faults(request: web.Request) -> web.Response:
    return reply(control.faults(request.config_dict[STATE]))


async def add_fault(request: web.Request) -> web.Response:
    return reply(control.add_fault(request.config_dict[STATE], await body(request)), 201)


async def clear_faults(request: web.Request) -> web.Response:
    control.clear_faults(request.config_dict[STATE])
    return no_content()


async def get_fault(request: web.Request) -> web.Response:
    return reply(control.fault(request.config_dict[STATE], _id(request)))


async def remove_fault(request: web.Request) -> web.Response:
    control.remove_fault(request.config_dict[STATE], _id(request))
    return no_content()


async def audit(request: web.Request) -> web.StreamResponse:
    report = await paused(money_audit.audit_steps(await request.config_dict[STATE].consistent_copy()))
    open_bets = report.pop("openBets")
    head = views.encode(report)
    return await stream(
        request, itertools.chain((head[:-1] + b',"openBets":',), views.json_array(open_bets, views.plain), (b"}",))
    )


async def get_settings(request: web.Request) -> web.Response:
    return reply(control.settings(request.config_dict[STATE]))


async def patch_settings(request: web.Request) -> web.Response:
    return reply(control.update_settings(request.config_dict[STATE], await body(request)))


async def list_games(request: web.Request) -> web.Response:
    query: dict[str, Any] = {k: v for k, v in _query(request, "counterpartyId", "providerUrl").items() if v}
    if "sign" in request.query:
        query["sign"] = _flag(request.query["sign"], "sign")
    return reply(await launches.games(request.config_dict[STATE], query, send))


def _flag(text: str, name: str) -> bool:
    if text not in ("true", "false"):
        raise AdminInputError(f"{name}: must be true or false")
    return text == "true"


async def create_launch(request: web.Request) -> web.Response:
    return reply(await launches.launch(request.config_dict[STATE], await body(request), send), 201)


async def list_launches(request: web.Request) -> web.Response:
    return reply(launches.launches(request.config_dict[STATE]))


async def get_clock(request: web.Request) -> web.Response:
    return reply(control.clock(request.config_dict[STATE]))


async def change_clock(request: web.Request) -> web.Response:
    return reply(control.change_clock(request.config_dict[STATE], await body(request)))


async def list_scenarios(request: web.Request) -> web.Response:
    return reply(control.scenario_list())


async def apply_scenario(request: web.Request) -> web.Response:
    return reply(
        control.apply_scenario(
            request.config_dict[STATE], request.match_info["name"], await body(request, optional=True)
        ),
        201,
    )


async def conformance_report(request: web.Request) -> web.Response:
    """Judged in a worker thread from a snapshot: a full journal takes a second, the provider API keeps answering."""
    q = _query(request, "format", "graceSeconds")
    form, given = control.report_inputs(request.config_dict[STATE], q["format"], q["graceSeconds"])
    loop = asyncio.get_running_loop()
    rendered, content_type = await loop.run_in_executor(None, control.render_report, given, form)
    response = web.Response(body=rendered, content_type=content_type, charset="utf-8")
    # The HTML page shows what providers sent and opens on the dashboard's origin: escaped, and no script may run.
    response.headers.update(dashboard.REPORT_HEADERS)
    return response


def create_admin_app(admin_token: str | None = None) -> web.Application:
    admin = web.Application(middlewares=[admin_errors, events.announce_changes])
    if admin_token:
        admin[ADMIN_TOKEN] = admin_token
    r = admin.router
    r.add_get("/health", health, name="health")
    documents.add_admin_route(admin)
    r.add_post("/reset", reset)
    r.add_get("/state", get_state)
    r.add_put("/state", put_state)
    r.add_get("/players", list_players)
    r.add_post("/players", create_player)
    r.add_get("/players/{id}", get_player)
    r.add_patch("/players/{id}", patch_player)
    r.add_get("/sessions", list_sessions)
    r.add_post("/sessions", create_session)
    r.add_get("/sessions/{id}", get_session)
    r.add_patch("/sessions/{id}", patch_session)
    r.add_delete("/sessions/{id}", delete_session)
    r.add_get("/bets", list_bets)
    r.add_get("/bets/{id}", get_bet)
    r.add_get("/transactions", list_transactions)
    r.add_get("/requests", list_requests)
    r.add_get("/requests/{id}", get_request)
    r.add_delete("/requests", clear_requests)
    r.add_get("/faults", list_faults)
    r.add_post("/faults", add_fault)
    r.add_delete("/faults", clear_faults)
    r.add_get("/faults/{id}", get_fault)
    r.add_delete("/faults/{id}", remove_fault)
    r.add_get("/audit", audit)
    r.add_get("/settings", get_settings)
    r.add_patch("/settings", patch_settings)
    r.add_get("/games", list_games)
    r.add_post("/launches", create_launch)
    r.add_get("/launches", list_launches)
    r.add_get("/clock", get_clock)
    r.add_post("/clock", change_clock)
    r.add_get("/events", events.stream_events)
    dashboard.add_routes(admin)
    r.add_get("/scenarios", list_scenarios)
    r.add_post("/scenarios/{name}", apply_scenario)
    r.add_get("/report", conformance_report)
    return admin
