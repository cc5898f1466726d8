"""Durable mode (--state) with the rest of the sandbox: Launch's sessions and flags, the clock, the report."""

from __future__ import annotations

import json
import signal
import sqlite3
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from betcore_sandbox import Sandbox
from betcore_sandbox.audit import audit_steps, run
from betcore_sandbox.control import latest_booking
from betcore_sandbox.errors import AdminInputError
from betcore_sandbox.fixtures import default_fixture_bytes, parse_fixture
from betcore_sandbox.state import SandboxState
from betcore_sandbox.store import FORMAT, StateFileError, StorageFailed, Store

from .partners import answering, raw, reference_provider, serving
from .providers import SEEDED
from .test_durable import admin, call, start
from .test_report_api import faulty_run

ref = reference_provider()


def stored(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    """What the file holds, read by a connection of its own (what a restart would find)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as reader:
        return reader.execute(sql, args).fetchall()


async def test_launched_sessions_and_their_flags_are_written_before_the_answer_and_kept(tmp_path):
    db = tmp_path / "state.db"
    with Sandbox(state=db) as sandbox:
        async with serving(answering(raw(b"<html>oops</html>"))) as url:
            failed = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR", balance="5")
        assert failed.status == "failed"
        session = failed.session.id
        assert stored(db, "SELECT demo, launch_failed FROM sessions WHERE id = ?", session) == [(0, 1)]
        assert stored(db, "SELECT count(*) FROM players WHERE id = ?", failed.session.player_id) == [(1,)]
        async with serving(ref.create_app(sandbox.url)) as url:
            demo = await sandbox.launch_async("aerobet", provider_url=url, currency="USD", game_mode="demo")
        assert demo.status == "launched"
        assert stored(db, "SELECT demo, launch_failed FROM sessions WHERE id = ?", demo.session.id) == [(1, 0)]
        before = sandbox.export_state()
    with Sandbox(state=db) as again:
        assert again.session(session).launch_failed and not again.session(session).demo
        assert again.session(demo.session.id).demo and not again.session(demo.session.id).launch_failed
        assert again.export_state() == before


def _format_1(db: Path) -> None:
    """The file as a sandbox before session flags wrote it."""
    with sqlite3.connect(db) as old:
        old.execute("ALTER TABLE sessions DROP COLUMN demo")
        old.execute("ALTER TABLE sessions DROP COLUMN launch_failed")
        old.execute("UPDATE meta SET value = ? WHERE key = 'format'", (json.dumps("betcore-sandbox state 1"),))


def test_a_state_file_from_before_session_flags_opens_and_one_from_a_newer_sandbox_is_refused(tmp_path):
    db = tmp_path / "state.db"
    with Sandbox(state=db) as sandbox:
        sandbox.update_player("player-eur", balance="7.00")
        sessions = [s["id"] for s in sandbox.export_state()["sessions"]]
    _format_1(db)
    with Sandbox(state=db) as again:
        assert str(again.player("player-eur").balance) == "7.00"
        assert [s["id"] for s in again.export_state()["sessions"]] == sessions
        assert not any(again.session(s).demo or again.session(s).launch_failed for s in sessions)
        again.update_session(sessions[0], status="closed")  # written in the new columns' file
    assert stored(db, "SELECT value FROM meta WHERE key = 'format'") == [(json.dumps(FORMAT),)]
    with sqlite3.connect(db) as newer:
        newer.execute("UPDATE meta SET value = ? WHERE key = 'format'", (json.dumps("betcore-sandbox state 99"),))
    with pytest.raises(StateFileError, match="written by a newer betcore-sandbox"):
        Sandbox(state=db)


async def book(sandbox: Sandbox, bet_id: str) -> None:
    async with aiohttp.ClientSession() as http:
        body = json.dumps({"betId": bet_id, "betAmount": "1.00", "gameRoundId": bet_id}).encode()
        headers = {**sandbox.signed_headers("POST", body), "Content-Type": "application/json"}
        async with http.post(f"{sandbox.url}/sessions/session-eur/bets/pay-in", data=body, headers=headers) as r:
            assert (await r.json())["_responseCode"] == 1


def booked_at(sandbox: Sandbox) -> float:
    """The newest transaction's time, epoch ms."""
    return datetime.fromisoformat(sandbox.transactions()[-1].time).timestamp() * 1000


async def test_the_clock_is_not_set_back_before_a_stored_booking_which_is_read_without_a_scan(tmp_path):
    db = tmp_path / "state.db"
    with Sandbox(state=db) as sandbox:
        for n in range(3):
            await book(sandbox, f"b{n}")
        booked_ms = booked_at(sandbox)
        with pytest.raises(AdminInputError, match="before the latest booked time"):
            sandbox.set_clock(int(booked_ms) - 60_000)
        store, wallet = sandbox._state.store, sandbox._state.wallet
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        assert latest_booking(wallet) == pytest.approx(booked_ms / 1000, abs=0.001)
        store._db.set_trace_callback(None)
        plans = [" ".join(row[3] for row in store._db.execute(f"EXPLAIN QUERY PLAN {s}")) for s in statements]
        assert plans and not any("SCAN" in plan for plan in plans), plans  # a key look-up, whatever the size
    with (
        Sandbox(state=db) as again,  # resumed: the latest booking is read from the file
        pytest.raises(AdminInputError, match="before the latest booked time"),
    ):
        again.set_clock(int(booked_ms) - 60_000)


async def test_a_virtual_clock_carries_on_over_a_restart_and_reset_returns_to_wall_time(tmp_path):
    db = tmp_path / "state.db"
    with Sandbox(state=db) as sandbox:
        sandbox.create_session("player-eur", id="short", ttl_seconds=60)
        advanced = sandbox.advance_clock(timedelta(days=30))
        await book(sandbox, "in-the-future")
    with Sandbox(state=db) as again:
        clock = again.clock()
        assert clock.mode == "virtual" and clock.offset_ms == advanced.offset_ms
        assert clock.now_ms >= advanced.now_ms
        assert again.session("short").status == "expired"  # still 30 days on: expired, as before the restart
        again.reset()
        assert again.clock().mode == "real"
    with Sandbox(state=db) as reset:
        assert reset.clock().mode == "real" and reset.clock().offset_ms == 0


async def test_a_file_without_its_clock_starts_no_earlier_than_its_latest_booking(tmp_path):
    db = tmp_path / "state.db"
    with Sandbox(state=db) as sandbox:
        sandbox.advance_clock(timedelta(hours=2))
        await book(sandbox, "ahead")
        booked_ms = booked_at(sandbox)
    with sqlite3.connect(db) as written_elsewhere:  # booked where wall time ran two hours ahead
        written_elsewhere.execute("DELETE FROM meta WHERE key = 'clock'")
    with Sandbox(state=db) as again:
        clock = again.clock()
        assert clock.mode == "virtual" and clock.now_ms >= booked_ms
        assert clock.offset_ms > timedelta(hours=1).total_seconds() * 1000


async def test_the_report_and_audit_read_stored_bets(tmp_path):
    db = tmp_path / "state.db"
    with Sandbox() as memory:
        await faulty_run(memory)
        await book(memory, "left-open")
        expected = memory.report(grace_seconds=0)
    with Sandbox(state=db) as sandbox:
        await faulty_run(sandbox)
        await book(sandbox, "left-open")
        report = sandbox.report(grace_seconds=0)
        assert [(c.id, c.status) for c in report.checks] == [(c.id, c.status) for c in expected.checks]
        assert report.check("pay-out-acknowledged").evidence[0].bet_id == SEEDED
        assert [f.bet_id for f in report.check("no-open-bets").evidence] == ["left-open"]
        assert report.scenarios[0]["name"] == "pay-out-lost-answer"
        audit = sandbox.audit()
        assert audit.ok and [b.bet_id for b in audit.open_bets] == ["left-open"]
        bets = sandbox.bets()
        assert len(bets) == 4 and {b.status for b in bets} == {"settled", "open"}
    with Sandbox(state=db) as again:  # journal and scenarios were in memory; the bets are in the file
        assert again.audit().ok and again.bets() == bets
        assert [f.bet_id for f in again.report(grace_seconds=0).check("no-open-bets").evidence] == ["left-open"]


async def test_an_audit_reads_the_bets_of_its_moment_while_bookings_go_on(tmp_path):
    fixture = parse_fixture(default_fixture_bytes())
    state = SandboxState(fixture, store=Store(tmp_path / "state.db"))
    try:
        wallet, cp = state.wallet, next(iter(state.wallet.counterparties))
        wallet.pay_in(cp, "session-eur", "b1", Decimal("1.00"))
        read_later = state.store.pinned_bets()  # the moment of an audit's copy
        wallet.pay_out(cp, "session-eur", "b1", Decimal("2.00"))
        wallet.pay_in(cp, "session-eur", "b2", Decimal("1.00"))
        state.store.flush()
        assert [(b.bet_id, b.status) for b in read_later()] == [("b1", "open")]
        copy = await state.consistent_copy()
        assert [(b.bet_id, b.status) for b in copy.bets] == [("b1", "settled"), ("b2", "open")]
        assert run(audit_steps(copy))["ok"]
        assert [b.bet_id for b in wallet.open_bets()] == ["b2"]
    finally:
        state.close()


def test_an_acknowledged_clock_change_survives_a_kill(tmp_path):
    db = tmp_path / "state.db"
    process, url = start("--state", str(db))
    try:
        moved = admin(url, "/clock", "POST", {"advanceMs": 86_400_000})
        process.stop(signal.SIGKILL)
        process, url = start("--state", str(db))
        clock = admin(url, "/clock")
        assert clock["mode"] == "virtual" and clock["offsetMs"] == moved["offsetMs"] == 86_400_000
        assert clock["nowMs"] >= moved["nowMs"]
    finally:
        process.close()


class HeldFile:
    """Another writer holding the state file: no write of the sandbox gets through while it lasts."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.other = sqlite3.connect(self.db, isolation_level=None)
        self.other.execute("BEGIN IMMEDIATE")

    def __exit__(self, *exc_info: object) -> None:
        self.other.execute("ROLLBACK")
        self.other.close()


@pytest.mark.timeout(30)
def test_a_clock_change_that_cannot_be_written_is_refused_and_leaves_the_clock_where_it_was(tmp_path):
    db = tmp_path / "state.db"
    with Sandbox(state=db) as sandbox:
        before = call(f"{sandbox.admin_url}/clock")[1]
        with HeldFile(db):
            status, answer = call(f"{sandbox.admin_url}/clock", "POST", {"advanceMs": 86_400_000})
        assert status == 500 and "could not be saved" in answer["error"], answer
        clock = call(f"{sandbox.admin_url}/clock")[1]
        assert (clock["mode"], clock["offsetMs"]) == (before["mode"], before["offsetMs"])
        sandbox.advance_clock(timedelta(hours=1))  # written once the file can be written again
    with Sandbox(state=db) as again:
        assert (again.clock().mode, again.clock().offset_ms) == ("virtual", 3_600_000)


@pytest.mark.timeout(30)
def test_a_python_api_change_that_cannot_be_written_raises_and_changes_nothing(tmp_path):
    db = tmp_path / "state.db"
    with Sandbox(state=db) as sandbox:
        before = sandbox.player("player-eur").balance
        with HeldFile(db), pytest.raises(StorageFailed, match="could not be saved"):
            sandbox.update_player("player-eur", balance="1.00")
        assert sandbox.player("player-eur").balance == before
        assert stored(db, "SELECT count(*) FROM ledger WHERE type = 'adjustment'") == [(0,)]


@pytest.mark.timeout(30)
async def test_a_launch_whose_session_cannot_be_written_fails_before_the_provider_hears_of_it(tmp_path):
    db = tmp_path / "state.db"
    heard: list[str] = []

    async def provider(request: aiohttp.web.Request) -> aiohttp.web.Response:
        heard.append(request.path)
        return aiohttp.web.json_response({"frameUri": "https://games.example/play"})

    app = aiohttp.web.Application()
    app.router.add_route("*", "/{tail:.*}", provider)
    with Sandbox(state=db) as sandbox:
        sessions = len(sandbox.export_state()["sessions"])
        async with serving(app) as url:
            with HeldFile(db), pytest.raises(StorageFailed, match="could not be saved"):
                await sandbox.launch_async("aerobet", provider_url=url, currency="EUR", balance="5")
        assert heard == []
        assert len(sandbox.export_state()["sessions"]) == sessions
