"""`Sandbox`: a whole sandbox in a background thread with its own event loop, driven from Python.

Every method runs on the sandbox's loop, so a sync test (using `requests` or `urllib`) and an async test
(using aiohttp or httpx on its own loop) can both use it while the sandbox serves their HTTP calls.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from . import control, launches, report, report_formats
from .errors import AdminInputError
from .fixtures import Fixture, load_fixture, parse_fixture
from .inputs import FaultIn, InputError, parse_instant, read
from .limits import DEFAULT_HEADER_TIMEOUT, LINGER_SECONDS, MAX_READ_TIMEOUT_MS
from .records import (
    AppliedScenario,
    AuditReport,
    BetRecord,
    ClockInfo,
    ConformanceReport,
    FaultInfo,
    GamesResult,
    JournalEntry,
    LaunchResult,
    PlayerInfo,
    ScenarioInfo,
    SessionInfo,
    Transaction,
)
from .settings import MONEY_SETTINGS, SettingError, Settings, canonical_name
from .signing import signed_headers
from .state import SandboxState
from .web.app import create_app
from .web.connections import SandboxRunner
from .web.outgoing import send

__all__ = ["Sandbox"]

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
    """A running sandbox on 127.0.0.1 and a free port. Use as a context manager, or start() and stop().

    fixtures: a fixture file, a dict in fixture format, a parsed Fixture, or None for the default; clock: start
    the sandbox clock at this time (a datetime, an ISO 8601 string with a UTC offset, or epoch milliseconds), virtual
    and running on from there; None for wall time. `reset()` returns to it. Other keywords are runtime settings.
    """

    def __init__(
        self,
        fixtures: str | Path | Mapping[str, Any] | Fixture | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_token: str | None = None,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        clock: datetime | str | int | None = None,
        state: str | Path | None = None,
        fixtures_merge: bool = False,
        settings: Mapping[str, Any] | None = None,
        **more_settings: Any,
    ) -> None:
        """`state`: durable mode, the wallet kept in this SQLite file: a new file is seeded with the fixture, an
        existing one resumed (with `fixtures_merge`, the fixture's players and sessions it lacks are added).
        `settings`: runtime settings as a dict; `more_settings`, the other keyword arguments, are runtime settings
        too (pay_out_without_bet="accept", ...); names in camelCase or snake_case, either way."""
        settings = _merged_settings(settings, more_settings)
        self.fixture = resolve_fixture(fixtures)
        store = None
        if state is not None:
            from .store import Store  # sqlite3 only for durable mode

            store = Store(state)
        elif fixtures_merge:
            raise ValueError("fixtures_merge needs state=")
        try:
            self._state = SandboxState(
                self.fixture,
                settings,
                clock_ms=None if clock is None else moment_ms(clock),
                store=store,
                merge=fixtures_merge,
            )
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
        self._waiting: set[concurrent.futures.Future[Any]] = set()  # Games and Launch calls under way

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Serve on a background thread with its own event loop; returns once it listens (the port is known).
        RuntimeError when it is already running."""
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
        """Stop serving and end the thread; Games and Launch calls still waiting are cancelled. Stopping a sandbox
        that is not running does nothing."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        for call in list(self._waiting):  # their callers get CancelledError now, not a wait on a stopped loop
            call.cancel()
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
                # no grace for requests in flight: the test that sent them is over, and a fault may hold one for
                # seconds; they are cancelled at once (connections.HeaderTimeoutHandler.shutdown)
                shutdown_timeout=0.0,
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
            _finish_tasks(loop)
            loop.close()

    # -- where it is -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port it listens on (the one it was given, or the free one found when given 0)."""
        return self._port

    @property
    def base_url(self) -> str:
        """http://host:port, without a path."""
        return f"http://{self.host}:{self._port}"

    @property
    def url(self) -> str:
        """The provider API base, e.g. http://127.0.0.1:41234/v1."""
        return f"{self.base_url}/v1"

    @property
    def admin_url(self) -> str:
        """The admin API base, e.g. http://127.0.0.1:41234/__admin."""
        return f"{self.base_url}/__admin"

    @property
    def counterparty_id(self) -> str:
        """The fixture's first counterparty: the one signed_headers() signs for."""
        return self.fixture.counterparties[0].id

    @property
    def secret(self) -> str:
        """The first counterparty's signing secret."""
        return self.fixture.counterparties[0].secret

    def signed_headers(self, method: str, body: bytes | str = b"", **kwargs: Any) -> dict[str, str]:
        """X-Counterparty-Id, X-Timestamp, X-Request-Id and X-Sign for a request of the first counterparty.

        method: the HTTP method (GET, POST). body: the exact bytes (or text, sent as UTF-8) of the request body.
        kwargs, passed on to `signing.signed_headers`: timestamp_ms (default the sandbox clock's time, a virtual
        clock's too) and request_id (default a fresh one)."""
        raw = body.encode() if isinstance(body, str) else body
        if kwargs.get("timestamp_ms") is None:
            kwargs["timestamp_ms"] = self._state.clock.now_ms()  # a read of one int: safe from any thread
        return signed_headers(self.secret, self.counterparty_id, method, raw, **kwargs)

    # -- the admin API, in Python ------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the fixture, the start-up settings and the start-up clock; journal, faults and seen ids cleared."""
        self._call(control.reset, self._state)

    def create_player(
        self, id: str | None = None, *, currency: str = "EUR", balance: Any = 0, blocked: bool = False
    ) -> PlayerInfo:
        """A new player. id: its id (default a fresh one); currency: one the fixture knows; balance: an exact amount
        (int, Decimal or decimal string, never a float) in that currency's precision; blocked: refuses its bets."""
        body = {"currency": currency, "balance": _wire(balance), "blocked": blocked}
        if id is not None:
            body["id"] = id
        return PlayerInfo.of(self._call(control.create_player, self._state, body))

    def player(self, player_id: str) -> PlayerInfo:
        """The player `player_id` (AdminInputError when there is none)."""
        return PlayerInfo.of(self._call(control.player, self._state, player_id))

    def update_player(self, player_id: str, *, balance: Any = None, blocked: bool | None = None) -> PlayerInfo:
        """Change the player `player_id`. balance: a new exact balance (an admin adjustment in the ledger);
        blocked: refuse or accept its bets again. None leaves a field as it is."""
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
        """A session for an existing player, or with `currency` (+ `balance`) for a new one.

        player_id: the player it plays for; currency, balance: a new player's (default EUR, 0); id: the session's id
        (default a fresh one); counterparty_id: the counterparty it belongs to (default the first); ttl_seconds: how
        long it lives; min_bet, max_bet: exact stake limits. None leaves a field at its default."""
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
        """The session `session_id` (AdminInputError when there is none)."""
        return SessionInfo.of(self._call(control.session, self._state, session_id))

    def update_session(self, session_id: str, **changes: Any) -> SessionInfo:
        """Change the session `session_id`; changes: the admin API's PATCH /__admin/sessions/{id} fields in
        camelCase or snake_case (status "active" | "expired" | "closed", ttl_seconds, min_bet, max_bet), amounts
        exact."""
        body = {_camel(k): v if k == "ttl_seconds" else _wire(v) for k, v in changes.items()}
        return SessionInfo.of(self._call(control.update_session, self._state, session_id, body))

    def balance(self, session_id: str) -> Decimal:
        """The balance of the player behind the session `session_id`, exact."""
        return self.session(session_id).balance

    def bet(self, bet_id: str, counterparty_id: str | None = None) -> BetRecord:
        """One bet with its history. bet_id: as the provider sent it; counterparty_id: which counterparty's, when two
        used the same betId."""
        return BetRecord.of(self._call(control.bet, self._state, bet_id, counterparty_id))

    def bets(
        self, *, session_id: str | None = None, player_id: str | None = None, status: str | None = None
    ) -> list[BetRecord]:
        """The bets, filtered by `session_id`, `player_id` and/or `status` (open | settled | refunded)."""
        views = self._call(control.bets, self._state, session_id=session_id, player_id=player_id, status=status)
        return [BetRecord.of(v) for v in views]

    def transactions(
        self, *, player_id: str | None = None, session_id: str | None = None, bet_id: str | None = None
    ) -> list[Transaction]:
        """The ledger, filtered by `player_id`, `session_id` and/or `bet_id`."""
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
        """The journal, oldest first, filtered by `endpoint` (pay-in, balance, ...), `session_id` and/or `bet_id`;
        with `limit`, the newest N. `headers` keep the names as sent, and look up case-insensitively."""
        views = self._call(
            control.requests, self._state, endpoint=endpoint, session_id=session_id, bet_id=bet_id, limit=limit
        )
        return [JournalEntry.of(v) for v in views]

    def request_count(self) -> int:
        """How many requests the journal holds now (what `requests()` would list), without reading them."""
        return self._call(len, self._state.journal)

    def add_fault(self, **rule: Any) -> FaultInfo:
        """A fault rule, with the admin API's fields in camelCase or snake_case (kind="http_error",
        endpoint="pay-out", phase="after", delay_ms=..., session_id=..., times=None for until removed). A bad
        field is an AdminInputError naming the fields of that kind, in snake_case unless the rule used camelCase."""
        body = {_camel(k): v for k, v in rule.items()}
        try:  # read here too, for an error in the caller's spelling; the fault book reads it again
            read(body, FaultIn, snake=not any(c.isupper() for name in rule for c in name))
        except InputError as problem:
            raise AdminInputError(f"{problem.path.removeprefix('$.')}: {problem.message}") from None
        return FaultInfo.of(self._call(control.add_fault, self._state, body))

    def faults(self) -> list[FaultInfo]:
        """The fault rules, oldest first: with `state` (active, used-up, expired: used-up and expired ones stay
        listed until cleared or reset), how often each fired and how many times it has left."""
        return [FaultInfo.of(v) for v in self._call(control.faults, self._state)]

    def clear_faults(self) -> None:
        """Remove every fault rule (a fixture's own rules come back with the next reset)."""
        self._call(control.clear_faults, self._state)

    def audit(self) -> AuditReport:
        """The money audit: ok, violations, and the bets left open."""
        return AuditReport.of(self._call(control.audit, self._state))

    def scenarios(self) -> list[ScenarioInfo]:
        """The named fault scenarios, with what each does and the checks it exercises."""
        return [ScenarioInfo.of(v) for v in control.scenario_list()]

    def scenario(
        self,
        name: str,
        *,
        session_id: str | None = None,
        player_id: str | None = None,
        seed: int | None = None,
        delay_ms: int | None = None,
    ) -> AppliedScenario:
        """Apply a named scenario (see `scenarios()`): its fault rules, only for requests of that `session_id`
        and/or `player_id` when given; `seed` for `chaos` (drawn and shown when omitted), `delay_ms` for a
        timeout's hold."""
        options = {"sessionId": session_id, "playerId": player_id, "seed": seed, "delayMs": delay_ms}
        body = {k: v for k, v in options.items() if v is not None}
        return AppliedScenario.of(self._call(control.apply_scenario, self._state, name, body))

    def report(self, *, grace_seconds: float | None = None) -> ConformanceReport:
        """The conformance report: every check over the journal and the wallet (open bets younger than
        `grace_seconds`, default 60, are still in play)."""
        _, given = self._call(control.report_inputs, self._state, None, grace_seconds)
        return ConformanceReport.of(report.judged(given))  # judged here, from a snapshot: the sandbox keeps serving

    def assert_conformant(self, *, grace_seconds: float | None = None) -> None:
        """AssertionError listing every failed check with its evidence, unless the report passed. grace_seconds:
        as for `report()`."""
        found = self.report(grace_seconds=grace_seconds)
        if not found.passed:
            listed = "\n".join(
                f"  {c.id}: {c.rule}\n"
                + "\n".join(f"    {line}" for line in report_formats.evidence_text(c).splitlines())
                for c in found.failed
            )
            raise AssertionError(f"{len(found.failed)} conformance check(s) failed:\n{listed}")

    def settings(self, changes: Mapping[str, Any] | None = None, /, **more_changes: Any) -> Settings:
        """The runtime settings, after applying any given changes: `changes`, a dict, and/or `more_changes`, keyword
        arguments; names in camelCase or snake_case. All or nothing: a bad value changes nothing (AdminInputError)."""
        try:
            given = _merged_settings(changes, more_changes)
        except SettingError as exc:
            raise AdminInputError(str(exc)) from None
        self._call(control.update_settings, self._state, given)
        return self._call(self._state.settings.copy)

    def export_state(self) -> dict[str, Any]:
        """The whole state (players, sessions, bets, ledger, settings) as JSON-ready data, in fixture format."""
        return self._call(control.export_state, self._state)

    def import_state(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the state with `data`, an export (all or nothing: a bad one changes nothing); a summary of what
        was imported."""
        return self._call(control.import_state, self._state, data)

    # -- the provider's Games and Launch (the sandbox calls them) ----------------------------------------
    #
    # The call runs on the sandbox's loop; these methods wait for it. A provider server that runs on the calling
    # thread's own event loop (an async test) must not be blocked meanwhile: there, await the *_async variants.

    def games(
        self, provider_url: str | None = None, *, counterparty_id: str | None = None, sign: bool = True
    ) -> GamesResult:
        """Call the provider's GET /v1/games (`provider_url`: its base URL, default the counterparty's
        providerUrl) and check every game; `status` ok, or failed with `problems`. counterparty_id: whose request
        it is (default the first); sign: False sends it unsigned."""
        return self._wait(self._games(provider_url, counterparty_id, sign))

    async def games_async(
        self, provider_url: str | None = None, *, counterparty_id: str | None = None, sign: bool = True
    ) -> GamesResult:
        """`games()` for an async test, with the same provider_url, counterparty_id and sign: the caller's loop
        keeps running (and serving) while it waits."""
        return await asyncio.wrap_future(self._submit(self._games(provider_url, counterparty_id, sign)))

    def launch(self, game_id: str, **options: Any) -> LaunchResult:
        """Open a session and send the provider's POST /v1/games/{game_id}/launch for the game `game_id`;
        `status` launched (with
        `frame_uri`) or failed (with `problems`); the session is `result.session`.

        options, as the admin API's POST /__admin/launches body in snake_case: provider_url, counterparty_id,
        player_id or currency (+ balance), language, min_bet, max_bet, game_mode ("real" | "demo"),
        session_id, ttl_seconds, sign (False sends it unsigned)."""
        return self._wait(self._launch(game_id, options))

    async def launch_async(self, game_id: str, **options: Any) -> LaunchResult:
        """`launch()` for an async test, with the same `game_id` and options: the caller's loop keeps running
        (and serving) while it waits."""
        return await asyncio.wrap_future(self._submit(self._launch(game_id, options)))

    def launches(self) -> list[LaunchResult]:
        """The launches made so far, oldest first (the newest 1000)."""
        return [LaunchResult.of(v) for v in self._call(launches.launches, self._state)]

    async def _games(self, provider_url: str | None, counterparty_id: str | None, sign: bool) -> GamesResult:
        query = {"providerUrl": provider_url, "counterpartyId": counterparty_id, "sign": sign}
        given = {k: v for k, v in query.items() if v is not None}
        return GamesResult.of(await launches.games(self._state, given, send))

    async def _launch(self, game_id: str, options: Mapping[str, Any]) -> LaunchResult:
        body = {_camel(k): _wire(v) for k, v in options.items() if v is not None}
        return LaunchResult.of(await launches.launch(self._state, {**body, "gameId": game_id}, send))

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        loop = self._loop
        if loop is None:
            coroutine.close()
            raise RuntimeError("the sandbox is not running: start() it first (or use it as a context manager)")
        call = asyncio.run_coroutine_threadsafe(coroutine, loop)
        self._waiting.add(call)
        call.add_done_callback(self._waiting.discard)
        return call

    def _wait(self, coroutine: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:  # blocking here would stall that loop, and with it a provider served on it
            coroutine.close()
            raise RuntimeError(
                "called from a running event loop: use `await sandbox.launch_async(...)` / `games_async(...)` "
                "(or `await asyncio.to_thread(sandbox.launch, ...)`)"
            )
        return self._submit(coroutine).result(timeout=MAX_READ_TIMEOUT_MS / 1000 + 30)

    # -- the sandbox clock ---------------------------------------------------------------------------------

    def clock(self) -> ClockInfo:
        """The sandbox clock: now_ms, offset_ms (from wall time), mode (real | virtual); `.now` as a datetime."""
        return ClockInfo.of(self._call(control.clock, self._state))

    def advance_clock(self, by: timedelta | int) -> ClockInfo:
        """Move sandbox time forward by a timedelta or a number of milliseconds (>= 0); the clock is virtual from
        then on and keeps running."""
        if isinstance(by, timedelta):
            by = by // timedelta(milliseconds=1)
        return ClockInfo.of(self._call(control.change_clock, self._state, {"advanceMs": by}))

    def set_clock(self, to: datetime | str | int) -> ClockInfo:
        """Set sandbox time to a datetime (aware), an ISO 8601 string with a UTC offset, or epoch milliseconds; it
        runs on from there. Going back before the latest booked time is refused (AdminInputError)."""
        return ClockInfo.of(self._call(control.change_clock, self._state, {"setMs": moment_ms(to)}))

    def real_clock(self) -> ClockInfo:
        """Back to wall time (refused, like set_clock, if that is before the latest booked time)."""
        return ClockInfo.of(self._call(control.change_clock, self._state, {"mode": "real"}))

    @property
    def internal_errors(self) -> list[str]:
        """Unexpected failures inside the sandbox (there should be none)."""
        return self._call(lambda: list(self._state.internal_errors))

    # -- assertions --------------------------------------------------------------------------------

    def assert_no_open_bets(self) -> None:
        """AssertionError listing every bet whose stake was taken and never settled or refunded."""
        open_bets = self.audit()["openBets"]
        if open_bets:
            listed = ", ".join(f"{b['betId']} ({b['stake']} in {b['sessionId']})" for b in open_bets)
            raise AssertionError(f"{len(open_bets)} bet(s) left open, stake taken and never settled: {listed}")

    def assert_audit_ok(self) -> None:
        """AssertionError listing the money audit's violations, unless it found none."""
        report = self.audit()
        if not report["ok"]:
            raise AssertionError("money audit failed:\n  " + "\n  ".join(report["violations"]))

    def assert_balance(self, session_id: str, expected: Any) -> None:
        """AssertionError unless the balance behind `session_id` equals `expected`: an exact amount (int, Decimal or
        decimal text; a float is refused with TypeError, as every money argument is)."""
        expected = _wire(expected)
        actual = self.balance(session_id)
        if actual != Decimal(str(expected)):
            raise AssertionError(f"balance of {session_id!r} is {actual}, expected {expected}")

    def assert_bet(self, bet_id: str, *, status: str) -> None:
        """AssertionError unless the bet `bet_id` has the `status` (open | settled | refunded)."""
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


def moment_ms(value: datetime | str | int) -> int:
    """Epoch milliseconds of a datetime (aware), an ISO 8601 string with a UTC offset, or a number of ms."""
    if isinstance(value, bool):
        raise TypeError(f"a time must be a datetime, an ISO 8601 string or epoch milliseconds, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"a datetime needs a time zone (e.g. tzinfo=UTC): {value!r}")
        value = value.isoformat()
    try:
        return round(parse_instant(value) * 1000)
    except (InputError, TypeError, ValueError) as exc:
        raise ValueError(f"clock: {exc}") from None


def _finish_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Let the tasks still on the loop (a Games or Launch call cancelled by stop()) run to their end, so their
    client sessions close their sockets before the loop does (as asyncio.run does for its loop)."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(asyncio.sleep(0))  # the closed transports' connection_lost callbacks
    loop.run_until_complete(loop.shutdown_asyncgens())


def _merged_settings(given: Mapping[str, Any] | None, keywords: Mapping[str, Any]) -> dict[str, Any]:
    """Settings from a dict and from keyword arguments, as one; a setting in both is an error, not a choice."""
    if given is not None and not isinstance(given, Mapping):
        raise SettingError("$", f"settings must be a dict, not {type(given).__name__}")
    merged = dict(given or {})
    named = {canonical_name(name) for name in merged if isinstance(name, str)}
    for name, value in keywords.items():
        if canonical_name(name) in named:
            raise SettingError(f"$.{name}", f"{canonical_name(name)} is given twice (in settings= and as a keyword)")
        merged[name] = value
    for name, value in merged.items():
        if isinstance(name, str) and canonical_name(name) in MONEY_SETTINGS:
            _wire(value)  # a float is refused here as by every money argument, before anything starts
    return merged


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _wire(value: Any) -> Any:
    """Python numbers for the admin operations: floats are refused as inexact, so give Decimal or str."""
    if isinstance(value, float):
        raise TypeError(f"pass money as Decimal, int or str, not float ({value!r})")
    return value
