from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from betcore_sandbox.fixtures import load_fixture, parse_fixture
from betcore_sandbox.signing import signed_headers
from betcore_sandbox.state import SandboxState
from betcore_sandbox.store import Store
from betcore_sandbox.web.app import create_app

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
SHARED_VECTORS = REPO.parent / "shared" / "vectors" / "signing.json"
VECTORS_COPY = Path(__file__).parent / "data" / "signing.json"

CP = "933a215f-a9e6-4f88-9d91-52a87cd50499"
SECRET = "sandbox-secret-key-123"
OTHER_CP = "other-provider"
OTHER_SECRET = "other-provider-secret"


def vectors() -> list[dict[str, Any]]:
    source = SHARED_VECTORS if SHARED_VECTORS.exists() else VECTORS_COPY
    return json.loads(source.read_text())["cases"]


def php_json(data: dict[str, Any]) -> bytes:
    """What PHP's json_encode sends: compact, with '/' escaped as '\\/'."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/").encode()


class Provider:
    """A game server's client, sending what the real PHP provider sends."""

    def __init__(
        self,
        http,
        counterparty_id: str = CP,
        secret: str = SECRET,
        prefix: str = "/v1",
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.http = http
        self.clock = clock  # what X-Timestamp is stamped with (ms); None: this machine's wall clock
        self.counterparty_id = counterparty_id
        self.secret = secret
        self.prefix = prefix

    async def send(
        self,
        endpoint: str,
        session_id: str,
        body: dict[str, Any] | bytes | None = None,
        *,
        headers: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
    ) -> tuple[int, dict[str, Any]]:
        method = "GET" if endpoint == "balance" else "POST"
        path = f"{self.prefix}/sessions/{session_id}/" + ("balance" if endpoint == "balance" else f"bets/{endpoint}")
        raw = body if isinstance(body, bytes) else (php_json(body) if body is not None else b"")
        stamp = self.clock() if self.clock is not None else None
        sent = signed_headers(self.secret, self.counterparty_id, method, raw, timestamp_ms=stamp)
        sent["Content-Type"] = "text/plain" if method == "GET" else "application/json"
        sent.update(headers or {})
        for name in drop:
            sent.pop(name, None)
        response = await self.http.request(method, path, data=raw if method == "POST" else None, headers=sent)
        return response.status, json.loads(await response.read(), parse_float=Decimal)

    async def balance(self, session_id: str = "session-eur") -> Decimal:
        status, body = await self.send("balance", session_id)
        assert (status, body["_responseCode"]) == (200, 1), body
        return body["balance"]

    async def pay_in(self, session_id: str, bet_id: str, amount: str, **extra: Any) -> dict[str, Any]:
        return (await self.send("pay-in", session_id, {"betId": bet_id, "betAmount": amount, **extra}))[1]

    async def pay_out(self, session_id: str, bet_id: str, win: str, **extra: Any) -> dict[str, Any]:
        return (await self.send("pay-out", session_id, {"betId": bet_id, "winAmount": win, **extra}))[1]

    async def pay_in_out(self, session_id: str, bet_id: str, amount: str, win: str, **extra: Any) -> dict[str, Any]:
        body = {"betId": bet_id, "betAmount": amount, "winAmount": win, **extra}
        return (await self.send("pay-in-out", session_id, body))[1]

    async def refund(self, session_id: str, bet_id: str, **extra: Any) -> dict[str, Any]:
        return (await self.send("refund", session_id, {"betId": bet_id, **extra}))[1]


@pytest.fixture
def default_fixture():
    return load_fixture()


# BETCORE_TEST_STATE=durable runs the in-process tests against a durable sandbox (a state database per test).
DURABLE = os.environ.get("BETCORE_TEST_STATE") == "durable"


@pytest.fixture
def make_state(default_fixture, tmp_path) -> Iterator[Callable[..., SandboxState]]:
    made: list[SandboxState] = []

    def make(fixture: dict[str, Any] | None = None, **settings: Any) -> SandboxState:
        loaded = parse_fixture(fixture) if fixture is not None else default_fixture
        store = Store(tmp_path / f"state-{len(made)}.db") if DURABLE else None
        made.append(SandboxState(loaded, settings, store=store))
        return made[-1]

    yield make
    for state in made:
        state.close()


@pytest.fixture
def state(make_state) -> SandboxState:
    return make_state()


@pytest.fixture
async def http(aiohttp_client, state):
    return await aiohttp_client(create_app(state))


@pytest.fixture
def provider(http) -> Provider:
    return Provider(http)


class Admin:
    """The admin API as a test sees it: (status, JSON with exact Decimals)."""

    def __init__(self, http, token: str | None = None) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        response = await self.http.request(method, f"/__admin{path}", data=data, headers=self.headers)
        text = await response.read()
        return response.status, (json.loads(text, parse_float=Decimal) if text else None)

    async def get(self, path: str) -> Any:
        status, data = await self.call("GET", path)
        assert status == 200, data
        return data

    async def fault(self, **rule: Any) -> dict[str, Any]:
        status, data = await self.call("POST", "/faults", rule)
        assert status == 201, data
        return data


@pytest.fixture
def admin(http) -> Admin:
    return Admin(http)


def assert_no_failure(caplog) -> None:
    """No unexpected failure inside the sandbox: each one is logged as an error on the logger betcore_sandbox."""
    failures = [r for r in caplog.records if r.name == "betcore_sandbox" and r.levelno >= logging.ERROR]
    assert not failures, failures[-1].getMessage() + "\n" + (failures[-1].exc_text or "")[-2000:]
