"""`Sandbox`: a whole sandbox in a background thread with its own event loop, driven from Python.

Every method runs on the sandbox's loop, so a sync test (using `requests` or `urllib`) and an async test
(using aiohttp or httpx on its own loop) can both use it while the sandbox serves their HTTP calls.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from . import control
from .fixtures import Fixture, load_fixture, parse_fixture
from .limits import DEFAULT_HEADER_TIMEOUT, LINGER_SECONDS
from .records import AuditReport, BetRecord, FaultInfo, JournalEntry, PlayerInfo, SessionInfo, Transaction
from .settings import Settings
from .signing import signed_headers
from .state import SandboxState
from .web.app import create_app
from .web.connections import SandboxRunner

T = TypeVar("T")
_default_fixture: Fixture | None = None


def resolve_fixture(fixtures: str | Path | Mapping[str, Any] | Fixture | None) -> Fixture:
    """A fixture from a path, a dict in fixture format, a parsed Fixture, or None for the default."""
    global _default_fixture
    if fixtures is None:
        if _default_fixture is None:
            _default_fixture = load_fixture()
        return _default_fixture
    if isinstance(fixtures, Fixture):
        return fixtures
    if isinstance(fixtures, Mapping):
        return parse_fixture(fixtures, "<fixture dict>")
    return load_fixture(fixtures)


class Sandbox:
    """A running sandbox on 127.0.0.1 and a free port. Use as a context manager, or start() and stop()."""

    def __init__(
        self,
        fixtures: str | Path | Mapping[str, Any] | Fixture | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_token: str | None = None,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        state: str | Path | None = None,
        fixtures_merge: bool = False,
        **settings: Any,
    ) -> None:
        """`state`: durable mode, the wallet kept in this SQLite file: a new file is seeded with the fixture, an
        existing one resumed (with `fixtures_merge`, the fixture's players and sessions it lacks are added).
        Other keyword arguments are runtime settings (payOutWithoutBet="accept", ...)."""
        self.fixture = resolve_fixture(fixtures)
        store = None
        if state is not None:
            from .store import Store  # sqlite3 only for durable mode

            store = Store(state)
        elif fixtures_merge:
            raise ValueError("fixtures_merge needs state=")
        try:
            self._state = SandboxState(self.fixture, settings, store=store, merge=fixtures_merge)
        except BaseException:
            if store is not None:
                store.close()
            raise
        self._closed = False
        self.host = host
        self._port = port
        self._header_timeout = header_timeout
        self._admin_token = admin_token
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._thread is not None:
            raise RuntimeError("this sandbox is already running")
        if self._closed:
            raise RuntimeError("a durable sandbox let go of its database when stopped: create a new Sandbox(state=...)")
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[int] = concurrent.futures.Future()
        thread = threading.Thread(target=self._serve, args=(loop, started), name="betcore-sandbox", daemon=True)
        self._loop, self._thread = loop, thread
        thread.start()
        try:
            self._port = started.result(timeout=30)
        except BaseException:
            thread.join(5)
            self._loop = self._thread = None
            raise
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        self._loop = self._thread = None
        if self._state.store is not None:
            self._state.close()
            self._closed = True

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self, loop: asyncio.AbstractEventLoop, started: concurrent.futures.Future[int]) -> None:
        asyncio.set_event_loop(loop)
        try:
            runner = SandboxRunner(
                create_app(self._state, admin_token=self._admin_token, header_timeout=self._header_timeout),
                access_log=None,
                shutdown_timeout=1.0,
                lingering_time=LINGER_SECONDS,
            )
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self._port)
            loop.run_until_complete(site.start())
            self._runner = runner
            started.set_result(runner.addresses[0][1])
        except BaseException as exc:
            started.set_exception(exc)
            loop.close()
            return
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    # -- where it is -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def url(self) -> str:
        """The provider API base, e.g. http://127.0.0.1:41234/v1."""
        return f"{self.base_url}/v1"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/__admin"

    @property
    def counterparty_id(self) -> str:
        return self.fixture.counterparties[0].id

    @property
    def secret(self) -> str:
        return self.fixture.counterparties[0].secret

    def signed_headers(self, method: str, body: bytes | str = b"", **kwargs: Any) -> dict[str, str]:
        """X-Counterparty-Id, X-Timestamp, X-Request-Id and X-Sign for a request of the first counterparty."""
        raw = body.encode() if isinstance(body, str) else body
        return signed_headers(self.secret, self.counterparty_id, method, raw, **kwargs)

    # -- the admin API, in Python ------------------------------------------------------------------

    def reset(self) -> None:
        self._call(control.reset, self._state)

    def create_player(
        self, id: str | None = None, *, currency: str = "EUR", balance: Any = 0, blocked: bool = False
    ) -> PlayerInfo:
        body = {"currency": currency, "balance": _wire(balance), "blocked": blocked}
        if id is not None:
            body["id"] = id
        return PlayerInfo.of(self._call(control.create_player, self._state, body))

    def player(self, player_id: str) -> PlayerInfo:
        return PlayerInfo.of(self._call(control.player, self._state, player_id))

    def update_player(self, player_id: str, *, balance: Any = None, blocked: bool | None = None) -> PlayerInfo:
        body = {k: v for k, v in {"balance": _wire(balance), "blocked": blocked}.items() if v is not None}
        return PlayerInfo.of(self._call(control.update_player, self._state, player_id, body))

    def create_session(
        self,
        player_id: str | None = None,
        *,
        currency: str | None = None,
        balance: Any = None,
        id: str | None = None,
        counterparty_id: str | None = None,
        ttl_seconds: float | None = None,
        min_bet: Any = None,
        max_bet: Any = None,
    ) -> SessionInfo:
        """A session for an existing player, or with `currency` (+ `balance`) for a new one."""
        if player_id is None and currency is None:
            currency = "EUR"
        body = {
            "id": id,
            "playerId": player_id,
            "currency": currency,
            "balance": _wire(balance) if balance is not None else (0 if player_id is None else None),
            "counterpartyId": counterparty_id,
            "ttlSeconds": ttl_seconds,
            "minBet": _wire(min_bet),
            "maxBet": _wire(max_bet),
        }
        return SessionInfo.of(
            self._call(control.create_session, self._state, {k: v for k, v in body.items() if v is not None})
        )

    def session(self, session_id: str) -> SessionInfo:
        return SessionInfo.of(self._call(control.session, self._state, session_id))

    def update_session(self, session_id: str, **changes: Any) -> SessionInfo:
        body = {_camel(k): v if k == "ttl_seconds" else _wire(v) for k, v in changes.items()}
        return SessionInfo.of(self._call(control.update_session, self._state, session_id, body))

    def balance(self, session_id: str) -> Decimal:
        """The balance of the player behind the session."""
        return self.session(session_id).balance

    def bet(self, bet_id: str, counterparty_id: str | None = None) -> BetRecord:
        """One bet with its history; name the counterparty when two used the same betId."""
        return BetRecord.of(self._call(control.bet, self._state, bet_id, counterparty_id))

    def bets(
        self, *, session_id: str | None = None, player_id: str | None = None, status: str | None = None
    ) -> list[BetRecord]:
        """The bets, filtered by session, player and/or status (open | settled | refunded)."""
        views = self._call(control.bets, self._state, session_id=session_id, player_id=player_id, status=status)
        return [BetRecord.of(v) for v in views]

    def transactions(
        self, *, player_id: str | None = None, session_id: str | None = None, bet_id: str | None = None
    ) -> list[Transaction]:
        """The ledger, filtered by player, session and/or bet."""
        views = self._call(control.transactions, self._state, player_id=player_id, session_id=session_id, bet_id=bet_id)
        return [Transaction.of(v) for v in views]

    def requests(
        self,
        *,
        endpoint: str | None = None,
        session_id: str | None = None,
        bet_id: str | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """The journal, oldest first (with `limit`, the newest N). `headers` keep the names as sent, and look up
        case-insensitively."""
        views = self._call(
            control.requests, self._state, endpoint=endpoint, session_id=session_id, bet_id=bet_id, limit=limit
        )
        return [JournalEntry.of(v) for v in views]

    def add_fault(self, **rule: Any) -> FaultInfo:
        """A fault rule, with the admin API's fields in camelCase or snake_case (kind="http_error",
        endpoint="pay-out", phase="after", delay_ms=..., session_id=..., times=None for until removed)."""
        return FaultInfo.of(self._call(control.add_fault, self._state, {_camel(k): v for k, v in rule.items()}))

    def faults(self) -> list[FaultInfo]:
        return [FaultInfo.of(v) for v in self._call(control.faults, self._state)]

    def clear_faults(self) -> None:
        self._call(control.clear_faults, self._state)

    def audit(self) -> AuditReport:
        """The money audit: ok, violations, and the bets left open."""
        return AuditReport.of(self._call(control.audit, self._state))

    def settings(self, **changes: Any) -> Settings:
        """The runtime settings, after applying any given changes (camelCase or snake_case names)."""
        self._call(control.update_settings, self._state, changes)
        return self._call(self._state.settings.copy)

    def export_state(self) -> dict[str, Any]:
        return self._call(control.export_state, self._state)

    def import_state(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the state with an export (all or nothing); a summary of what was imported."""
        return self._call(control.import_state, self._state, data)

    @property
    def internal_errors(self) -> list[str]:
        """Unexpected failures inside the sandbox (there should be none)."""
        return self._call(lambda: list(self._state.internal_errors))

    # -- assertions --------------------------------------------------------------------------------

    def assert_no_open_bets(self) -> None:
        open_bets = self.audit()["openBets"]
        if open_bets:
            listed = ", ".join(f"{b['betId']} ({b['stake']} in {b['sessionId']})" for b in open_bets)
            raise AssertionError(f"{len(open_bets)} bet(s) left open, stake taken and never settled: {listed}")

    def assert_audit_ok(self) -> None:
        report = self.audit()
        if not report["ok"]:
            raise AssertionError("money audit failed:\n  " + "\n  ".join(report["violations"]))

    def assert_balance(self, session_id: str, expected: Any) -> None:
        actual = self.balance(session_id)
        if actual != Decimal(str(expected)):
            raise AssertionError(f"balance of {session_id!r} is {actual}, expected {expected}")

    def assert_bet(self, bet_id: str, *, status: str) -> None:
        actual = self.bet(bet_id)["status"]
        if actual != status:
            raise AssertionError(f"bet {bet_id!r} is {actual}, expected {status}")

    # -- plumbing ----------------------------------------------------------------------------------

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn on the sandbox's loop thread (directly when not running, or when already on it)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or threading.current_thread() is thread:
            return fn(*args, **kwargs)
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                value = fn(*args, **kwargs)
                if self._state.store is not None:
                    self._state.store.flush()  # durable: written before the caller hears of it
                result.set_result(value)
            except BaseException as exc:
                result.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return result.result(timeout=30)

    def __repr__(self) -> str:
        return f"<Sandbox {self.url if self._thread else 'stopped'}>"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _wire(value: Any) -> Any:
    """Python numbers for the admin operations: floats are refused as inexact, so give Decimal or str."""
    if isinstance(value, float):
        raise TypeError(f"pass money as Decimal, int or str, not float ({value!r})")
    return value
