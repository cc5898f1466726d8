"""Two scripted game-server wallet clients talking HTTP (aiohttp) to a running sandbox.

`CorrectProvider` does what the contract asks: a fresh X-Request-Id per attempt, retries with the very same
bytes, a PayIn retried once then refunded when neither attempt got a definite answer, a Refund and a PayOut
retried until acknowledged, final codes never retried. `FaultyProvider` behaves the same except for one seeded
mistake, made on the bet named `SEEDED` only.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import aiohttp

from betcore_sandbox import Sandbox
from betcore_sandbox.signing import signed_headers

SEEDED = "seeded-bet"
MAX_ATTEMPTS = 30  # a settlement is retried until acknowledged; bounded so a broken test cannot spin


def body_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


class CorrectProvider:
    def __init__(self, http: aiohttp.ClientSession, sandbox: Sandbox, session_id: str = "session-eur") -> None:
        self.http = http
        self.sandbox = sandbox
        self.session_id = session_id
        self.timeout = 5.0  # seconds a client waits for an answer
        self.last_request_id: str | None = None

    # -- one HTTP attempt ----------------------------------------------------------------------------

    def headers(self, method: str, body: bytes, bet_id: str | None) -> dict[str, str]:
        return signed_headers(self.sandbox.secret, self.sandbox.counterparty_id, method, body)

    async def attempt(
        self, endpoint: str, body: bytes = b"", bet_id: str | None = None, session_id: str | None = None
    ) -> tuple[str, int | None]:
        """('ok' | 'duplicate' | 'final' | 'indefinite', code): read like the real client, by _responseCode."""
        method = "GET" if endpoint == "balance" else "POST"
        session = session_id or self.session_id
        path = f"/sessions/{session}/balance" if endpoint == "balance" else f"/sessions/{session}/bets/{endpoint}"
        headers = self.headers(method, body, bet_id)
        self.last_request_id = headers["X-Request-Id"]
        headers["Content-Type"] = "application/json"
        try:
            async with self.http.request(
                method,
                self.sandbox.url + path,
                data=body if method == "POST" else None,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError):
            return "indefinite", None
        try:
            code = json.loads(raw)["_responseCode"]
        except (ValueError, KeyError, TypeError):
            return "indefinite", None
        if code == 1:
            return "ok", code
        if code == 104:
            return "duplicate", code
        if 2 <= code <= 8:
            return "final", code
        return "indefinite", code

    # -- the wallet operations -----------------------------------------------------------------------

    async def balance(self) -> str:
        return (await self.attempt("balance"))[0]

    def pay_in_body(self, bet_id: str, amount: str) -> dict[str, Any]:
        return {"betId": bet_id, "betAmount": amount, "gameRoundId": f"round-{bet_id}", "sessionId": self.session_id}

    async def pay_in(self, bet_id: str, amount: str = "1.00") -> bool:
        """True when the stake was taken; after two attempts without a definite answer, refund and give up."""
        body = body_bytes(self.pay_in_body(bet_id, amount))
        for _ in range(2):
            kind, _code = await self.attempt("pay-in", body, bet_id)
            if kind in ("ok", "duplicate"):
                return True
            if kind == "final":
                return False
        await self.refund(bet_id)
        return False

    async def refund(self, bet_id: str) -> None:
        body = body_bytes({"betId": bet_id, "gameRoundId": f"round-{bet_id}", "sessionId": self.session_id})
        await self.until_definite("refund", body, bet_id)

    async def pay_out(self, bet_id: str, win: str = "2.00") -> None:
        body = body_bytes({"betId": bet_id, "winAmount": win, "gameRoundId": f"round-{bet_id}"})
        await self.until_acknowledged("pay-out", body, bet_id)

    async def pay_in_out(self, bet_id: str, amount: str = "1.00", win: str = "3.00") -> None:
        body = body_bytes({"betId": bet_id, "betAmount": amount, "winAmount": win, "gameRoundId": f"round-{bet_id}"})
        await self.until_acknowledged("pay-in-out", body, bet_id)

    async def until_acknowledged(self, endpoint: str, body: bytes, bet_id: str) -> None:
        for _ in range(MAX_ATTEMPTS):
            kind, _code = await self.attempt(endpoint, body, bet_id)
            if kind != "indefinite":
                return  # acknowledged, or final: a final answer is not retried
        raise AssertionError(f"{endpoint} of {bet_id} never answered in {MAX_ATTEMPTS} attempts")

    until_definite = until_acknowledged

    async def round(self, bet_id: str, amount: str = "1.00", win: str = "2.00") -> None:
        """A game round: the balance, the stake, and the win if the stake was taken."""
        await self.balance()
        if await self.pay_in(bet_id, amount):
            await self.pay_out(bet_id, win)


class FaultyProvider(CorrectProvider):
    """The correct client with one mistake, on the bet SEEDED only."""

    MISTAKES = (
        "bad-signature",
        "timestamp-seconds",
        "reused-request-id",
        "changed-retry",
        "retried-final",
        "forgotten-refund",
        "dropped-win",
        "needless-refund",
        "too-many-decimals",
        "over-max-bet",
        "expired-session",
        "open-bet",
        "unknown-field",
    )

    def __init__(self, http: aiohttp.ClientSession, sandbox: Sandbox, mistake: str) -> None:
        assert mistake in self.MISTAKES, mistake
        super().__init__(http, sandbox)
        self.mistake = mistake
        self.first_pay_in_request_id: str | None = None

    def headers(self, method: str, body: bytes, bet_id: str | None) -> dict[str, str]:
        if bet_id != SEEDED:
            return super().headers(method, body, bet_id)
        cp, secret = self.sandbox.counterparty_id, self.sandbox.secret
        if self.mistake == "bad-signature":
            return signed_headers(secret + "-wrong", cp, method, body)
        if self.mistake == "timestamp-seconds":
            return signed_headers(secret, cp, method, body, timestamp_ms=int(time.time()))
        if self.mistake == "reused-request-id" and self.first_pay_in_request_id is not None:
            return signed_headers(secret, cp, method, body, request_id=self.first_pay_in_request_id)
        headers = signed_headers(secret, cp, method, body, request_id=uuid.uuid4().hex)
        if self.first_pay_in_request_id is None:
            self.first_pay_in_request_id = headers["X-Request-Id"]
        return headers

    def pay_in_body(self, bet_id: str, amount: str) -> dict[str, Any]:
        body = super().pay_in_body(bet_id, amount)
        if bet_id == SEEDED and self.mistake == "unknown-field":
            body["currencyCode"] = "EUR"
        return body

    async def pay_in(self, bet_id: str, amount: str = "1.00") -> bool:
        if bet_id != SEEDED or self.mistake not in ("changed-retry", "retried-final", "forgotten-refund"):
            return await super().pay_in(bet_id, amount)
        first = body_bytes(self.pay_in_body(bet_id, amount))
        kind, _code = await self.attempt("pay-in", first, bet_id)
        if kind in ("ok", "duplicate"):
            return True
        if self.mistake == "retried-final":
            assert kind == "final"
            return (await self.attempt("pay-in", first, bet_id))[0] in ("ok", "duplicate")
        retry = body_bytes(self.pay_in_body(bet_id, "2.00")) if self.mistake == "changed-retry" else first
        kind, _code = await self.attempt("pay-in", retry, bet_id)
        if kind in ("ok", "duplicate"):
            return True
        if self.mistake != "forgotten-refund":
            await self.refund(bet_id)
        return False

    async def pay_out(self, bet_id: str, win: str = "2.00") -> None:
        if bet_id == SEEDED and self.mistake == "dropped-win":
            body = body_bytes({"betId": bet_id, "winAmount": win, "gameRoundId": f"round-{bet_id}"})
            await self.attempt("pay-out", body, bet_id)  # and never again, whatever came back
            return
        if bet_id == SEEDED and self.mistake == "open-bet":
            return
        await super().pay_out(bet_id, win)
        if bet_id == SEEDED and self.mistake == "needless-refund":
            await self.refund(bet_id)

    async def round(self, bet_id: str, amount: str = "1.00", win: str = "2.00") -> None:
        if bet_id == SEEDED and self.mistake == "too-many-decimals":
            amount = "1.005"
        if bet_id == SEEDED and self.mistake == "over-max-bet":
            amount = "600.00"
        if bet_id == SEEDED and self.mistake == "expired-session":
            body = body_bytes({"betId": bet_id, "betAmount": amount})
            await self.attempt("pay-in", body, bet_id, session_id="session-expired")
            return
        await super().round(bet_id, amount, win)


async def wait_until(condition: Any, timeout: float = 20.0) -> None:
    """Poll (not sleep for a fixed time) until condition() is true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
