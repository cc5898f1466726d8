"""The command line's rough edges: one base URL for every command, `sign` refusing what would sign nonsense, and
the request line's format (unit tests of request_lines.request_line; the journal's `reason` through HTTP)."""

import json
import socket
import urllib.error
import urllib.request

import pytest

from betcore_sandbox.request_lines import request_line, summary

from .process import listening, run_cli


@pytest.fixture(scope="module")
def served():
    with listening("--port", "0", "--log-format", "json") as sandbox:
        yield sandbox


@pytest.fixture
def url(served):
    return served.url


def test_json_log_lines_carry_the_reason_and_unknown_paths(served):
    for path in ("/v1/sessions/session-eur/balance", "/v2/sessions/session-eur/balance"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(served.url + path, timeout=5)
        refused.value.close()
    refused = json.loads(served.lines_until(lambda line: '"endpoint":"balance"' in line))
    assert (refused["status"], refused["responseCode"]) == (401, 8)
    assert refused["reason"] == "missing header X-Counterparty-Id"
    unknown = json.loads(served.lines_until(lambda line: '"endpoint":"unknown"' in line))
    assert unknown["status"] == 404 and unknown["reason"].startswith("no endpoint GET /v2/sessions/session-eur/balance")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "suffix", ["", "/", "/__admin/health", "/__admin/health/", "/v1", "/betongames-mediator-service/api/v1/"]
)
def test_healthcheck_takes_the_base_url_the_provider_api_url_and_still_the_full_health_url(url, suffix):
    result = run_cli("healthcheck", "--url", url + suffix)
    assert (result.returncode, result.stdout.decode()) == (0, f"healthy: {url}/__admin/health\n")


def test_healthcheck_follows_the_environment(url):
    by_url = run_cli("healthcheck", env={"BETCORE_SANDBOX_URL": url + "/"})
    assert by_url.returncode == 0, by_url.stderr
    by_port = run_cli("healthcheck", env={"BETCORE_SANDBOX_PORT": url.rsplit(":", 1)[1]})
    assert by_port.returncode == 0, by_port.stderr
    nobody = run_cli("healthcheck", "--sandbox", f"http://127.0.0.1:{_closed_port()}", "--timeout", "2")
    assert nobody.returncode == 1 and nobody.stderr.decode().startswith("unhealthy: http://127.0.0.1:")
    # A URL that is none of the sandbox's is a usage error (exit 2) naming the flag as it was typed.
    for flag in ("--url", "--sandbox"):
        wrong = run_cli("healthcheck", flag, "http://127.0.0.1:1/v2")
        assert (wrong.returncode, wrong.stdout) == (2, b"")
        assert wrong.stderr.decode().startswith(f"betcore-sandbox: error: {flag} must be the sandbox's URL"), flag
    by_env = run_cli("healthcheck", env={"BETCORE_SANDBOX_URL": "http://127.0.0.1:1/v2"})
    assert by_env.returncode == 2 and by_env.stderr.decode().startswith("betcore-sandbox: error: BETCORE_SANDBOX_URL")


def _curl(result) -> str:
    return result.stdout.decode().strip().splitlines()[-1]


def test_sign_takes_the_base_url_from_the_flag_or_the_environment():
    flagged = run_cli("sign", "GET", "/v1/sessions/s/balance", "--url", "http://127.0.0.1:9999/")
    assert " http://127.0.0.1:9999/v1/sessions/s/balance " in _curl(flagged) + " "
    env = run_cli("sign", "GET", "/v1/sessions/s/balance", env={"BETCORE_SANDBOX_URL": "http://127.0.0.1:7777"})
    assert " http://127.0.0.1:7777/v1/sessions/s/balance " in _curl(env) + " "
    # The provider API URL the banner prints is taken as the sandbox's: /v1 is not doubled.
    banner = run_cli("sign", "GET", "/v1/sessions/s/balance", "--url", "http://127.0.0.1:9999/v1")
    assert " http://127.0.0.1:9999/v1/sessions/s/balance " in _curl(banner) + " "
    for flag in ("--url", "--sandbox"):
        wrong = run_cli("sign", "GET", "/v1/sessions/s/balance", flag, "http://127.0.0.1:9999/api")
        assert wrong.returncode == 2 and f"error: {flag} must be the sandbox's URL" in wrong.stderr.decode(), flag


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("GET", "v1/sessions/s/balance"), "PATH must start with /, e.g. /v1/sessions/session-eur/balance"),
        (("POST", "/v1/sessions/s/bets/pay-in"), "POST needs the exact body it sends: give --body JSON"),
        (("GET", "/v1/sessions/s/balance", "--body", "{}"), "GET has no body"),
        (("GET", "/v1/sessions/s/balance", "--body-file", "-"), "GET has no body"),
    ],
)
def test_sign_refuses_what_would_sign_nonsense(args, error):
    result = run_cli("sign", *args)
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode().startswith(f"betcore-sandbox: error: {error}")


def test_sign_takes_a_full_url_apart_and_says_so():
    result = run_cli("sign", "POST", "http://127.0.0.1:5555/v1/sessions/s/bets/pay-in", "--body", '{"betId":"u"}')
    assert result.returncode == 0
    assert result.stderr.decode() == (
        "note: PATH is a full URL: signing for its path /v1/sessions/s/bets/pay-in, "
        "the curl line goes to http://127.0.0.1:5555\n"
    )
    assert "-X POST http://127.0.0.1:5555/v1/sessions/s/bets/pay-in " in _curl(result)
    # The signature is the one for the path alone: the same as signing the path with the same inputs.
    fixed = ("--timestamp", "1719766120806", "--request-id", "r1")
    whole = run_cli("sign", "GET", "http://127.0.0.1:5555/v1/sessions/s/balance", *fixed)
    path = run_cli("sign", "GET", "/v1/sessions/s/balance", *fixed)
    assert whole.stdout.decode().splitlines()[:5] == path.stdout.decode().splitlines()[:5]


VIEW = {
    "id": 3,
    "time": "2026-11-25T14:30:01.123Z",
    "method": "GET",
    "path": "/v1/sessions/session-eur/balance",
    "endpoint": "balance",
    "sessionId": "session-eur",
    "betId": None,
    "counterpartyId": None,
    "headers": [["X-Sign", "00"]],
    "body": "",
    "signature": {"verdict": "invalid", "error": "X-Sign does not match: the string to sign was ..."},
    "unknownFields": [],
    "warnings": [],
    "response": {"status": 401, "body": '{"_responseCode":8,"message":"X-Sign does not match: ..."}'},
    "fault": None,
    "durationMs": 0.25,
    "error": None,
    "direction": "incoming",
    "reason": "X-Sign does not match: the string to sign was ...",
}


def test_a_failed_call_reads_as_one_line_with_its_reason():
    assert request_line(VIEW) == (
        "14:30:01.123 GET /v1/sessions/session-eur/balance session=session-eur bet=- http=401 code=8 0.2ms"
        "  X-Sign does not match: the string to sign was ..."
    )


def test_a_success_has_no_reason_and_a_fault_is_named():
    view = {
        **VIEW,
        "method": "POST",
        "path": "/v1/sessions/session-eur/bets/pay-out",
        "betId": "b-1",
        "signature": {"verdict": "valid"},
        "response": {"status": 500, "body": '{"_responseCode":99,"message":"injected fault fault-1 (http_error)"}'},
        "fault": {"id": "fault-1", "kind": "http_error", "phase": "after"},
        "durationMs": 3,
        "reason": "injected fault fault-1 (http_error)",
    }
    assert request_line(view).endswith(
        "bet=b-1 http=500 code=99 fault=http_error/after 3.0ms  injected fault fault-1 (http_error)"
    )
    ok = {**view, "fault": None, "response": {"status": 200, "body": '{"_responseCode":1,"balance":1}'}, "reason": None}
    assert request_line(ok).endswith("http=200 code=1 3.0ms")


def test_no_answer_a_malformed_body_and_an_internal_failure():
    dropped = {**VIEW, "signature": {"verdict": "valid"}, "response": None, "fault": {"kind": "timeout"}}
    assert " no-answer code=- fault=timeout/None 0.2ms" in request_line(dropped)
    malformed = {
        **VIEW,
        "signature": {"verdict": "valid"},
        "response": {"status": 200, "body": '{"_respo'},
        "reason": None,
    }
    assert request_line(malformed).endswith("http=200 code=- 0.2ms")


def test_what_a_client_sent_cannot_break_the_line():
    hostile = {**VIEW, "path": "/v1/x\n2026 forged line\x1b[31m", "betId": "a\u2028b"}
    line = request_line(hostile)
    assert "\n" not in line and "\x1b" not in line and "\u2028" not in line
    assert "/v1/x\\n2026 forged line\\x1b[31m" in line and "a\\u2028b" in line


def test_a_view_and_an_event_summary_read_the_same():
    event = summary(VIEW)
    assert "headers" not in event and (event["status"], event["code"], event["signature"]) == (401, 8, "invalid")
    assert summary(event) == event
    assert request_line(event) == request_line(VIEW)
    assert json.loads(json.dumps(event)) == event


def test_the_journal_says_why_each_call_ended_as_it_did(url):
    """One rule on the server for every reader: the journal view, the event feed, the CLI line, the pytest report."""
    urllib.request.urlopen(urllib.request.Request(url + "/__admin/reset", method="POST"), timeout=5).close()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "/v1/sessions/session-eur/balance", timeout=5)
    refused.value.close()
    signed = run_cli("sign", "GET", "/v1/sessions/session-eur/balance", "--url", url)
    curl = signed.stdout.decode().splitlines()[-1]
    headers = dict(h.split(": ", 1) for h in signed.stdout.decode().splitlines() if h.startswith("X-"))
    with urllib.request.urlopen(
        urllib.request.Request(url + "/v1/sessions/session-eur/balance", headers=headers), timeout=5
    ) as answer:
        assert json.loads(answer.read())["_responseCode"] == 1, curl
    with urllib.request.urlopen(url + "/__admin/requests", timeout=5) as listed:
        entries = json.loads(listed.read())
    assert [entry["reason"] for entry in entries] == ["missing header X-Counterparty-Id", None]
    with urllib.request.urlopen(
        urllib.request.Request(
            url + "/__admin/faults", data=b'{"endpoint": "balance", "kind": "empty_response"}', method="POST"
        ),
        timeout=5,
    ):
        pass
    again = run_cli("sign", "GET", "/v1/sessions/session-eur/balance", "--url", url).stdout.decode().splitlines()
    headers = dict(h.split(": ", 1) for h in again if h.startswith("X-"))
    with pytest.raises(OSError):
        urllib.request.urlopen(
            urllib.request.Request(url + "/v1/sessions/session-eur/balance", headers=headers), timeout=5
        )
    with urllib.request.urlopen(url + "/__admin/requests?limit=1", timeout=5) as listed:
        [dropped] = json.loads(listed.read())
    assert dropped["reason"] == "injected fault fault-1 (empty_response, before)"  # no answer says it: the journal does


def test_the_servers_event_summary_is_the_summary_of_its_journal_view(url):
    """`requests --follow` prints events, `requests` prints views: both must read as the same line."""
    urllib.request.urlopen(urllib.request.Request(url + "/__admin/reset", method="POST"), timeout=5).close()
    with urllib.request.urlopen(url + "/__admin/events", timeout=10) as stream:
        while stream.readline() != b"event: hello\n":
            pass  # connected: what happens from now on is announced
        signed = run_cli("sign", "GET", "/v1/sessions/session-eur/balance", "--url", url).stdout.decode()
        headers = dict(h.split(": ", 1) for h in signed.splitlines() if h.startswith("X-"))
        with urllib.request.urlopen(
            urllib.request.Request(url + "/v1/sessions/session-eur/balance", headers=headers), timeout=5
        ):
            pass
        while not (line := stream.readline()).startswith(b'data: {"id"'):
            pass
    event = json.loads(line[len(b"data: ") :])
    with urllib.request.urlopen(f"{url}/__admin/requests/{event['id']}", timeout=5) as answer:
        view = json.loads(answer.read())
    assert summary(view) == event
    assert request_line(view) == request_line(event)
