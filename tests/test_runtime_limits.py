"""Limits a long-running server needs: bounded frozen garbage, a bounded shutdown, a request-head timeout, and log
lines no client can forge."""

from __future__ import annotations

import asyncio
import gc
import http.client
import io
import json
import logging
import signal
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from betcore_sandbox.cli import SHUTDOWN_GRACE_SECONDS
from betcore_sandbox.fixtures import load_fixture
from betcore_sandbox.logs import LOG, BatchingHandler, JsonFormatter, RequestLog, TextFormatter, configure
from betcore_sandbox.signing import signed_headers
from betcore_sandbox.state import SandboxState
from betcore_sandbox.web.app import create_app
from betcore_sandbox.web.connections import DEFAULT_HEADER_TIMEOUT, SandboxRunner, header_timeout
from betcore_sandbox.web.heap import PACER_STATS, GcPacing

from .conftest import CP, SECRET
from .process import SandboxProcess

BALANCE = "/v1/sessions/session-eur/balance"
PAY_IN = "/v1/sessions/session-eur/bets/pay-in"


async def _until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def _serve(app: web.Application) -> AsyncIterator[str]:
    runner = SandboxRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


# -- 1. the GC pacer -------------------------------------------------------------------------------------------


async def _held_requests(base: str, rounds: int, per_round: int) -> None:
    """Requests held open by a delay fault, each on its own connection, closed once answered."""
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(rounds):

            async def one() -> None:
                async with http.get(BALANCE, headers=signed_headers(SECRET, CP, "GET", b"")) as response:
                    assert response.status == 200, await response.text()

            await asyncio.gather(*(one() for _ in range(per_round)))


async def _pacing_server(pacing: GcPacing) -> tuple[web.Application, AsyncIterator[str], str]:
    app = create_app(SandboxState(load_fixture(), {"journalLimit": 1}), pace_gc=pacing)
    served = _serve(app)
    base = await served.__anext__()
    async with (
        aiohttp.ClientSession(base) as http,
        http.post(
            "/__admin/faults", json={"endpoint": "balance", "kind": "delay", "delayMs": 60, "times": None}
        ) as response,
    ):
        assert response.status == 201
    return app, served, base


async def test_gc_pacer_frees_connections_that_closed_after_being_frozen():
    pacing = GcPacing(interval_seconds=0.02, refreeze_seconds=0.4, max_full_share=1.0)
    app, served, base = await _pacing_server(pacing)
    try:
        stats = app[PACER_STATS]
        await _held_requests(base, rounds=1, per_round=40)  # warm-up: lazy imports, caches, pools
        seen = stats.full_collections
        await _until(lambda: stats.full_collections > seen, what="a full collection after the warm-up")
        baseline = stats.frozen_after_full

        await _held_requests(base, rounds=8, per_round=40)
        # every held connection was alive at a pacer tick (60 ms held, 20 ms ticks), so it was frozen; once closed
        # it must not stay frozen: the next full collection frees it
        await _until(lambda: gc.get_freeze_count() <= baseline + 400, what="the frozen set back to its size")
        seen = stats.full_collections
        await _until(lambda: stats.full_collections > seen, what="another full collection")
        assert stats.frozen_after_full <= baseline + 400, (baseline, stats.frozen_after_full)
    finally:
        await served.aclose()
    assert gc.get_freeze_count() == 0  # the pacer's clean-up unfreezes


async def test_without_full_collections_every_held_connection_stays_frozen():
    """The leak the periodic full collection bounds, measured with it pushed out of reach."""
    _, served, base = await _pacing_server(GcPacing(interval_seconds=0.02, refreeze_seconds=3600))
    try:
        await _held_requests(base, rounds=1, per_round=40)
        before = gc.get_freeze_count()
        await _held_requests(base, rounds=4, per_round=40)
        assert gc.get_freeze_count() - before >= 160 * 3  # a few objects per connection, never freed
    finally:
        await served.aclose()


# -- 2. shutdown within the grace ------------------------------------------------------------------------------


def _admin_post(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}/__admin{path}", method="POST", data=json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _wait_fired(url: str, fault_id: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{url}/__admin/faults/{fault_id}", timeout=5) as response:
            if json.loads(response.read())["fired"]:
                return
        assert time.monotonic() < deadline, f"fault {fault_id} did not fire"
        time.sleep(0.01)


def _in_background(url: str, method: str, path: str, body: bytes = b"") -> tuple[threading.Thread, list[Any]]:
    """Send a signed request from a thread; its outcome (status and JSON, or the exception) lands in the list."""
    outcome: list[Any] = []

    def send() -> None:
        headers = signed_headers(SECRET, CP, method, body)
        request = urllib.request.Request(f"{url}{path}", method=method, data=body or None, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                outcome.append((response.status, json.loads(response.read())))
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread, outcome


def test_sigterm_lets_held_faults_go_at_once_and_in_flight_requests_finish():
    sandbox = SandboxProcess("--port", "0")
    try:
        url = sandbox.wait_listening()
        held_fault = _admin_post(url, "/faults", {"endpoint": "balance", "kind": "timeout", "delayMs": 30000})
        slow_fault = _admin_post(url, "/faults", {"endpoint": "pay-in", "kind": "delay", "delayMs": 800})
        held, held_outcome = _in_background(url, "GET", BALANCE)
        slow, slow_outcome = _in_background(url, "POST", PAY_IN, b'{"betId":"grace-1","betAmount":"1.00"}')
        _wait_fired(url, held_fault["id"])
        _wait_fired(url, slow_fault["id"])
        assert held.is_alive()  # still held by the timeout fault

        started = time.monotonic()
        assert sandbox.stop(signal.SIGTERM) == 0
        assert time.monotonic() - started < SHUTDOWN_GRACE_SECONDS
        held.join(5)
        slow.join(5)
        assert slow_outcome and slow_outcome[0][0] == 200 and slow_outcome[0][1]["_responseCode"] == 1
        assert held_outcome and isinstance(held_outcome[0], (ConnectionError, http.client.RemoteDisconnected))
        assert sandbox.lines[-1].endswith("INFO stopped")
    finally:
        sandbox.close()


def test_sigterm_ends_a_request_longer_than_the_grace_when_the_grace_ends():
    sandbox = SandboxProcess("--port", "0")
    try:
        url = sandbox.wait_listening()
        fault = _admin_post(url, "/faults", {"endpoint": "balance", "kind": "delay", "delayMs": 30000})
        thread, outcome = _in_background(url, "GET", BALANCE)
        _wait_fired(url, fault["id"])
        started = time.monotonic()
        assert sandbox.stop(signal.SIGTERM) == 0
        elapsed = time.monotonic() - started
        # aiohttp alone waits the grace twice for a handler that is not reading (about 6 s); the margin is for
        # process exit on a loaded machine
        assert SHUTDOWN_GRACE_SECONDS - 0.2 < elapsed < SHUTDOWN_GRACE_SECONDS + 1.5, elapsed
        thread.join(5)
        assert outcome and isinstance(outcome[0], (ConnectionError, http.client.RemoteDisconnected))
        assert not any("Traceback" in line for line in sandbox.lines), sandbox.lines
    finally:
        sandbox.close()


# -- 3. the request-head timeout -------------------------------------------------------------------------------

HEAD_TIMEOUT = 0.5


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    app = create_app(SandboxState(load_fixture()), header_timeout=HEAD_TIMEOUT)
    async for base in _serve(app):
        yield base


async def _connect(base: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", int(base.rsplit(":", 1)[1]))


async def _closed_within(reader: asyncio.StreamReader, timeout: float) -> bytes:
    return await asyncio.wait_for(reader.read(), timeout)


async def test_a_stalled_request_head_is_closed_after_the_header_timeout_while_others_are_served(base_url):
    reader, writer = await _connect(base_url)
    stalled_at = time.monotonic()
    writer.write(b"GET /__admin/health HTTP/1.1\r\nHost: sandbox\r\n")  # no blank line: the head never ends
    await writer.drain()
    silent_reader, silent_writer = await _connect(base_url)  # a connection that never sends a byte

    async with aiohttp.ClientSession(base_url) as http:
        asked = time.monotonic()
        async with http.get("/__admin/health") as response:
            assert response.status == 200
        assert time.monotonic() - asked < HEAD_TIMEOUT

    assert await _closed_within(reader, 5) == b""  # closed, without an answer
    assert time.monotonic() - stalled_at >= HEAD_TIMEOUT - 0.05
    assert await _closed_within(silent_reader, 5) == b""
    assert time.monotonic() - stalled_at < HEAD_TIMEOUT + 2
    for w in (writer, silent_writer):
        w.close()


async def test_a_trickled_head_is_timed_from_its_first_byte(base_url):
    reader, writer = await _connect(base_url)
    head = b"GET /__admin/health HTTP/1.1\r\nHost: sandbox\r\nX-Pad: " + b"a" * 500
    started = time.monotonic()
    closed_at = None
    for byte in head:  # one byte per 20 ms: each one arrives well within any per-read timeout
        try:
            writer.write(bytes([byte]))
            await writer.drain()
            if await asyncio.wait_for(reader.read(1), 0.02) == b"":
                closed_at = time.monotonic()
                break
        except TimeoutError:
            continue
        except ConnectionError:
            closed_at = time.monotonic()
            break
    assert closed_at is not None, "the trickled head was never cut"
    assert HEAD_TIMEOUT - 0.05 <= closed_at - started < HEAD_TIMEOUT + 1
    writer.close()


async def test_an_idle_keep_alive_connection_is_left_to_the_keep_alive_timer(base_url):
    reader, writer = await _connect(base_url)
    request = b"GET /__admin/health HTTP/1.1\r\nHost: sandbox\r\n\r\n"
    for _ in range(2):
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
        fields = dict(line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:] if line)
        length = int(fields[b"content-length"])
        await asyncio.wait_for(reader.readexactly(length), 5)
        # idle for more than twice the header timeout: still open
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 2 * HEAD_TIMEOUT)
    writer.close()


def test_the_header_timeout_defaults_to_ten_seconds_and_is_readable():
    assert DEFAULT_HEADER_TIMEOUT == 10.0
    state = SandboxState(load_fixture())
    assert header_timeout(create_app(state)) == 10.0
    assert header_timeout(create_app(state, header_timeout=2.5)) == 2.5
    with pytest.raises(ValueError):
        create_app(state, header_timeout=0)


# -- 4. log lines no client can forge --------------------------------------------------------------------------

FORGED = "a\nINFO forged line\r\x1b[2J\x00\t\x7f\x85\x9b\u2028\u2029end"


def _record(log: RequestLog, bet_id: str | None = FORGED, session_id: str | None = "s\u2028\x1b") -> None:
    log.record("pay-in", session_id, bet_id, 1, 200, None, 1.5)


def _request_log(formatter: logging.Formatter, stream: io.StringIO, name: str) -> RequestLog:
    """A request log of its own, writing to `stream` through the server's handler."""
    logger = logging.getLogger(f"betcore_sandbox.requests.{name}")
    handler = BatchingHandler(stream)
    handler.setFormatter(formatter)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return RequestLog(logger)


def test_text_request_log_escapes_control_characters_in_every_field():
    stream = io.StringIO()
    log = _request_log(TextFormatter(), stream, "text")
    _record(log)
    log.record("pay-in\n", "x\x1b", "b", None, None, "delay\n", 0.1)
    lines = stream.getvalue().splitlines()  # splits on \r, \x85, \u2028 ... too
    assert len(lines) == 2, lines
    escaped = "a\\nINFO forged line\\r\\x1b[2J\\x00\\t\\x7f\\x85\\x9b\\u2028\\u2029end"
    assert f"session=s\\u2028\\x1b bet={escaped} " in lines[0]
    assert " INFO pay-in\\n session=x\\x1b bet=b code=- http=- fault=delay\\n 0.1ms" in lines[1]
    _record(log, bet_id="round/7 ünïcødé bet", session_id=None)  # printable text is written as it is
    assert "session=- bet=round/7 ünïcødé bet " in stream.getvalue().splitlines()[-1]


def test_json_logs_keep_each_event_on_one_line_and_every_value_exact():
    stream = io.StringIO()
    log = _request_log(JsonFormatter(), stream, "json")
    _record(log)
    _record(log, session_id="lone \udcff surrogate")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("betcore_sandbox.test_runtime_limits.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("failure in %s", FORGED)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines
    events = [json.loads(line) for line in lines]
    assert events[0]["betId"] == FORGED and events[0]["sessionId"] == "s\u2028\x1b"
    assert events[1]["sessionId"] == "lone \\udcff surrogate"
    assert events[2]["message"] == f"failure in {FORGED}"
    assert all(line.isascii() and line.isprintable() for line in lines)


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_log_messages_and_tracebacks_cannot_start_a_line(restore_logging):
    stream = io.StringIO()
    configure("text", "info", stream)
    LOG.warning("unexpected failure in %s %s", "POST", "/x\n2026-01-01 00:00:00,000 INFO forged")
    try:
        raise ValueError("bad\n2026-01-01 00:00:00,000 INFO forged too\x1b[2J")
    except ValueError:
        LOG.exception("unexpected failure handling %s", "pay\u2028out")
    LOG.info("%s", "banner", extra={"details": ["first  one", "second\nforged"]})
    lines = stream.getvalue().splitlines()
    events = [line for line in lines if not line.startswith(" ")]
    assert len(events) == 3, lines
    assert events[0].endswith("WARNING unexpected failure in POST /x\\n2026-01-01 00:00:00,000 INFO forged")
    assert events[1].endswith("ERROR unexpected failure handling pay\\u2028out")
    assert "  ValueError: bad" in lines and "  2026-01-01 00:00:00,000 INFO forged too\\x1b[2J" in lines
    assert lines[-3:] == [events[2], "  first  one", "  second\\nforged"] and events[2].endswith("INFO banner")
    assert isinstance(logging.getLogger().handlers[0].formatter, TextFormatter)


def test_a_forged_bet_id_stays_in_its_request_line_in_a_real_process():
    sandbox = SandboxProcess("--port", "0")
    try:
        url = sandbox.wait_listening()
        body = json.dumps({"betId": "a\nINFO forged line\x1b[2J", "betAmount": "1.00"}).encode()
        thread, outcome = _in_background(url, "POST", PAY_IN, body)
        thread.join(10)
        assert outcome and outcome[0][1]["_responseCode"] == 1
        line = sandbox.lines_until(lambda text: " INFO pay-in " in text)
        assert "bet=a\\nINFO forged line\\x1b[2J code=1 http=200" in line
        assert sandbox.stop() == 0
        assert not any(line.startswith("INFO forged") for line in sandbox.lines)
    finally:
        sandbox.close()
