"""A call to a path that is no endpoint (a wrong base path, a wrong method) is journaled as a truncated record with
endpoint `unknown` and its reason, so it shows wherever requests are read: the admin API, the event feed, the
command line, the log; the conformance report does not judge it; a flood of them stays within the journal's bytes.
A call refused for its signature shows the betId its (kept) body names."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request

import pytest

from betcore_sandbox import Sandbox
from betcore_sandbox.journal import UNKNOWN_LIMIT, UNTRUSTED_BODY_BYTES
from betcore_sandbox.logs import TextFormatter
from betcore_sandbox.request_lines import request_line
from betcore_sandbox.signing import signed_headers

from .conftest import CP, SECRET, Admin, Provider
from .process import SandboxProcess, run_cli
from .test_dashboard import next_event, open_stream

BASES = "wallet calls go under /v1 and /betongames-mediator-service/api/v1"
WRONG = "/api/v1/sessions/session-eur/bets/pay-in"


@pytest.fixture
def requests_log(caplog):
    caplog.set_level(logging.INFO, logger="betcore_sandbox.requests")
    return caplog


def logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "betcore_sandbox.requests"]


async def test_a_wrong_base_path_is_journaled_with_the_two_base_paths(http, admin: Admin, requests_log):
    body = json.dumps({"betId": "b-1", "betAmount": "1.00"}).encode()
    response = await http.post(WRONG, data=body, headers=signed_headers(SECRET, CP, "POST", body))
    assert response.status == 404 and (await response.json())["_responseCode"] == 2
    [entry] = await admin.get("/requests")
    assert (entry["endpoint"], entry["method"], entry["path"]) == ("unknown", "POST", WRONG)
    assert entry["reason"] == f"no endpoint POST {WRONG}: {BASES}"
    assert (entry["sessionId"], entry["betId"], entry["counterpartyId"]) == (None, None, None)
    assert entry["signature"]["verdict"] == "unchecked"  # never checked: nothing was trusted
    assert entry["body"] == body.decode() and entry["response"]["status"] == 404
    assert await admin.get("/requests?endpoint=unknown") == [entry]
    assert await admin.get("/requests?endpoint=pay-in") == []
    assert await admin.get("/bets") == []
    # The log line says session=- like every other line, and names the base paths.
    [line] = logged(requests_log)
    assert line.startswith("unknown session=- bet=- code=2 http=404 fault=- ") and line.endswith(BASES)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/sessions/session-eur/bets/pay-in", "POST"),
        ("PUT", "/betongames-mediator-service/api/v1/sessions/s/bets/refund", "POST"),
        ("POST", "/v1/sessions/session-eur/balance", "GET"),
        ("HEAD", "/v1/sessions/session-eur/balance", "GET"),
    ],
)
async def test_a_known_path_with_the_wrong_method_says_which_to_use(http, admin, method, path, allowed):
    response = await http.request(method, path)
    assert (response.status, response.headers["Allow"]) == (405, allowed)
    if method != "HEAD":
        answer = await response.json()
        assert answer["_responseCode"] == 2 and f"{method} {path}: use {allowed}" in answer["message"]
    [entry] = await admin.get("/requests")
    assert entry["endpoint"] == "unknown" and entry["reason"].startswith(f"{method} {path}: use {allowed}")


async def test_a_placeholder_left_in_the_path_is_the_reason(http, admin):
    response = await http.post("/v1/sessions/{sessionId}/bets/pay-out", data=b"{}")
    assert response.status == 404
    [entry] = await admin.get("/requests")
    assert "still has a placeholder in braces" in entry["reason"]


async def test_a_newline_in_the_path_gets_the_json_404_and_one_escaped_log_line(http, admin, requests_log):
    response = await http.get("/v1/x%0aINFO%20fake")
    assert response.status == 404 and response.content_type == "application/json"
    assert (await response.json())["_responseCode"] == 2
    [entry] = await admin.get("/requests")
    assert entry["path"] == "/v1/x%0AINFO%20fake" and entry["endpoint"] == "unknown"  # the path as sent
    assert "no endpoint GET /v1/x\nINFO fake" in entry["reason"]  # decoded: the line that shows it escapes it
    assert "\n" not in request_line(entry) and "/v1/x\\nINFO fake" in request_line(entry)
    [line] = logged(requests_log)
    assert "no endpoint GET /v1/x\nINFO fake" in line  # the record's text; the formatter escapes it
    written = TextFormatter().format(requests_log.records[-1])
    assert "\n" not in written and "/v1/x\\nINFO fake" in written


async def test_the_event_feed_shows_the_call_with_its_reason(http):
    stream = await open_stream(http)
    await http.get("/v2/sessions/session-eur/balance")
    request = await next_event(stream, "request")
    assert (request["endpoint"], request["path"], request["status"], request["code"]) == (
        "unknown",
        "/v2/sessions/session-eur/balance",
        404,
        2,
    )
    assert request["reason"] == f"no endpoint GET /v2/sessions/session-eur/balance: {BASES}"
    stream.close()


async def test_a_flood_of_unknown_paths_stays_within_the_journal_bytes(http, admin, state):
    # Below the smallest journalMaxBytes a user may set (1 MiB), which UNKNOWN_LIMIT of these never reach.
    state.journal.resize(state.journal.limit, 256 * 1024)
    body = b"p" * 60_000
    path = "/api/" + "x" * 4000
    for _ in range(300):  # whole, these would be about 19 MB
        assert (await http.post(path, data=body)).status == 404
    assert state.journal.bytes <= 256 * 1024
    entries = await admin.get("/requests")
    # Each record keeps the first bytes only: about 7 KB with its long path, so 256 KiB holds a few dozen.
    assert 20 <= len(entries) < UNKNOWN_LIMIT and state.journal.unknown_dropped == 300 - len(entries)
    assert state.journal.dropped == 0  # no evidence of a wallet call is missing
    newest = entries[-1]
    assert len(newest["body"]) == UNTRUSTED_BODY_BYTES and newest["truncated"]["bodySize"] == len(body)
    assert len(newest["reason"]) < 400  # the path is clipped in the reason
    assert (await Provider(http).pay_in("session-eur", "after-flood", "1.00"))["_responseCode"] == 1


async def test_the_conformance_report_does_not_judge_them_but_counts_them(http, admin, provider):
    await provider.pay_in("session-eur", "c-1", "1.00")
    await provider.pay_out("session-eur", "c-1", "2.00")
    clean = await admin.get("/report")
    for path in (WRONG, "/v1/sessions/session-eur/bets/pay-out"):  # the second: GET on a POST endpoint
        await http.get(path)
    report = await admin.get("/report")
    assert report["passed"] and clean["passed"]
    assert report["summary"]["requests"] == clean["summary"]["requests"] == 2
    assert (report["summary"]["unknownPaths"], clean["summary"]["unknownPaths"]) == (2, 0)
    strip = {"generatedAt", "unknownPaths"}
    assert {k: v for k, v in report["summary"].items() if k not in strip} == {
        k: v for k, v in clean["summary"].items() if k not in strip
    }
    assert [(c["id"], c["status"]) for c in report["checks"]] == [(c["id"], c["status"]) for c in clean["checks"]]
    assert (await admin.get("/audit"))["ok"]


# -- a refused signature shows the betId its kept body names ------------------------------------------------------


async def test_a_refused_signature_shows_the_bet_id_of_its_body(http, admin, requests_log):
    stranger = Provider(http, counterparty_id="nobody-we-know")
    await stranger.pay_in("session-eur", "claimed-7", "1.00")
    forged = Provider(http, secret="wrong-secret")
    await forged.send("pay-in", "session-eur", {"betAmount": "1.00", "pad": "p" * 2000, "betId": "past-the-cut"})
    await forged.send("balance", "session-eur")
    entries = await admin.get("/requests")
    assert [(e["endpoint"], e["betId"], e["response"]["status"]) for e in entries] == [
        ("pay-in", "claimed-7", 401),
        ("pay-in", None, 401),  # its betId lies beyond the bytes kept: not read
        ("balance", None, 401),
    ]
    assert await admin.get("/bets") == []  # shown, never acted on
    lines = logged(requests_log)
    assert lines[0].startswith("pay-in session=session-eur bet=claimed-7 code=8 http=401 ")
    assert " bet=- code=8 " in lines[1]


# -- the command line ---------------------------------------------------------------------------------------------


def test_the_requests_command_lists_wrong_path_calls_with_their_reason():
    sandbox = SandboxProcess("--port", "0")
    try:
        sandbox.wait_listening()
        env = {"BETCORE_SANDBOX_URL": sandbox.url}
        for method, path in (("POST", WRONG), ("GET", "/v1/sessions/session-eur/bets/pay-in")):
            request = urllib.request.Request(
                sandbox.url + path, method=method, data=b"{}" if method == "POST" else None
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            refused.value.close()
        listed = run_cli("requests", env=env)
        assert listed.returncode == 0, listed.stderr
        first, second = listed.stdout.decode().splitlines()
        assert f" POST {WRONG} session=- bet=- http=404 code=2 " in first and first.endswith(
            f"ms  no endpoint POST {WRONG}: {BASES}"
        )
        assert " GET /v1/sessions/session-eur/bets/pay-in session=- bet=- http=405 code=2 " in second
        assert second.endswith("use POST, pay-in takes only POST")
        line = sandbox.lines_until(lambda text: f"no endpoint POST {WRONG}" in text)
        assert " unknown session=- bet=- code=2 http=404 " in line
    finally:
        sandbox.stop()


# -- the Python API and durable mode ------------------------------------------------------------------------------


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        refused.close()
        return refused.code


def test_a_durable_sandbox_journals_them_and_stores_nothing_of_them(tmp_path):
    db = tmp_path / "state.db"
    with Sandbox(state=db) as sandbox:
        body = json.dumps({"betId": "d-1", "betAmount": "2.00"}).encode()
        signed = sandbox.signed_headers("POST", body)
        paid = urllib.request.Request(sandbox.url + "/sessions/session-eur/bets/pay-in", data=body, headers=signed)
        with urllib.request.urlopen(paid, timeout=10) as response:
            assert json.loads(response.read())["_responseCode"] == 1
        assert _get(sandbox.base_url + "/api/v1/sessions/session-eur/balance") == 404
        assert _get(sandbox.url + "/sessions/session-eur/bets/pay-out") == 405
        assert sandbox.request_count() == 3
        assert [e.endpoint for e in sandbox.requests(limit=2)] == ["unknown", "unknown"]
        assert sandbox.requests(endpoint="unknown")[0].reason.endswith(BASES)
        assert sandbox.audit().ok
    with Sandbox(state=db) as again:  # resumed: the wallet as it was, nothing of the stray calls
        assert again.balance("session-eur") == 998
        assert again.request_count() == 0 and again.audit().ok


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        refused.close()
        return refused.code


# -- capped apart from wallet calls -------------------------------------------------------------------------------


def test_a_browser_asking_for_its_icon_never_pushes_a_wallet_call_out():
    with Sandbox(journal_limit=3) as sandbox:
        body = json.dumps({"betId": "kept", "betAmount": "1.00"}).encode()
        url = f"{sandbox.url}/sessions/session-eur/bets/pay-in"
        assert _post(url, body, sandbox.signed_headers("POST", body)) == 200
        for _ in range(3):
            assert _get(f"{sandbox.base_url}/favicon.ico") == 404
        entries = sandbox.requests()
        assert [e.endpoint for e in entries] == ["pay-in", "unknown", "unknown"]  # the oldest icon call went
        assert entries[0].bet_id == "kept"
        report = sandbox.report()
        assert "pushed out" not in repr(report)  # no wallet evidence is missing


def test_unknown_path_calls_are_capped_on_their_own_the_oldest_dropped_first():
    with Sandbox() as sandbox:
        body = json.dumps({"betId": "first", "betAmount": "1.00"}).encode()
        assert (
            _post(f"{sandbox.url}/sessions/session-eur/bets/pay-in", body, sandbox.signed_headers("POST", body)) == 200
        )
        for number in range(UNKNOWN_LIMIT + 5):
            assert _get(f"{sandbox.base_url}/scan-{number}") == 404
        unknown = sandbox.requests(endpoint="unknown")
        assert len(unknown) == UNKNOWN_LIMIT and sandbox.request_count() == UNKNOWN_LIMIT + 1
        assert unknown[0].path == "/scan-5" and unknown[-1].path == f"/scan-{UNKNOWN_LIMIT + 4}"
        assert sandbox.requests(endpoint="pay-in")[0].bet_id == "first"


async def test_a_body_that_had_not_arrived_is_marked_truncated_with_its_announced_size(http, admin):
    """The answer does not wait for the body of a call no endpoint takes: the journal says it had one."""
    host, port = http.server.host, http.server.port
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(b"POST /api/v1/pay-in HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + b"{" * 10)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 404")
    finally:
        writer.close()
        await writer.wait_closed()
    [entry] = await admin.get("/requests")
    assert entry["body"] == "" and entry["truncated"]["bodySize"] == 5000
