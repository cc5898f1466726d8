"""The admin commands as real processes against a real sandbox process: faults, reset, audit, balance, requests
(and --follow), state; and what the request log says of failed calls."""

import concurrent.futures
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from betcore_sandbox.signing import signed_headers

from .conftest import CP, SECRET
from .process import listening, run_cli

TOKEN = "admin-cli-token"


@pytest.fixture(scope="module")
def served():
    with listening("--port", "0", "--admin-token", TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
def url(served):
    assert cli(served.url, "reset").returncode == 0
    return served.url


def cli(url, *args, env=None, input=None):
    """The command with the sandbox named by the environment, as a user's shell would have it."""
    given = {"BETCORE_SANDBOX_URL": url, "BETCORE_SANDBOX_ADMIN_TOKEN": TOKEN, **(env or {})}
    return run_cli(*args, env=given, input=input)


def send(url, endpoint, body=None, session="session-eur", headers=None):
    """A provider call, signed unless `headers` are given: (HTTP status, decoded answer)."""
    raw = b"" if body is None else json.dumps(body).encode()
    method = "GET" if endpoint == "balance" else "POST"
    path = f"/v1/sessions/{session}/balance" if endpoint == "balance" else f"/v1/sessions/{session}/bets/{endpoint}"
    sent = headers if headers is not None else signed_headers(SECRET, CP, method, raw)
    request = urllib.request.Request(url + path, data=raw if method == "POST" else None, headers=sent, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:  # its connection closed now, not when the collector finds it
            return error.code, json.loads(error.read())


def out(result):
    return result.stdout.decode()


def test_faults_add_list_remove_clear(url, tmp_path):
    added = cli(url, "faults", "add", "--kind", "http_error", "--endpoint", "pay-out", "--phase", "after")
    assert added.returncode == 0, added.stderr
    assert out(added) == "added fault fault-1: http_error HTTP 500 on pay-out (after) 1 time\n"
    rule = tmp_path / "rule.json"
    rule.write_text('{"kind": "delay", "delayMs": 5, "sessionId": "session-usd"}')
    from_file = cli(url, "faults", "add", "--json", f"@{rule}", "--times", "unlimited", "--probability", "0.5")
    assert out(from_file).startswith("added fault fault-2: delay 5ms on * (before) for session=session-usd until")
    listed = cli(url, "faults", "list")
    lines = out(listed).splitlines()
    heading = ["ID", "KIND", "EFFECT", "ENDPOINT", "PHASE", "MATCHES", "WHEN", "FIRED", "LEFT", "STATE"]
    assert lines[0].split() == heading
    first = ["fault-1", "http_error", "HTTP", "500", "pay-out", "after", "all", "-", "0", "1", "active"]
    assert lines[1].split() == first
    second = ["fault-2", "delay", "5ms", "*", "before", "session=session-usd", "p=0.5", "0", "unlimited", "active"]
    assert lines[2].split() == second
    raw = json.loads(out(cli(url, "faults", "list", "--json")))
    assert [(r["id"], r["times"], r["probability"]) for r in raw] == [("fault-1", 1, 1.0), ("fault-2", None, 0.5)]

    assert send(url, "pay-in", {"betId": "f-1", "betAmount": "1.00"})[0] == 200
    assert send(url, "pay-out", {"betId": "f-1", "winAmount": "2.00"})[0] == 500  # the rule the command added
    spent = out(cli(url, "faults", "list")).splitlines()[1].split()
    assert (spent[0], spent[-3:]) == ("fault-1", ["1", "0", "used-up"])  # a spent rule stays listed, marked
    assert out(cli(url, "faults", "remove", "fault-2")) == "removed fault fault-2\n"
    assert "fault-2" not in [r["id"] for r in json.loads(out(cli(url, "faults", "list", "--json")))]
    assert cli(url, "faults", "add", "--kind", "empty_response").returncode == 0
    assert out(cli(url, "faults", "clear")) == "cleared every fault rule\n"
    assert out(cli(url, "faults", "list")) == "no fault rules\n"


def test_a_refused_rule_says_why_with_its_json_path_and_exits_2(url):
    refused = cli(url, "faults", "add", "--json", '{"kind": "timeout", "delayMs": -1}')
    assert refused.returncode == 2
    assert refused.stderr.decode() == (
        "betcore-sandbox: error: the sandbox refused the rule: delayMs: must be an integer from 0 to 3600000\n"
    )
    no_kind = cli(url, "faults", "add", "--endpoint", "pay-in")
    assert no_kind.returncode == 2 and "a rule needs --kind" in no_kind.stderr.decode()
    not_json = cli(url, "faults", "add", "--json", "{kind")
    assert not_json.returncode == 2 and "--json is not JSON" in not_json.stderr.decode()
    missing = cli(url, "faults", "remove", "fault-99")
    assert missing.returncode == 1  # as `balance` of an unknown session: a check that failed
    assert missing.stderr.decode() == "betcore-sandbox: error: no fault rule fault-99\n"
    assert out(cli(url, "faults", "list")) == "no fault rules\n"  # nothing was added by any of them


def test_reset_balance_and_audit(url):
    assert send(url, "pay-in", {"betId": "b-1", "betAmount": "2.50"})[1]["balance"] == 997.5
    assert out(cli(url, "balance", "session-eur")) == "997.50 EUR\n"
    assert json.loads(out(cli(url, "balance", "session-eur", "--json")))["playerId"]
    audit = cli(url, "audit")
    assert (audit.returncode, out(audit)) == (0, "audit: ok (0 discrepancies, 1 open bets)\n")
    assert json.loads(out(cli(url, "audit", "--json")))["ok"] is True
    reset = cli(url, "reset")
    assert (reset.returncode, out(reset)) == (0, "reset: the fixture's wallet, no faults, an empty journal\n")
    assert out(cli(url, "balance", "session-eur")) == "1000.00 EUR\n"
    unknown = cli(url, "balance", "no-such")
    assert unknown.returncode == 1 and "error: no session 'no-such' in the sandbox\n" in unknown.stderr.decode()


def test_a_state_whose_money_does_not_add_up_is_refused_with_exit_3(url, tmp_path):
    assert send(url, "pay-in", {"betId": "d-1", "betAmount": "2.50"})[0] == 200
    exported = tmp_path / "state.json"
    assert cli(url, "state", "export", str(exported)).returncode == 0
    state = json.loads(exported.read_text())
    next(p for p in state["players"] if p["id"] == "player-eur")["balance"] = "1000.00"  # the stake's debit undone
    exported.write_text(json.dumps(state))
    imported = cli(url, "state", "import", str(exported))
    assert imported.returncode == 3 and f"the sandbox cannot use {exported}: " in imported.stderr.decode()
    assert out(cli(url, "balance", "session-eur")) == "997.50 EUR\n"  # nothing changed


@pytest.mark.parametrize(
    ("answer", "code", "printed"),
    [
        ({"ok": True, "violations": [], "openBets": []}, 0, "audit: ok (0 discrepancies, 0 open bets)\n"),
        (
            {"ok": False, "violations": ["player p1: balance 5.00, ledger says 4.00"], "openBets": [{}]},
            1,
            "audit: FAILED (1 discrepancies, 1 open bets)\n  player p1: balance 5.00, ledger says 4.00\n",
        ),
        ({"ok": True}, 2, ""),  # not an audit: no verdict read into it, the URL is wrong
    ],
)
def test_audit_exits_1_on_a_discrepancy(answer, code, printed):
    """The audit's verdict as the command reads it: a sandbox's audit cannot be made to fail from outside (its
    state import checks the money), so a stand-in answers here."""
    with Answering(json.dumps(answer).encode()) as stand_in:
        result = run_cli("audit", "--sandbox", stand_in.url)
    assert (result.returncode, out(result)) == (code, printed), result.stderr
    assert stand_in.paths == ["/__admin/audit"]


class Answering:
    """An HTTP server on 127.0.0.1 that answers every request 200 with the same JSON body."""

    def __init__(self, body: bytes) -> None:
        import http.server

        paths = self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Answering":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_state_export_and_import_round_trip(url, tmp_path):
    saved = tmp_path / "state.json"
    exported = cli(url, "state", "export", str(saved))
    assert exported.returncode == 0 and f"to {saved}" in exported.stderr.decode()
    assert send(url, "pay-in", {"betId": "s-1", "betAmount": "10.00"})[1]["balance"] == 990
    imported = cli(url, "state", "import", str(saved))
    assert imported.returncode == 0, imported.stderr
    assert out(imported) == "imported: 7 players, 8 sessions, 0 bets, 0 transactions\n"
    assert out(cli(url, "balance", "session-eur")) == "1000.00 EUR\n"
    piped = cli(url, "state", "export", "-")
    assert json.loads(piped.stdout) == json.loads(saved.read_bytes())
    assert cli(url, "state", "import", "-", input=piped.stdout).returncode == 0
    saved.write_text('{"players": "many"}')
    unusable = cli(url, "state", "import", str(saved))
    assert unusable.returncode == 3 and f"the sandbox cannot use {saved}: " in unusable.stderr.decode()
    absent = cli(url, "state", "import", str(tmp_path / "absent.json"))
    assert absent.returncode == 3 and "cannot read" in absent.stderr.decode()  # as `serve --state` has it
    unwritable = cli(url, "state", "export", str(tmp_path / "no-such-dir" / "state.json"))
    assert unwritable.returncode == 3 and "cannot write" in unwritable.stderr.decode()


def test_requests_show_each_call_with_the_reason_of_a_failure(url, served):
    assert send(url, "pay-in", {"betId": "r-1", "betAmount": "1.00"})[0] == 200
    forged = signed_headers("wrong-secret", CP, "GET")
    assert send(url, "balance", headers=forged)[1]["_responseCode"] == 8
    assert send(url, "pay-in", {"betId": "r-2", "betAmount": "-1"})[0] == 400
    lines = out(cli(url, "requests")).splitlines()
    assert len(lines) == 3
    ok, refused, invalid = lines
    assert " POST /v1/sessions/session-eur/bets/pay-in session=session-eur bet=r-1 http=200 code=1 " in ok
    assert ok.endswith("ms")  # no reason on a plain success
    assert " GET /v1/sessions/session-eur/balance session=session-eur bet=- http=401 code=8 " in refused
    assert "X-Sign does not match" in refused.split("ms  ", 1)[1]
    assert " http=400 code=2 " in invalid and "betAmount must not be negative" in invalid.split("ms  ", 1)[1]
    assert out(cli(url, "requests", "--limit", "1")).splitlines() == [invalid]
    as_json = [json.loads(line) for line in out(cli(url, "requests", "--json")).splitlines()]
    assert [(entry["betId"], entry["status"], entry["code"]) for entry in as_json] == [
        ("r-1", 200, 1),
        (None, 401, 8),
        (None, 400, 2),
    ]
    assert "X-Sign does not match" in as_json[1]["reason"] and as_json[0]["reason"] is None
    # The sandbox's own log line of the forged call says why, too.
    logged = served.lines_until(lambda line: "balance session=session-eur" in line and "http=401" in line)
    assert "reason=X-Sign does not match" in logged


def test_unknown_paths_are_logged_with_the_valid_base_paths(url, served):
    wrong = urllib.request.Request(url + "/api/v1/sessions/session-eur/balance")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong, timeout=10)
    refused.value.close()
    assert refused.value.code == 404
    logged = served.lines_until(lambda line: "/api/v1/sessions/session-eur/balance" in line)
    assert " unknown session=- bet=- code=2 http=404 " in logged
    assert "wallet calls go under /v1 and /betongames-mediator-service/api/v1" in logged


class Follower:
    """`requests --follow` as a running process, its lines read as they come."""

    def __init__(self, url, *args):
        env = {**os.environ, "BETCORE_SANDBOX_URL": url, "BETCORE_SANDBOX_ADMIN_TOKEN": TOKEN}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "betcore_sandbox", "requests", "--follow", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode().rstrip("\n"))

    def wait_for(self, text, timeout=15.0):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.proc.poll() is None, self.proc.stderr.read().decode()
                continue
            seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {seen}")

    def stop(self, sig):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(10), self.proc.stderr.read().decode()
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_follow_prints_calls_made_after_it_started_and_ends_cleanly(url, sig):
    assert send(url, "pay-in", {"betId": "before", "betAmount": "1.00"})[0] == 200
    follower = Follower(url, "--limit", "5")
    try:
        assert "bet=before http=200" in follower.wait_for("bet=before")
        assert send(url, "pay-in", {"betId": "after", "betAmount": "1.00"})[0] == 200
        line = follower.wait_for("bet=after")
        assert " POST /v1/sessions/session-eur/bets/pay-in session=session-eur bet=after http=200 code=1 " in line
        forged = signed_headers("wrong-secret", CP, "GET")
        assert send(url, "balance", headers=forged)[0] == 401
        assert "X-Sign does not match" in follower.wait_for("http=401")  # the reason, live too
        assert follower.proc.poll() is None
    finally:
        code, err = follower.stop(sig)
    assert (code, err) == (0, "")


def test_follow_shows_a_held_call_when_the_hold_begins_and_again_when_it_ends(url):
    assert cli(url, "faults", "add", "--kind", "delay", "--delay", "400ms", "--endpoint", "pay-in").returncode == 0
    follower = Follower(url)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(send, url, "pay-in", {"betId": "held", "betAmount": "1.00"})
            held = follower.wait_for("bet=held")
            assert "held by fault fault-1 (delay, before)" in held and " no-answer " in held
            done = follower.wait_for("bet=held http=200")
            assert answer.result(timeout=10)[0] == 200
        assert " code=1 fault=delay/before " in done
    finally:
        assert follower.stop(signal.SIGINT)[0] == 0


def test_follow_as_json_lines(url):
    follower = Follower(url, "--json")
    try:
        assert send(url, "pay-in", {"betId": "j-1", "betAmount": "1.00"})[0] == 200
        entry = json.loads(follower.wait_for('"j-1"'))
        assert (entry["betId"], entry["status"], entry["code"], entry["reason"]) == ("j-1", 200, 1, None)
    finally:
        assert follower.stop(signal.SIGINT)[0] == 0


@pytest.mark.parametrize("command", [("requests",), ("requests", "--follow"), ("state", "export", "-")])
def test_requests_end_quietly_without_a_reader(url, command):
    for index in range(3):
        assert send(url, "balance")[0] == 200, index
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "betcore_sandbox", *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, "BETCORE_SANDBOX_URL": url, "BETCORE_SANDBOX_ADMIN_TOKEN": TOKEN},
            timeout=20,
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr.decode()) == (141, "")


@pytest.mark.parametrize(
    "args", [("reset",), ("audit",), ("balance", "x"), ("requests",), ("faults", "list"), ("state", "export", "-")]
)
def test_no_sandbox_is_one_line_and_exit_1(args):
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_cli(*args, "--sandbox", f"http://127.0.0.1:{port}/")
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr.decode() == (
        f"betcore-sandbox: error: cannot reach the sandbox at http://127.0.0.1:{port}: Connection refused\n"
    )


def test_the_admin_token_comes_from_the_environment(url):
    missing = run_cli("reset", "--sandbox", url, env={"BETCORE_SANDBOX_ADMIN_TOKEN": ""})
    assert missing.returncode == 2
    assert missing.stderr.decode() == (
        f"betcore-sandbox: error: the sandbox at {url} requires its admin token: BETCORE_SANDBOX_ADMIN_TOKEN is unset; "
        "set it to that token\n"
    )
    named = run_cli("reset", "--sandbox", url, "--token-env", "MY_TOKEN", env={"MY_TOKEN": TOKEN})
    assert named.returncode == 0, named.stderr
    port = url.rsplit(":", 1)[1]
    by_port = run_cli("audit", env={"BETCORE_SANDBOX_PORT": port, "BETCORE_SANDBOX_ADMIN_TOKEN": TOKEN})
    assert by_port.returncode == 0, by_port.stderr
