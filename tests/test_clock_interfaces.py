"""The virtual clock through the Python API, the pytest marker and factory, and the `clock` command against a
sandbox process."""

import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from betcore_sandbox import ClockInfo, Sandbox
from betcore_sandbox.cli import _duration_ms, _duration_text
from betcore_sandbox.errors import AdminInputError

from .process import SandboxProcess, run_cli

WALL_SLACK_MS = 10_000


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def call(sandbox: Sandbox, endpoint: str, session_id: str, body: dict | None = None, **sign) -> dict:
    raw = b"" if body is None else json.dumps(body).encode()
    path = "balance" if body is None else f"bets/{endpoint}"
    request = urllib.request.Request(
        f"{sandbox.url}/sessions/{session_id}/{path}",
        data=raw if body is not None else None,
        headers=sandbox.signed_headers("GET" if body is None else "POST", raw, **sign),
    )
    try:
        return json.loads(urllib.request.urlopen(request, timeout=5).read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


@pytest.fixture
def sandbox():
    with Sandbox() as running:
        yield running


def test_clock_is_a_typed_record(sandbox):
    shown = sandbox.clock()
    assert isinstance(shown, ClockInfo)
    assert (shown.mode, shown.offset_ms, shown["offsetMs"]) == ("real", 0, 0)
    assert abs(shown.now_ms - wall_ms()) < WALL_SLACK_MS
    assert shown.now.tzinfo is UTC and abs(shown.now.timestamp() * 1000 - shown.now_ms) < 1
    assert shown.to_dict().keys() == {"nowMs", "offsetMs", "mode"}


def test_advance_clock_expires_a_session_and_its_open_bet_still_settles(sandbox):
    session = sandbox.create_session("player-eur", ttl_seconds=60)
    assert call(sandbox, "pay-in", session.id, {"betId": "open-1", "betAmount": "4.00"})["_responseCode"] == 1
    shown = sandbox.advance_clock(timedelta(seconds=61))
    assert (shown.mode, shown.offset_ms) == ("virtual", 61_000)
    assert sandbox.session(session.id).status == "expired"
    assert call(sandbox, "balance", session.id)["_responseCode"] == 3
    assert call(sandbox, "pay-in", session.id, {"betId": "late", "betAmount": "1.00"})["_responseCode"] == 3
    assert call(sandbox, "pay-out", session.id, {"betId": "open-1", "winAmount": "9.00"})["_responseCode"] == 1
    sandbox.assert_balance(session.id, "1005.00")
    sandbox.assert_no_open_bets()


def test_advance_clock_takes_milliseconds_and_refuses_going_back(sandbox):
    assert sandbox.advance_clock(1_500).offset_ms == 1_500
    with pytest.raises(AdminInputError, match="advanceMs: must be an integer from 0 to "):
        sandbox.advance_clock(timedelta(seconds=-1))
    assert sandbox.clock().offset_ms == 1_500


def test_signed_headers_follow_the_sandbox_clock_and_a_wall_clock_stamp_is_refused(sandbox):
    sandbox.advance_clock(timedelta(minutes=30))
    stamped = int(sandbox.signed_headers("GET")["X-Timestamp"])
    assert abs(stamped - sandbox.clock().now_ms) < WALL_SLACK_MS
    assert call(sandbox, "balance", "session-eur")["_responseCode"] == 1
    refused = call(sandbox, "balance", "session-eur", timestamp_ms=wall_ms())
    assert refused["_responseCode"] == 8
    assert "behind the sandbox clock" in refused["message"] and "1800000 ms ahead of wall time" in refused["message"]
    [entry] = [e for e in sandbox.requests() if e.signature["verdict"] == "invalid"]
    assert entry.sandbox_time is not None and entry.sandbox_time > entry.time


def test_set_clock_takes_a_datetime_an_iso_string_or_ms(sandbox):
    target = datetime(2030, 1, 1, tzinfo=UTC)
    for moment in (target, "2030-01-01T01:00:00+01:00", 1_893_456_000_000):
        shown = sandbox.set_clock(moment)
        assert shown.mode == "virtual" and 0 <= (shown.now - target).total_seconds() < 10, moment
    with pytest.raises(ValueError, match="time zone"):
        sandbox.set_clock(datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="clock: is not an ISO 8601 timestamp"):
        sandbox.set_clock("next tuesday")
    with pytest.raises(ValueError, match="clock: needs a UTC offset"):
        sandbox.set_clock("2030-01-01T00:00:00")


def test_real_clock_and_the_latest_booking(sandbox):
    sandbox.set_clock(datetime(2030, 1, 1, tzinfo=UTC))
    assert call(sandbox, "pay-in", "session-eur", {"betId": "b", "betAmount": "1.00"})["_responseCode"] == 1
    assert sandbox.bet("b").created_at.startswith("2030-01-01T")
    with pytest.raises(AdminInputError, match="before the latest booked time 2030-01-01"):
        sandbox.real_clock()
    with pytest.raises(AdminInputError, match="before the latest booked time"):
        sandbox.set_clock(datetime(2029, 12, 31, tzinfo=UTC))
    sandbox.reset()  # the booking is gone with the rest of the state, and the clock is back at wall time
    assert sandbox.clock().mode == "real"
    sandbox.set_clock(datetime(2030, 1, 1, tzinfo=UTC))
    assert sandbox.real_clock().mode == "real"


def test_a_sandbox_started_at_a_time_returns_to_it_on_reset():
    with Sandbox(clock="2027-02-03T04:05:06Z") as sandbox:
        start = datetime(2027, 2, 3, 4, 5, 6, tzinfo=UTC)
        assert 0 <= (sandbox.clock().now - start).total_seconds() < 10
        sandbox.advance_clock(timedelta(days=3))
        sandbox.reset()
        shown = sandbox.clock()
        assert shown.mode == "virtual" and 0 <= (shown.now - start).total_seconds() < 10
    with pytest.raises(ValueError, match="needs a UTC offset"):
        Sandbox(clock="2027-02-03T04:05:06")


PLUGIN_SUITE = """
from datetime import UTC, datetime, timedelta

import pytest


@pytest.mark.betcore_sandbox(clock="2030-01-01T00:00:00Z")
def test_marker_with_an_iso_time(betcore_sandbox):
    shown = betcore_sandbox.clock()
    assert shown.mode == "virtual"
    assert 0 <= (shown.now - datetime(2030, 1, 1, tzinfo=UTC)).total_seconds() < 10


@pytest.mark.betcore_sandbox(clock=1_900_000_000_000, duplicateResponse="replay")
def test_marker_with_ms_and_settings(betcore_sandbox):
    assert 0 <= betcore_sandbox.clock().now_ms - 1_900_000_000_000 < 10_000
    assert betcore_sandbox.settings()["duplicateResponse"]["pay-in"] == "replay"


def test_factory_with_a_datetime(betcore_sandbox_factory):
    later = betcore_sandbox_factory(clock=datetime(2031, 5, 1, tzinfo=UTC))
    now = betcore_sandbox_factory()
    assert later.clock().now.year == 2031 and now.clock().mode == "real"


def test_unmarked_is_real(betcore_sandbox):
    assert betcore_sandbox.clock().mode == "real"
"""


def test_the_marker_and_the_factory_start_a_sandbox_at_a_time(pytester):
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "addopts = --strict-markers -p no:cacheprovider\nfilterwarnings = error\n"
    )
    pytester.makepyfile(test_marked_clock=PLUGIN_SUITE)
    pytester.runpytest().assert_outcomes(passed=4)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("250", 250),
        ("250ms", 250),
        ("45s", 45_000),
        ("30m", 1_800_000),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        ("1h30m", 5_400_000),
        ("1d2h3m4s5ms", 93_784_005),
    ],
)
def test_durations(text, ms):
    assert _duration_ms(text) == ms
    assert _duration_ms(_duration_text(ms)) == ms


@pytest.mark.parametrize("text", ["", "3x", "-5m", "1.5h", "m", "30 m", "1h 30m", "30m1"])
def test_bad_durations(text):
    with pytest.raises(Exception, match="is not a duration"):
        _duration_ms(text)


@pytest.fixture(scope="module")
def process():
    sandbox = SandboxProcess("--port", "0", "--admin-token", "clock-token")
    try:
        yield sandbox.wait_listening()
    finally:
        sandbox.stop()


def clock_cli(url: str, *args: str, token: str | None = "clock-token"):
    return run_cli("clock", "--url", url, *args, env={"BETCORE_SANDBOX_ADMIN_TOKEN": token or ""})


def test_the_clock_command_shows_advances_sets_and_resets_a_running_sandbox(process):
    clock_cli(process, "--real")
    shown = clock_cli(process)
    assert shown.returncode == 0, shown.stderr
    assert "mode          real (wall time)" in shown.stdout.decode()

    advanced = clock_cli(process, "--advance", "30m")
    assert advanced.returncode == 0, advanced.stderr
    assert "virtual, 30m ahead of wall time (offsetMs 1800000)" in advanced.stdout.decode()
    raw = clock_cli(process, "--json", "--advance", "1h30m")
    assert json.loads(raw.stdout)["offsetMs"] == 7_200_000

    at = clock_cli(process, "--set", "2035-07-01T00:00:00Z")
    assert at.returncode == 0 and "sandbox time  2035-07-01T00:00:0" in at.stdout.decode()
    in_ms = clock_cli(process, "--sandbox", process, "--json", "--set", "2082758400000")
    assert 2_082_758_400_000 <= json.loads(in_ms.stdout)["nowMs"] < 2_082_758_400_000 + WALL_SLACK_MS

    back = clock_cli(process, "--real")
    assert back.returncode == 0 and "real (wall time)" in back.stdout.decode()


def test_the_clock_command_in_a_pipeline_that_reads_one_line(process):
    command = f"{shlex.quote(sys.executable)} -m betcore_sandbox clock --url {process} --advance 1s | head -n 1"
    env = {**os.environ, "BETCORE_SANDBOX_ADMIN_TOKEN": "clock-token", "PYTHONUNBUFFERED": "1"}
    for _ in range(5):
        result = subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env, capture_output=True, timeout=20)
        assert result.returncode == 0 and result.stdout.startswith(b"sandbox time  "), result.stderr


def test_the_clock_command_fails_cleanly(process):
    refused = clock_cli(process, token=None)
    assert refused.returncode == 2 and b"admin token" in refused.stderr  # a refused input, as for every command
    with_flag = run_cli("clock", "--url", process, "--admin-token", "clock-token")
    assert with_flag.returncode == 0
    bad = clock_cli(process, "--advance", "soon")
    assert bad.returncode == 2 and b"is not a duration" in bad.stderr
    naive = clock_cli(process, "--set", "2035-07-01T00:00:00")
    assert naive.returncode == 2 and b"needs a UTC offset, e.g. '2035-07-01T00:00:00Z'" in naive.stderr
    too_far = clock_cli(process, "--set", "9999-01-01T00:00:00Z")
    assert too_far.returncode == 2 and b"--set: the sandbox clock must stay between 1970-01-01 and" in too_far.stderr
    both = clock_cli(process, "--advance", "1s", "--real")
    assert both.returncode == 2
    nobody = run_cli("clock", "--url", "http://127.0.0.1:9", "--timeout", "2")
    assert nobody.returncode == 1 and b"cannot reach the sandbox" in nobody.stderr
