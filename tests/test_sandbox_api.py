"""`Sandbox` as a Python API, without the pytest plugin."""

import json
import threading
import urllib.error
import urllib.request
from decimal import Decimal as D

import pytest

from betcore_sandbox import Sandbox
from betcore_sandbox.errors import AdminInputError, NotFound


def post(sandbox, endpoint, session, body):
    raw = json.dumps(body).encode()
    request = urllib.request.Request(
        f"{sandbox.url}/sessions/{session}/bets/{endpoint}", data=raw, headers=sandbox.signed_headers("POST", raw)
    )
    try:
        return json.loads(urllib.request.urlopen(request, timeout=5).read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def test_context_manager_starts_and_stops():
    with Sandbox() as sandbox:
        assert sandbox.url.startswith("http://127.0.0.1:") and sandbox.url.endswith("/v1")
        assert json.loads(urllib.request.urlopen(f"{sandbox.admin_url}/health").read())["status"] == "healthy"
        port = sandbox.port
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health", timeout=1)


def test_players_sessions_and_money_as_decimal():
    with Sandbox() as sandbox:
        player = sandbox.create_player("alice", currency="BTC", balance="0.00000500")
        assert player.balance == D("0.00000500") and isinstance(player.balance, D)
        session = sandbox.create_session("alice", min_bet="0.00000100")
        assert session.id and session.player_id == "alice" and session.min_bet == D("0.00000100")
        inline = sandbox.create_session(currency="USD", balance=D("12.34"), ttl_seconds=60)
        assert sandbox.balance(inline.id) == D("12.34")
        assert post(sandbox, "pay-in", session.id, {"betId": "s", "betAmount": "0.000002"})["_responseCode"] == 1
        assert sandbox.balance(session.id) == D("0.00000300")
        bet = sandbox.bet("s")
        assert (bet["status"], bet["stake"]) == ("open", D("0.00000200"))
        assert [t["amount"] for t in sandbox.transactions(bet_id="s")] == [D("-0.00000200")]
        assert [b["betId"] for b in sandbox.bets(status="open")] == ["s"]
        assert sandbox.requests(endpoint="pay-in")[0]["betId"] == "s"
        with pytest.raises(TypeError, match="not float"):
            sandbox.create_player(balance=0.1)


def test_faults_assertions_and_reset():
    with Sandbox() as sandbox:
        sandbox.add_fault(endpoint="pay-out", kind="http_error", phase="after")
        post(sandbox, "pay-in", "session-eur", {"betId": "w", "betAmount": "10.00"})
        assert post(sandbox, "pay-out", "session-eur", {"betId": "w", "winAmount": "5.00"})["_responseCode"] == 99
        sandbox.assert_balance("session-eur", "995.00")
        sandbox.assert_bet("w", status="settled")
        sandbox.assert_no_open_bets()
        sandbox.assert_audit_ok()
        assert sandbox.faults()[0]["fired"] == 1
        sandbox.clear_faults()
        post(sandbox, "pay-in", "session-eur", {"betId": "left-open", "betAmount": "1.00"})
        with pytest.raises(AssertionError, match="left-open"):
            sandbox.assert_no_open_bets()
        with pytest.raises(AssertionError, match="expected 1"):
            sandbox.assert_balance("session-eur", 1)
        sandbox.reset()
        assert sandbox.bets() == [] and sandbox.balance("session-eur") == D("1000.00")


def test_errors_are_python_exceptions():
    with Sandbox() as sandbox:
        with pytest.raises(NotFound):
            sandbox.session("nope")
        with pytest.raises(AdminInputError, match="currency: unknown currency"):
            sandbox.create_player(currency="XXX")
        with pytest.raises(AdminInputError, match="kind"):
            sandbox.add_fault(kind="nope")


def test_settings_and_state_round_trip():
    with Sandbox(duplicateResponse="replay") as sandbox:
        assert set(sandbox.settings()["duplicateResponse"].values()) == {"replay"}
        assert sandbox.settings(explain_signatures="off")["explainSignatures"] == "off"
        post(sandbox, "pay-in", "session-eur", {"betId": "x", "betAmount": "1.00"})
        saved = sandbox.export_state()
        sandbox.reset()
        sandbox.import_state(saved)
        assert sandbox.export_state() == saved


def test_calls_from_many_threads_are_safe():
    with Sandbox() as sandbox:
        errors = []

        def work(n):
            try:
                for i in range(20):
                    sandbox.create_player(f"t{n}-{i}", balance=i)
                    post(sandbox, "pay-in", "session-eur", {"betId": f"t{n}-{i}", "betAmount": "1.00"})
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sandbox.balance("session-eur") == D("840.00")
        sandbox.assert_audit_ok()


def test_custom_fixture_dict_and_counterparty():
    fixture = {
        "counterparties": [{"id": "studio", "secret": "k"}],
        "players": [{"id": "p", "currency": "EUR", "balance": "3"}],
        "sessions": [{"id": "s", "playerId": "p"}],
    }
    with Sandbox(fixture) as sandbox:
        assert (sandbox.counterparty_id, sandbox.secret) == ("studio", "k")
        assert post(sandbox, "pay-in", "s", {"betId": "b", "betAmount": "4"})["_responseCode"] == 4


def test_two_sandboxes_are_independent():
    with Sandbox() as one, Sandbox() as two:
        one.update_player("player-eur", balance="1.00")
        assert two.balance("session-eur") == D("1000.00")


def test_session_ttl_may_be_fractional_seconds():
    import time

    with Sandbox() as sandbox:
        session = sandbox.create_session("player-eur", ttl_seconds=0.2)
        assert session.status == "active"
        time.sleep(0.3)
        assert sandbox.session(session.id).status == "expired"


def test_records_read_as_mappings_like_the_admin_json():
    from betcore_sandbox import Sandbox

    with Sandbox() as sandbox:
        report = sandbox.audit()
        assert "ok" in report and 1 not in report and report["violations"] == [] and report.ok
        assert report == {"ok": True, "violations": [], "openBets": []} == report.to_dict()
        assert sandbox.settings().get("zeroStake") == "accept" and sandbox.settings().get("nope") is None


def test_request_lines_go_through_logging_so_caplog_sees_them(caplog):
    import logging
    import urllib.request

    from betcore_sandbox import Sandbox

    caplog.set_level(logging.INFO, logger="betcore_sandbox.requests")
    with Sandbox() as sandbox:
        request = urllib.request.Request(
            f"{sandbox.url}/sessions/session-eur/balance", headers=sandbox.signed_headers("GET")
        )
        urllib.request.urlopen(request).read()
    [record] = [r for r in caplog.records if r.name == "betcore_sandbox.requests"]
    assert record.getMessage().startswith("balance session=session-eur bet=- code=1 http=200")
    assert (record.endpoint, record.responseCode) == ("balance", 1)


def test_an_embedded_sandbox_leaves_the_root_logger_alone():
    import logging

    from betcore_sandbox import Sandbox

    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    with Sandbox():
        pass
    assert (list(root.handlers), root.level) == before
