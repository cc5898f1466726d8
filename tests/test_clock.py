"""The virtual clock through the admin API: expiry, the timestamp window, seen request ids, fault TTLs, the
journal, setting time back, reset and bad input."""

import json
import re
import time
from datetime import datetime
from decimal import Decimal as D

import pytest

from betcore_sandbox.clock import Clock, ClockError, iso_ms
from betcore_sandbox.limits import MAX_CLOCK_MS
from betcore_sandbox.signing import signed_headers
from betcore_sandbox.state import SandboxState
from betcore_sandbox.web.app import create_app

from .conftest import CP, SECRET, Admin, Provider

WALL_SLACK_MS = 10_000  # a generous bound for "about now" on a busy machine


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def epoch_ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.fixture
def clocked(http, state) -> Provider:
    """A provider whose X-Timestamp follows the sandbox clock, as a client synchronised with it would."""
    return Provider(http, clock=state.clock.now_ms)


async def advance(admin: Admin, ms: int) -> dict:
    status, shown = await admin.call("POST", "/clock", {"advanceMs": ms})
    assert status == 200, shown
    return shown


async def test_the_clock_starts_real(admin):
    shown = await admin.get("/clock")
    assert (shown["mode"], shown["offsetMs"]) == ("real", 0)
    assert abs(shown["nowMs"] - wall_ms()) < WALL_SLACK_MS


async def test_advance_moves_sandbox_time_forward_and_keeps_it_running(admin):
    before = wall_ms()
    shown = await advance(admin, 3_600_000)
    assert (shown["mode"], shown["offsetMs"]) == ("virtual", 3_600_000)
    assert before + 3_600_000 <= shown["nowMs"] < wall_ms() + 3_600_000 + 1
    again = await advance(admin, 500)
    assert again["offsetMs"] == 3_600_500  # advances add up
    assert (await admin.get("/clock"))["nowMs"] >= again["nowMs"]


async def test_a_session_expires_when_the_clock_passes_its_ttl_and_its_bets_still_settle(admin, provider):
    status, session = await admin.call("POST", "/sessions", {"id": "short", "playerId": "player-eur", "ttlSeconds": 60})
    assert status == 201 and session["status"] == "active"
    assert (await provider.pay_in("short", "before-1", "10.00"))["_responseCode"] == 1
    assert (await provider.pay_in("short", "before-2", "5.00"))["_responseCode"] == 1
    await advance(admin, 59_000)
    assert (await admin.get("/sessions/short"))["status"] == "active"  # not yet: 59 of 60 seconds
    await advance(admin, 2_000)
    assert (await admin.get("/sessions/short"))["status"] == "expired"
    status, body = await provider.send("balance", "short")
    assert (status, body["_responseCode"], body["balance"]) == (200, 3, D("985.00"))
    assert (await provider.pay_in("short", "after", "1.00"))["_responseCode"] == 3
    assert (await provider.pay_in_out("short", "after-2", "1.00", "2.00"))["_responseCode"] == 3
    # Settlement is never blocked by expiry: the bets opened before it pay out and refund.
    paid = await provider.pay_out("short", "before-1", "30.00")
    assert (paid["_responseCode"], paid["balance"]) == (1, D("1015.00"))
    refunded = await provider.refund("short", "before-2")
    assert (refunded["_responseCode"], refunded["balance"]) == (1, D("1020.00"))
    assert (await admin.get("/audit"))["ok"]


async def test_a_request_stamped_by_a_wall_clock_is_refused_once_the_sandbox_clock_is_ahead(admin, provider, clocked):
    await advance(admin, 600_000)  # ten minutes: twice the default tolerance
    status, body = await provider.send("balance", "session-eur")  # stamped with this machine's wall clock
    assert (status, body["_responseCode"]) == (401, 8)
    message = body["message"]
    found = re.search(r"is (\d+) ms behind the sandbox clock \((\d+)\); the tolerance is 300000 ms", message)
    assert found, message
    skew, sandbox_now = int(found[1]), int(found[2])
    assert 600_000 - WALL_SLACK_MS < skew <= 600_000 + WALL_SLACK_MS
    assert iso_ms(sandbox_now) in message and "virtual" in message and "600000 ms ahead of wall time" in message
    assert abs(sandbox_now - (wall_ms() + 600_000)) < WALL_SLACK_MS
    # A client stamping with the sandbox's own time is inside the window.
    assert await clocked.balance() == D("1000.00")
    [refused] = [e for e in await admin.get("/requests") if e["signature"]["verdict"] == "invalid"]
    assert refused["signature"]["error"] == message


async def test_a_request_stamped_ahead_of_a_clock_set_back_is_refused_too(admin, provider):
    status, shown = await admin.call("POST", "/clock", {"setMs": wall_ms() - 3_600_000})
    assert status == 200 and shown["offsetMs"] < 0
    status, body = await provider.send("balance", "session-eur")
    assert (status, body["_responseCode"]) == (401, 8)
    assert "ahead of the sandbox clock" in body["message"] and "behind wall time" in body["message"]


async def test_seen_request_ids_are_forgotten_when_the_clock_passes_their_window(http, admin, state):
    async def balance(request_id: str) -> dict:
        headers = signed_headers(SECRET, CP, "GET", b"", timestamp_ms=state.clock.now_ms(), request_id=request_id)
        response = await http.get("/v1/sessions/session-eur/balance", headers=headers)
        return json.loads(await response.read())

    assert (await balance("id-1"))["_responseCode"] == 1
    replayed = await balance("id-1")  # a fresh timestamp and signature, the same id: remembered
    assert replayed["_responseCode"] == 8 and "already used" in replayed["message"]
    # Ids are kept until the window (timestampToleranceMs, 300 s) has passed from arrival and from their timestamp.
    await advance(admin, 299_000)
    assert (await balance("id-1"))["_responseCode"] == 8
    await advance(admin, 3_000)
    assert (await balance("id-1"))["_responseCode"] == 1


async def test_a_fault_ttl_runs_on_sandbox_time(admin, provider):
    rule = await admin.fault(kind="http_error", endpoint="balance", times=None, ttlSeconds=30)
    status, body = await provider.send("balance", "session-eur")
    assert (status, body["_responseCode"]) == (500, 99)
    await advance(admin, 29_000)
    assert [f["id"] for f in await admin.get("/faults")] == [rule["id"]]
    await advance(admin, 2_000)
    assert [f["state"] for f in await admin.get("/faults")] == ["expired"]
    assert (await admin.call("GET", f"/faults/{rule['id']}"))[1]["state"] == "expired"
    assert await provider.balance() == D("1000.00")


async def test_the_journal_records_sandbox_time_only_when_the_clock_is_virtual(admin, provider, clocked):
    assert (await provider.pay_in("session-eur", "wall", "1.00"))["_responseCode"] == 1
    await advance(admin, 86_400_000)
    assert (await clocked.pay_in("session-eur", "virtual", "1.00"))["_responseCode"] == 1
    first, second = await admin.get("/requests")
    assert "sandboxTime" not in first
    assert epoch_ms(second["sandboxTime"]) - epoch_ms(second["time"]) == pytest.approx(86_400_000, abs=1_000)
    assert abs(epoch_ms(second["time"]) - wall_ms()) < WALL_SLACK_MS  # `time` stays wall time
    # Bookings carry sandbox time: the ledger entry, and the bet's age in the audit.
    booked = {t["betId"]: epoch_ms(t["time"]) for t in await admin.get("/transactions")}
    assert booked["virtual"] - booked["wall"] == pytest.approx(86_400_000, abs=WALL_SLACK_MS)
    ages = {b["betId"]: b["ageSeconds"] for b in (await admin.get("/audit"))["openBets"]}
    assert ages["wall"] >= 86_400 and ages["virtual"] < 60


async def test_set_moves_time_to_a_moment_and_runs_on_from_there(admin):
    target = epoch_ms("2030-06-01T12:00:00+00:00")
    status, shown = await admin.call("POST", "/clock", {"setMs": target})
    assert status == 200 and shown["mode"] == "virtual"
    assert target <= shown["nowMs"] < target + WALL_SLACK_MS
    deadline = time.monotonic() + 5
    while (now := (await admin.get("/clock"))["nowMs"]) == shown["nowMs"] and time.monotonic() < deadline:
        pass  # the clock keeps running: poll until it has moved
    assert now > shown["nowMs"]


async def test_time_may_not_be_set_back_before_the_latest_booking(admin, provider, clocked):
    status, _ = await admin.call("POST", "/clock", {"setMs": epoch_ms("2030-01-01T00:00:00+00:00")})
    assert status == 200
    assert (await clocked.pay_in("session-eur", "in-2030", "1.00"))["_responseCode"] == 1
    booked = epoch_ms((await admin.get("/transactions"))[0]["time"])
    # a second past the booking, so setting it back to the booking is a visible step back at any machine speed
    assert (await admin.call("POST", "/clock", {"advanceMs": 1000}))[0] == 200
    before = await admin.get("/clock")
    for change in ({"setMs": booked - 1}, {"setMs": 0}, {"mode": "real"}):
        status, error = await admin.call("POST", "/clock", change)
        assert status == 400, change
        assert "before the latest booked time 2030-01-01T" in error["error"], error
        assert "POST /__admin/reset" in error["error"]
    after = await admin.get("/clock")
    assert (after["mode"], after["offsetMs"]) == ("virtual", before["offsetMs"])  # nothing changed
    status, shown = await admin.call("POST", "/clock", {"setMs": booked})  # back, but not past the booking
    assert status == 200 and booked <= shown["nowMs"] < before["nowMs"]


async def test_a_tombstone_counts_as_a_booking(admin, clocked):
    await advance(admin, 3_600_000)
    assert (await clocked.refund("session-eur", "never-placed"))["_responseCode"] == 5  # leaves a tombstone
    status, error = await admin.call("POST", "/clock", {"mode": "real"})
    assert status == 400 and "latest booked time" in error["error"]


async def test_reset_returns_the_clock_to_wall_time(admin, clocked):
    await advance(admin, 7_200_000)
    assert (await clocked.pay_in("session-eur", "b", "1.00"))["_responseCode"] == 1
    status, _ = await admin.call("POST", "/reset")
    assert status == 200
    shown = await admin.get("/clock")
    assert (shown["mode"], shown["offsetMs"]) == ("real", 0)
    assert await admin.get("/transactions") == []


async def test_reset_returns_to_a_start_time_given_at_start_up(aiohttp_client, default_fixture):
    start = epoch_ms("2031-03-01T00:00:00+00:00")
    state = SandboxState(default_fixture, clock_ms=start)
    admin = Admin(await aiohttp_client(create_app(state)))
    shown = await admin.get("/clock")
    assert shown["mode"] == "virtual" and start <= shown["nowMs"] < start + WALL_SLACK_MS
    await advance(admin, 86_400_000)
    await admin.call("POST", "/reset")
    shown = await admin.get("/clock")
    assert shown["mode"] == "virtual" and start <= shown["nowMs"] < start + WALL_SLACK_MS


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "body: give exactly one of advanceMs, setMs or mode"),
        ({"advanceMs": 1, "setMs": 2}, "body: give exactly one of advanceMs, setMs or mode, not advanceMs and setMs"),
        (
            {"advanceMs": 1, "mode": "real"},
            "body: give exactly one of advanceMs, setMs or mode, not advanceMs and mode",
        ),
        ({"advanceMs": -1}, "advanceMs: must be an integer from 0 to "),
        ({"advanceMs": 1.5}, "advanceMs: must be an integer or null, not a number"),
        ({"advanceMs": "1000"}, "advanceMs: must be an integer or null, not a string"),
        ({"advanceMs": True}, "advanceMs: must be an integer or null, not true or false"),
        ({"advanceMs": MAX_CLOCK_MS}, "advanceMs: the sandbox clock must stay between 1970-01-01 and 9000-01-01"),
        ({"advanceMs": 2**64}, f"advanceMs: must be an integer from 0 to {MAX_CLOCK_MS}"),
        ({"setMs": -5}, "setMs: must be an integer from 0 to "),
        ({"setMs": MAX_CLOCK_MS + 1}, f"setMs: must be an integer from 0 to {MAX_CLOCK_MS}"),
        ({"setMs": "2030-01-01T00:00:00Z"}, "setMs: must be an integer or null, not a string"),
        ({"mode": "virtual"}, "mode: must be one of real"),
        ({"mode": "REAL"}, "mode: must be one of real"),
        ({"advance_ms": 1}, "advance_ms: unknown field, did you mean advanceMs? (known: advanceMs, setMs, mode)"),
        (None, "body: must be an object, not null"),
        ([{"advanceMs": 1}], "body: must be an object, not an array"),
        (b'{"advanceMs": 1', "body "),
    ],
)
async def test_bad_bodies_get_a_clean_400_and_change_nothing(admin, body, error):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, answer = await admin.call("POST", "/clock", raw=raw)
    assert status == 400 and answer["error"].startswith(error), answer
    shown = await admin.get("/clock")
    assert (shown["mode"], shown["offsetMs"]) == ("real", 0)


async def test_the_clock_needs_the_admin_token(aiohttp_client, state):
    http = await aiohttp_client(create_app(state, admin_token="t0ken"))
    for method, body in (("GET", None), ("POST", {"advanceMs": 1000})):
        status, _ = await Admin(http).call(method, "/clock", body)
        assert status == 401
    status, shown = await Admin(http, "t0ken").call("POST", "/clock", {"advanceMs": 1000})
    assert status == 200 and shown["offsetMs"] == 1000


def test_the_clock_domain_refuses_what_the_admin_api_refuses():
    clock = Clock()
    with pytest.raises(ClockError, match="advanceMs: must be at least 0"):
        clock.advance(-1)
    with pytest.raises(ClockError, match="setMs: the sandbox clock must stay"):
        clock.set(-1)
    with pytest.raises(ClockError, match="setMs: the sandbox clock must stay"):
        Clock(MAX_CLOCK_MS + 1)
    clock.set(1_000_000, not_before=1_000.0)  # exactly the latest booking is fine
    with pytest.raises(ClockError, match="latest booked time"):
        clock.set(999_999, not_before=1_000.0)
    assert clock.virtual and abs(clock.now_ms() - 1_000_000) < WALL_SLACK_MS
    assert abs(clock.now() * 1000 - clock.now_ms()) < 5
    clock.real()
    assert not clock.virtual and clock.offset_ms == 0
