"""A reference game provider: the PARTNER API (Games, Launch) and a round played through the wallet API.

Written to be read. It uses nothing of betcore-sandbox: only aiohttp and the standard library, as a provider's
own server would. Run it next to a sandbox:

    python examples/provider/server.py --port 9090 --wallet-url http://127.0.0.1:8080/v1

then point the sandbox at it (`betcore-sandbox launch --provider-url http://127.0.0.1:9090 --game aerobet`).

What it does:
* GET  /v1/games                  — the game list, after checking the aggregator's X-Sign.
* POST /v1/games/{gameId}/launch  — checks X-Sign and every field, remembers the session (its sessionId, also in
                                    demo mode, and its minBet/maxBet), calls Balance with that sessionId, and
                                    answers a frameUri.
* POST /play/{sessionId}          — what the game frame does on "spin": PayIn, then PayOut, body
                                    {"stake": "1.00", "win": "2.50", "betId": optional}. A wallet call that
                                    fails (code 99, HTTP error, no answer) is retried once with the same body and
                                    a new X-Request-Id; if it still fails, the bet is refunded.
* GET  /play/{sessionId}          — the session as the provider knows it.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web

# The default sandbox fixture's counterparty: the provider's id and the secret both sides sign with.
COUNTERPARTY_ID = "933a215f-a9e6-4f88-9d91-52a87cd50499"
SECRET = "sandbox-secret-key-123"

GAMES = [
    {
        "gameId": "aerobet",
        "gameName": "Aerobet",
        "gameCategory": "crash",
        "maxOdd": 1000,
        "lobbyImgUrl": "https://cdn.example/aerobet.png",
    },
    {"gameId": "fruit-slot", "gameName": "Fruit Slot", "gameCategory": "slots"},
]
LAUNCH_FIELDS = ("sessionId", "currency", "language", "minBet", "maxBet", "gameMode")

OK = 1
INVALID_REQUEST = 2
UNAUTHORIZED = 8
ALREADY_PROCESSED = 104
RETRYABLE = 99  # internal error: retry once, then refund

CONFIG = web.AppKey("config", dict)
SESSIONS = web.AppKey("sessions", dict)
LAUNCHES = web.AppKey("launches", list)
WALLET = web.AppKey("wallet", object)


# -- signing: HMAC-SHA256 over "<body>.<counterpartyId>.<timestamp>.<requestId>" (no body part for a GET) -------------


def sign(secret: str, method: str, body: bytes, counterparty_id: str, timestamp: str, request_id: str) -> str:
    parts = [counterparty_id.encode(), timestamp.encode(), request_id.encode()]
    if method == "POST":
        parts.insert(0, body)  # the raw bytes as sent: never a re-serialisation
    return hmac.new(secret.encode(), b".".join(parts), hashlib.sha256).hexdigest()


def signed_headers(secret: str, counterparty_id: str, method: str, body: bytes = b"") -> dict[str, str]:
    timestamp, request_id = str(time.time_ns() // 1_000_000), uuid.uuid4().hex  # a new id for every attempt
    return {
        "X-Counterparty-Id": counterparty_id,
        "X-Timestamp": timestamp,
        "X-Request-Id": request_id,
        "X-Sign": sign(secret, method, body, counterparty_id, timestamp, request_id),
    }


def signature_problem(request: web.Request, body: bytes) -> str | None:
    """Why the aggregator's request is not correctly signed, or None."""
    config = request.app[CONFIG]
    h = request.headers
    for name in ("X-Counterparty-Id", "X-Timestamp", "X-Request-Id", "X-Sign"):
        if not h.get(name):
            return f"missing header {name}"
    if h["X-Counterparty-Id"] != config["counterparty_id"]:
        return "unknown counterparty"
    expected = sign(config["secret"], request.method, body, h["X-Counterparty-Id"], h["X-Timestamp"], h["X-Request-Id"])
    if not hmac.compare_digest(expected, h["X-Sign"].lower()):
        return "bad signature"
    return None


def reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))  # Decimal as text


def answer(code: int, status: int = 200, **fields: Any) -> web.Response:
    return reply({**fields, "_responseCode": code}, status)


# -- the PARTNER API ------------------------------------------------------------------------------------------------


async def games(request: web.Request) -> web.Response:
    problem = signature_problem(request, b"")
    if problem:
        return answer(UNAUTHORIZED, 401, message=problem)
    return answer(OK, games=request.app[CONFIG]["games"])


async def launch(request: web.Request) -> web.Response:
    body = await request.read()
    problem = signature_problem(request, body)
    if problem:
        return answer(UNAUTHORIZED, 401, message=problem)
    config = request.app[CONFIG]
    try:
        fields = json.loads(body, parse_float=Decimal)
    except ValueError:
        return answer(INVALID_REQUEST, 400, message="body is not JSON")
    game_id = request.match_info["gameId"]
    if game_id not in {g["gameId"] for g in config["games"]}:
        return answer(INVALID_REQUEST, 400, message=f"unknown game {game_id}")
    missing = [name for name in (*LAUNCH_FIELDS, config["player_field"]) if fields.get(name) in (None, "")]
    if missing:
        return answer(INVALID_REQUEST, 400, message=f"missing {', '.join(missing)}")
    session_id = fields["sessionId"]  # in demo mode too: never the literal "demo"
    request.app[LAUNCHES].append({"gameId": game_id, "headers": request.headers.copy(), "raw": body, "body": fields})
    # Like the real client: remember the session and its limits, then ask the wallet for the balance.
    status, wallet_answer = await request.app[WALLET].call("GET", f"/sessions/{session_id}/balance")
    if wallet_answer.get("_responseCode") != OK:
        return answer(RETRYABLE, 500, message=f"Balance answered {status} {wallet_answer}")
    request.app[SESSIONS][session_id] = {
        "gameId": game_id,
        "playerId": fields[config["player_field"]],
        "currency": fields["currency"],
        "minBet": Decimal(str(fields["minBet"])),
        "maxBet": Decimal(str(fields["maxBet"])),
        "demo": fields["gameMode"] == "demo",
        "balance": str(wallet_answer["balance"]),
        "rounds": [],
    }
    frame = f"{request.scheme}://{request.host}/play/{session_id}"
    return answer(OK, frameUri=frame)


# -- a round through the wallet API ---------------------------------------------------------------------------------


class Wallet:
    """The aggregator's wallet API, called the way the real client calls it."""

    def __init__(self, base_url: str, counterparty_id: str, secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.counterparty_id = counterparty_id
        self.secret = secret
        self.http: aiohttp.ClientSession | None = None

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """(HTTP status, answer); status 0 and code 99 when no usable answer came."""
        raw = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        headers = signed_headers(self.secret, self.counterparty_id, method, raw)
        headers["Content-Type"] = "application/json"
        assert self.http is not None
        try:
            async with self.http.request(
                method, self.base_url + path, data=raw or None, headers=headers, timeout=aiohttp.ClientTimeout(10)
            ) as response:
                return response.status, json.loads(await response.read(), parse_float=Decimal)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return 0, {"_responseCode": RETRYABLE, "message": f"no answer: {exc!r}"}

    async def bet_call(self, session_id: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """A bet operation, retried once (same body, new X-Request-Id) when it failed for no final reason."""
        path = f"/sessions/{session_id}/bets/{operation}"
        _, first = await self.call("POST", path, body)
        if first.get("_responseCode") != RETRYABLE:
            return first
        _, second = await self.call("POST", path, body)
        if second.get("_responseCode") == ALREADY_PROCESSED:  # the first attempt did go through
            return {**second, "_responseCode": OK}
        return second


async def play(request: web.Request) -> web.Response:
    """One round: PayIn, then PayOut; a step that still fails after its retry is refunded."""
    session_id = request.match_info["sessionId"]
    session = request.app[SESSIONS].get(session_id)
    if session is None:
        return reply({"error": "no such session: launch it first"}, 404)
    try:  # the frame's input, checked before any wallet call
        given = json.loads(await request.read())
        stake, win = Decimal(str(given.get("stake", "1.00"))), Decimal(str(given.get("win", "0")))
    except (ValueError, AttributeError, ArithmeticError):  # not JSON, not an object, not a number
        given, stake, win = None, Decimal("NaN"), Decimal("NaN")
    if given is None or not (stake.is_finite() and win.is_finite() and win >= 0):
        return reply({"error": 'the body must be {"stake": "1.00", "win": "2.50", "betId": optional}'}, 400)
    if not session["minBet"] <= stake <= session["maxBet"]:
        return reply({"error": f"stake must be from {session['minBet']} to {session['maxBet']}"}, 400)
    wallet: Wallet = request.app[WALLET]
    bet_id = given.get("betId") or f"bet-{uuid.uuid4().hex[:12]}"
    round_id = f"round-{uuid.uuid4().hex[:12]}"
    common = {"betId": bet_id, "gameRoundId": round_id, "sessionId": session_id}
    outcome = {"betId": bet_id}
    paid_in = await wallet.bet_call(session_id, "pay-in", {**common, "betAmount": str(stake)})
    if paid_in["_responseCode"] == OK:
        paid_out = await wallet.bet_call(session_id, "pay-out", {**common, "winAmount": str(win)})
        if paid_out["_responseCode"] == OK:
            outcome |= {"outcome": "settled", "balance": str(paid_out["balance"])}
        else:
            outcome |= await refund(wallet, session_id, common, paid_out)
    elif paid_in["_responseCode"] == RETRYABLE:
        outcome |= await refund(wallet, session_id, common, paid_in)  # the stake may have been taken
    else:  # 2-8 are final: nothing was taken
        outcome |= {"outcome": "rejected", "code": paid_in["_responseCode"], "message": paid_in.get("message")}
    session["rounds"].append(outcome)
    return reply(outcome)


async def refund(wallet: Wallet, session_id: str, common: dict[str, Any], failed: dict[str, Any]) -> dict[str, Any]:
    refunded = await wallet.bet_call(session_id, "refund", common)
    return {"outcome": "refunded", "failure": failed, "refundCode": refunded["_responseCode"]}


async def session_state(request: web.Request) -> web.Response:
    session = request.app[SESSIONS].get(request.match_info["sessionId"])
    if session is None:
        return reply({"error": "no such session"}, 404)
    return reply(session)


# -- the app ---------------------------------------------------------------------------------------------------------


def create_app(
    wallet_url: str,
    *,
    counterparty_id: str = COUNTERPARTY_ID,
    secret: str = SECRET,
    games_listed: list[dict[str, Any]] | None = None,
    player_field: str = "playerId",
) -> web.Application:
    """The provider's server; `wallet_url` is the aggregator's wallet API base (a sandbox's `.../v1`)."""
    app = web.Application()
    app[CONFIG] = {
        "counterparty_id": counterparty_id,
        "secret": secret,
        "games": GAMES if games_listed is None else games_listed,
        "player_field": player_field,
    }
    app[SESSIONS] = {}
    app[LAUNCHES] = []  # every Launch request received: headers and body
    wallet = Wallet(wallet_url, counterparty_id, secret)
    app[WALLET] = wallet

    async def http_client(app: web.Application):  # type: ignore[no-untyped-def]
        wallet.http = aiohttp.ClientSession()
        yield
        await wallet.http.close()

    app.cleanup_ctx.append(http_client)
    app.router.add_get("/v1/games", games)
    app.router.add_post("/v1/games/{gameId}/launch", launch)
    app.router.add_post("/play/{sessionId}", play)
    app.router.add_get("/play/{sessionId}", session_state)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(
        description="A reference game provider for betcore-sandbox.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,  # every option's help shows its default
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9090, help="port to listen on")
    parser.add_argument("--wallet-url", default="http://127.0.0.1:8080/v1", help="the aggregator's wallet API")
    parser.add_argument(
        "--counterparty-id", default=COUNTERPARTY_ID, help="this provider's id at the aggregator (X-Counterparty-Id)"
    )
    parser.add_argument("--secret", default=SECRET, help="the secret shared with the aggregator, for X-Sign")
    options = parser.parse_args()
    app = create_app(options.wallet_url, counterparty_id=options.counterparty_id, secret=options.secret)
    web.run_app(app, host=options.host, port=options.port, print=lambda text: print(text, flush=True))


if __name__ == "__main__":
    main()
