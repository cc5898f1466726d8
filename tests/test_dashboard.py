"""The dashboard's server side: its files, the way in from `/`, the login, and the live event stream."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import threading
import time
import urllib.request
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from betcore_sandbox import Sandbox
from betcore_sandbox.journal import JournalEntry
from betcore_sandbox.web import dashboard, events
from betcore_sandbox.web.app import create_app

from .conftest import REPO, Admin, Provider
from .partners import answering, serving
from .process import SandboxProcess


async def next_event(response, wanted: str, timeout: float = 5.0) -> dict[str, Any]:
    """Read the stream until an event named `wanted`; its data."""
    name = None
    async with asyncio.timeout(timeout):
        while True:
            line = (await response.content.readline()).decode()
            assert line, "the stream ended"
            if line.startswith("event: "):
                name = line[len("event: ") :].strip()
            elif line.startswith("data: ") and name == wanted:
                return json.loads(line[len("data: ") :])


async def open_stream(http, **headers: str):
    response = await http.get("/__admin/events", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/event-stream"
    await next_event(response, "hello")
    return response


# -- files and the way in ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "marker"),
    [
        ("/__admin/ui/", "text/html; charset=utf-8", b'<script type="module" src="app.js">'),
        ("/__admin/ui/index.html", "text/html; charset=utf-8", b"<title>betcore-sandbox dashboard</title>"),
        ("/__admin/ui/app.js", "text/javascript; charset=utf-8", b"new EventSource(`${ADMIN}/events`)"),
        ("/__admin/ui/app.css", "text/css; charset=utf-8", b":focus-visible"),
    ],
)
async def test_the_dashboard_files_are_served_with_their_content_types(http, path, content_type, marker):
    response = await http.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert marker in await response.read()
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]  # nothing from another origin
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/__admin/ui/nothing.js", "/__admin/ui/..%2Fjournal.py", "/__admin/ui/..%2F..%2Fpyproject.toml"]
)
async def test_only_the_shipped_files_are_served(http, path):
    response = await http.get(path)
    assert response.status == 404
    assert "error" in await response.json()


async def test_the_page_loads_nothing_from_another_origin(http):
    page = (await (await http.get("/__admin/ui/")).read()).decode()
    script = (await (await http.get("/__admin/ui/app.js")).read()).decode()
    for text in (page, script):
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


@pytest.mark.parametrize("form", ["html", "junit", "json"])
async def test_the_report_pages_may_run_no_script(http, form):
    response = await http.get(f"/__admin/report?format={form}")
    assert response.status == 200
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_browser_asking_for_the_root_is_sent_to_the_dashboard(http):
    for path in ("/", "/__admin/ui"):
        response = await http.get(path, headers={"Accept": "text/html,application/xhtml+xml"}, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (302, "/__admin/ui/")


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
async def test_an_api_client_at_the_root_still_gets_the_json_404(http, accept):
    headers = {"Accept": accept} if accept else {}
    response = await http.get("/", headers=headers, allow_redirects=False)
    assert response.status == 404
    body = await response.json()
    assert body["_responseCode"] == 2 and "the endpoints are" in body["message"]
    assert (await http.post("/", data=b"{}", headers={"Accept": "text/html"})).status == 404


async def test_one_journal_entry_by_id(admin, provider):
    await provider.pay_in("session-eur", "b-1", "1.00")
    [entry] = await admin.get("/requests")
    assert await admin.get(f"/requests/{entry['id']}") == entry
    for missing in ("2", "x", "-1", "9" * 40):
        status, body = await admin.call("GET", f"/requests/{missing}")
        assert status == 404 and "no journal entry" in body["error"]


# -- the login -----------------------------------------------------------------------------------------------------


@pytest.fixture
async def guarded(aiohttp_client, make_state):
    return await aiohttp_client(create_app(make_state(), admin_token="s3cret"))


async def test_without_a_token_no_login_is_needed(http):
    session = await (await http.get("/__admin/ui/session")).json()
    assert session == {"tokenRequired": False, "loggedIn": True}
    response = await http.post("/__admin/ui/login", json={"token": "anything"})
    assert response.status == 200 and "Set-Cookie" not in response.headers


async def test_with_a_token_the_page_loads_but_the_api_and_the_stream_need_a_login(guarded):
    assert (await guarded.get("/__admin/ui/")).status == 200
    assert (await guarded.get("/__admin/ui/app.js")).status == 200
    assert await (await guarded.get("/__admin/ui/session")).json() == {
        "tokenRequired": True,
        "loggedIn": False,
    }
    assert (await guarded.get("/__admin/events")).status == 401
    assert (await guarded.get("/__admin/players")).status == 401
    assert (await guarded.get("/__admin/requests/1")).status == 401


async def test_a_wrong_token_is_refused(guarded):
    for body in ({"token": "wrong"}, {"token": "s3cret "}, {"token": ""}):
        response = await guarded.post("/__admin/ui/login", json=body)
        assert response.status == 401 and "Set-Cookie" not in response.headers
    for raw in (b"{", b'{"token": 5}', b"[]"):
        response = await guarded.post("/__admin/ui/login", data=raw)
        assert response.status == 400 and "Set-Cookie" not in response.headers
    assert (await guarded.get("/__admin/players")).status == 401


async def test_the_open_login_takes_only_a_small_body(guarded):
    padded = b'{"token": "s3cret", "pad": "' + b"x" * dashboard.LOGIN_BODY_LIMIT + b'"}'
    response = await guarded.post("/__admin/ui/login", data=padded)
    assert response.status == 400 and "Set-Cookie" not in response.headers
    assert "over 4096 bytes" in (await response.json())["error"]

    async def chunked():  # no Content-Length: the limit is counted as the body arrives
        yield padded

    response = await guarded.post("/__admin/ui/login", data=chunked())
    assert response.status == 400 and "Set-Cookie" not in response.headers
    assert (await guarded.post("/__admin/ui/login", data=b'{"token": "s3cret"}')).status == 200


async def test_the_login_cookie_opens_the_api_and_the_stream_until_logout(guarded):
    response = await guarded.post("/__admin/ui/login", json={"token": "s3cret"})
    assert response.status == 200
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{dashboard.COOKIE}=") and "s3cret" not in cookie  # a login id, not the token
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/__admin" in cookie
    assert (await (await guarded.get("/__admin/ui/session")).json())["loggedIn"] is True
    assert (await guarded.get("/__admin/players")).status == 200
    stream = await open_stream(guarded)
    async with aiohttp.ClientSession() as elsewhere:  # another browser logs in
        assert (await elsewhere.post(guarded.make_url("/__admin/ui/login"), json={"token": "s3cret"})).status == 200
    assert (await guarded.patch("/__admin/players/player-eur", json={"blocked": True})).status == 200
    # Logging in changed nothing: the first change announced is the patch.
    assert (await next_event(stream, "changed"))["path"] == "/__admin/players/player-eur"
    assert (await guarded.post("/__admin/ui/logout")).status == 200
    await Admin(guarded, token="s3cret").call("PATCH", "/players/player-eur", {"blocked": False})
    async with asyncio.timeout(5):
        rest = await stream.content.read()  # to its end: the stream ended with its login
    assert b"event:" not in rest  # before telling of the patch
    guarded.session.cookie_jar.update_cookies({dashboard.COOKIE: cookie.split(";")[0].split("=", 1)[1]})
    assert (await guarded.get("/__admin/players")).status == 401  # the old login id no longer counts
    assert (await guarded.get("/__admin/events")).status == 401


async def test_a_page_of_another_origin_cannot_make_a_logged_in_browser_change_anything(guarded):
    assert (await guarded.post("/__admin/ui/login", json={"token": "s3cret"})).status == 200
    assert (await guarded.patch("/__admin/players/player-eur", json={"blocked": True})).status == 200
    own = f"http://{guarded.make_url('/').host}:{guarded.make_url('/').port}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # Another port of the same host is the same site: SameSite=Strict still sends the cookie, so this is refused.
    for headers in (
        {"Origin": "http://127.0.0.1:1", **form},
        {"Origin": "https://attacker.example", **form},
        {"Origin": "null", **form},
        {"Sec-Fetch-Site": "same-site", **form},
        {"Sec-Fetch-Site": "cross-site", "Origin": own, **form},
    ):
        response = await guarded.post("/__admin/reset", data=b"x=1", headers=headers)
        assert response.status == 403, headers
        assert "another origin" in (await response.json())["error"]
    assert (await (await guarded.get("/__admin/players/player-eur")).json())["blocked"] is True  # nothing reset
    # The dashboard's own calls (same origin) and programs (no Origin) work as before.
    headers = {"Origin": own, "Sec-Fetch-Site": "same-origin"}
    assert (await guarded.patch("/__admin/players/player-eur", json={"blocked": False}, headers=headers)).status == 200
    assert (await guarded.get("/__admin/players", headers={"Origin": "http://127.0.0.1:1"})).status == 200


async def test_without_a_token_a_page_of_another_origin_still_cannot_reset_the_sandbox(http, admin):
    assert (await admin.call("PATCH", "/players/player-eur", {"blocked": True}))[0] == 200
    response = await http.post("/__admin/reset", data=b"", headers={"Origin": "http://localhost:3000"})
    assert response.status == 403
    assert (await admin.get("/players/player-eur"))["blocked"] is True
    assert (await http.post("/__admin/reset")).status == 200  # curl and SDKs send no Origin
    assert (await admin.get("/players/player-eur"))["blocked"] is False


async def test_a_forged_login_cookie_is_refused(guarded):
    guarded.session.cookie_jar.update_cookies({dashboard.COOKIE: "s3cret"})
    assert (await guarded.get("/__admin/players")).status == 401
    assert (await guarded.get("/__admin/players", headers={"Authorization": "Bearer s3cret"})).status == 200


def test_logins_are_bounded_and_expire():
    logins = dashboard.Logins(seconds=60, limit=3)
    made = [logins.create() for _ in range(5)]
    assert len(logins) == 3 and not logins.valid(made[0]) and all(logins.valid(m) for m in made[2:])
    expired = dashboard.Logins(seconds=-1)
    assert not expired.valid(expired.create()) and len(expired) == 0


# -- the event stream ----------------------------------------------------------------------------------------------


async def test_the_stream_carries_each_request_with_its_balance_and_bet(http):
    stream = await open_stream(http)
    provider = Provider(http)
    assert (await provider.pay_in("session-eur", "b-1", "2.50"))["_responseCode"] == 1
    request = await next_event(stream, "request")
    assert {k: request[k] for k in ("endpoint", "sessionId", "betId", "status", "code", "signature", "fault")} == {
        "endpoint": "pay-in",
        "sessionId": "session-eur",
        "betId": "b-1",
        "status": 200,
        "code": 1,
        "signature": "valid",
        "fault": None,
    }
    assert request["durationMs"] >= 0 and request["id"] == 1
    balance = await next_event(stream, "balance")
    assert balance == {"sessionId": "session-eur", "playerId": "player-eur", "balance": "997.50", "currency": "EUR"}
    bet = await next_event(stream, "bet")
    assert (bet["betId"], bet["status"], bet["stake"]) == ("b-1", "open", "2.50")
    stream.close()


async def test_the_stream_shows_faults_and_refused_signatures(http, admin):
    stream = await open_stream(http)
    await admin.fault(endpoint="pay-in", kind="http_error", status=503)
    provider = Provider(http)
    await provider.pay_in("session-eur", "b-1", "1.00")
    request = await next_event(stream, "request")
    assert (request["status"], request["code"], request["fault"]["kind"]) == (503, 99, "http_error")
    await Provider(http, secret="wrong").pay_in("session-eur", "b-2", "1.00")
    refused = await next_event(stream, "request")
    assert (refused["status"], refused["code"], refused["signature"]) == (401, 8, "invalid")
    stream.close()


async def test_admin_changes_and_clearing_are_announced(http, admin):
    stream = await open_stream(http)
    await admin.call("PATCH", "/players/player-eur", {"balance": "5.00"})
    assert await next_event(stream, "changed") == {"method": "PATCH", "path": "/__admin/players/player-eur"}
    await admin.call("DELETE", "/requests")
    assert await next_event(stream, "cleared") == {}
    status, _ = await admin.call("PATCH", "/players/player-eur", {"balance": "x"})
    assert status == 400
    await admin.call("POST", "/reset")
    # The refused patch announced nothing: the next change is the reset (which clears the journal first).
    assert await next_event(stream, "cleared") == {}
    assert await next_event(stream, "changed") == {"method": "POST", "path": "/__admin/reset"}
    stream.close()


async def test_a_failure_of_the_stream_never_fails_the_provider_request(http, monkeypatch, caplog):
    stream = await open_stream(http)

    def broken(self, entry):
        raise RuntimeError("a bug in the event stream")

    monkeypatch.setattr(events.Hub, "_announce", broken)
    assert (await Provider(http).pay_in("session-eur", "b-1", "1.00"))["_responseCode"] == 1
    # visible, as every sandbox bug is: logged with its traceback (and kept for the plugin's end-of-test check)
    [failure] = [r for r in caplog.records if r.getMessage() == "the event stream failed on a journal entry"]
    assert failure.levelname == "ERROR" and "a bug in the event stream" in str(failure.exc_info[1])
    stream.close()


async def test_an_outgoing_call_is_announced_when_sent_and_again_when_answered(http, admin):
    stream = await open_stream(http)
    answer = asyncio.Event()

    async def held(request: web.Request) -> web.Response:
        await request.read()
        await answer.wait()
        return web.json_response({"_responseCode": 1, "frameUri": "https://games.example/play"})

    async with serving(answering(held)) as url:
        body = {"gameId": "aerobet", "providerUrl": url, "playerId": "player-eur", "sessionId": "l-1"}
        launching = asyncio.create_task(admin.call("POST", "/launches", body))
        sent = await next_event(stream, "request")
        shown = ("direction", "endpoint", "url", "sessionId", "betId", "status", "code", "error")
        assert {k: sent[k] for k in shown} == {
            "direction": "outgoing",
            "endpoint": "launch",
            "url": f"{url}/v1/games/aerobet/launch",
            "sessionId": "l-1",
            "betId": None,
            "status": None,  # sent, not answered yet
            "code": None,
            "error": None,
        }
        answer.set()
        done = await next_event(stream, "completed")
        assert {k: done[k] for k in ("id", "direction", "status", "code", "error")} == {
            "id": sent["id"],
            "direction": "outgoing",
            "status": 200,
            "code": 1,
            "error": None,
        }
        assert done["durationMs"] > 0
        status, launched = await launching
    assert status == 201 and launched["status"] == "launched"
    stream.close()


def outgoing() -> JournalEntry:
    return JournalEntry(
        time=0.0, method="POST", path="/v1/games/g/launch", endpoint="launch", session_id=None, headers=(), body=b""
    )


def test_a_completion_is_announced_only_while_the_journal_holds_the_call(state):
    hub = events.Hub(state)
    watcher = hub.subscribe()
    kept, gone = outgoing(), outgoing()
    for call in (kept, gone):
        call.direction = "outgoing"
    state.journal.record(kept)
    kept.status, kept.response = 200, b'{"_responseCode":1}'
    state.journal.completed(kept)
    state.journal.record(gone)
    state.journal.clear()  # a reset while the call was out: its answer belongs to the past
    gone.status = 200
    state.journal.completed(gone)
    names = [message.split(b"\n")[0] for message in watcher.take()]
    assert names == [b"event: request", b"event: completed", b"event: request", b"event: cleared"]
    hub.close()
    state.journal.record(kept)
    state.journal.completed(kept)  # the closed hub listens to neither
    assert len(watcher) == 0


def entry(n: int) -> JournalEntry:
    return JournalEntry(time=0.0, method="GET", path="/", endpoint="balance", session_id=None, headers=(), body=b"")


def test_a_slow_client_loses_the_oldest_events_and_is_told_how_many(state):
    hub = events.Hub(state, queue_limit=100)
    slow = hub.subscribe()
    for n in range(250):
        state.journal.record(entry(n))
    assert len(slow) == 100  # bounded: the sandbox holds no more for it
    taken = slow.take()
    assert taken[0] == b'event: missed\ndata: {"missed":150}\n\n'
    assert len(taken) == 101 and b'"id":250' in taken[-1] and b'"id":151,' in taken[1]
    assert slow.take() == [] and len(slow) == 0
    hub.close()


def test_nobody_listening_costs_no_events(state):
    hub = events.Hub(state)
    state.journal.record(entry(1))
    watcher = hub.subscribe()
    hub.unsubscribe(watcher)
    state.journal.record(entry(2))
    assert len(watcher) == 0
    hub.close()
    hub.close()  # a second close (a second shutdown signal) changes nothing
    state.journal.record(entry(3))  # the closed hub no longer listens
    assert hub.subscribe().closed  # a stream opened during the shutdown ends at once


async def test_the_number_of_streams_is_bounded(http, monkeypatch):
    monkeypatch.setattr(events, "MAX_CLIENTS", 2)
    first, second = await open_stream(http), await open_stream(http)
    refused = await http.get("/__admin/events")
    assert refused.status == 503 and "too many" in (await refused.json())["error"]
    first.close()
    async with asyncio.timeout(5):
        while (third := await http.get("/__admin/events")).status != 200:  # the closed stream is let go
            third.close()
            await asyncio.sleep(0.01)
    third.close()
    second.close()


def test_an_open_stream_does_not_hold_up_the_shutdown():
    sandbox = Sandbox().start()
    lines: list[bytes] = []

    def read() -> None:
        with urllib.request.urlopen(f"{sandbox.admin_url}/events", timeout=10) as response:
            lines.extend(response)

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 5
    while b"event: hello\n" not in lines and time.monotonic() < deadline:
        time.sleep(0.01)  # polling for the stream to open
    assert b"event: hello\n" in lines
    started = time.perf_counter()
    sandbox.stop()
    stopped = time.perf_counter() - started
    reader.join(5)
    assert not reader.is_alive()  # the stream ended cleanly: the reader saw its end
    # The server's shutdown grace is 1 s: a stream that held the shutdown would take at least that.
    assert stopped < 0.9


def test_the_server_prints_the_dashboard_url_and_a_stream_does_not_delay_its_exit():
    sandbox = SandboxProcess("--port", "0")
    try:
        url = sandbox.wait_listening()
        line = sandbox.lines_until(lambda line: "dashboard" in line)
        assert f"dashboard     {url}/__admin/ui/" in line
        page = urllib.request.urlopen(urllib.request.Request(f"{url}/", headers={"Accept": "text/html"}), timeout=5)
        assert page.url == f"{url}/__admin/ui/" and b"betcore-sandbox dashboard" in page.read()
        stream = urllib.request.urlopen(f"{url}/__admin/events", timeout=10)
        assert stream.readline() == b"retry: 1000\n"
        started = time.monotonic()
        assert sandbox.stop(signal.SIGTERM) == 0
        # The grace for in-flight requests is 3 s: an open stream must not use it up.
        assert time.monotonic() - started < 2.5
        assert stream.read().endswith(b"\n\n")  # the stream was ended, not cut
    finally:
        sandbox.close()


def test_the_docs_show_the_dashboard_with_a_committed_screenshot():
    page = (REPO / "docs" / "dashboard.md").read_text()
    [image] = re.findall(r"!\[[^\]]*\]\(([^)/]+\.png)\)", page)
    assert (REPO / "docs" / image).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert page.startswith("# Dashboard") and "/__admin/ui/" in page
    assert "](docs/dashboard.md)" in (REPO / "README.md").read_text()
