"""The command line as a real process: serve, healthcheck, sign, configuration and shutdown."""

import json
import signal
import socket
import time
import urllib.request

import pytest

from .conftest import CP, SECRET
from .process import SandboxProcess, run_cli


def _get_json(url: str, headers: dict | None = None) -> dict:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serves_the_embedded_fixture_from_any_directory_and_stops_on_sigterm(tmp_path):
    sandbox = SandboxProcess("--port", "0", cwd=tmp_path)
    try:
        url = sandbox.wait_listening()
        sandbox.lines_until(lambda line: "sessions" in line)
        assert any(CP in line and SECRET in line for line in sandbox.lines)
        assert any("session-eur" in line for line in sandbox.lines)
        assert _get_json(f"{url}/__admin/health")["status"] == "healthy"
        assert run_cli("healthcheck", "--url", f"{url}/__admin/health").returncode == 0
        sign = run_cli("sign", "GET", "/v1/sessions/session-eur/balance", cwd=tmp_path)
        headers = dict(line.split(": ", 1) for line in sign.stdout.decode().splitlines()[:4])
        body = _get_json(f"{url}/v1/sessions/session-eur/balance", headers)
        assert body == {"_responseCode": 1, "balance": 1000.0, "currency": "EUR"}
        started = time.monotonic()
        assert sandbox.stop(signal.SIGTERM) == 0
        assert time.monotonic() - started < 5
    finally:
        sandbox.close()


def test_sigint_also_exits_zero(tmp_path):
    sandbox = SandboxProcess("serve", "--port", "0")
    try:
        sandbox.wait_listening()
        assert sandbox.stop(signal.SIGINT) == 0
    finally:
        sandbox.close()


def test_healthcheck_fails_when_nothing_answers():
    result = run_cli("healthcheck", "--url", f"http://127.0.0.1:{_free_port()}/__admin/health", "--timeout", "1")
    assert result.returncode == 1
    assert b"unhealthy" in result.stderr


def test_a_bad_fixture_stops_start_up_with_exit_2_and_one_line(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "counterparties": [{"id": "cp", "secret": "s"}],
                "players": [{"id": "p", "currency": "EUR", "balance": "1.001"}],
            }
        )
    )
    result = run_cli("--fixtures", str(broken), "--port", "0")
    assert result.returncode == 2
    err = result.stderr.decode().strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert str(broken) in err and "$.players[0].balance" in err
    missing = run_cli(env={"BETCORE_SANDBOX_FIXTURES": str(tmp_path / "nope.json"), "BETCORE_SANDBOX_PORT": "0"})
    assert missing.returncode == 2 and "nope.json" in missing.stderr.decode()


def test_flags_beat_environment(tmp_path):
    port = _free_port()
    sandbox = SandboxProcess(
        "--port", str(port), env={"BETCORE_SANDBOX_PORT": "1", "BETCORE_SANDBOX_LOG_FORMAT": "json"}
    )
    try:
        assert sandbox.wait_listening().endswith(f":{port}")
        assert json.loads(sandbox.lines[0])["message"] == "listening"
    finally:
        sandbox.stop()


def test_bad_configuration_is_a_clear_error():
    result = run_cli(env={"BETCORE_SANDBOX_PORT": "eighty"})
    assert result.returncode == 2
    assert "BETCORE_SANDBOX_PORT: must be an integer, got 'eighty'" in result.stderr.decode()


def test_json_logs_one_valid_line_per_request(tmp_path):
    sandbox = SandboxProcess("--port", "0", "--log-format", "json")
    try:
        url = sandbox.wait_listening()
        sign = run_cli(
            "sign", "POST", "/v1/sessions/session-eur/bets/pay-in", "--body", '{"betId":"log-1","betAmount":"2.50"}'
        )
        headers = dict(line.split(": ", 1) for line in sign.stdout.decode().splitlines()[:4])
        request = urllib.request.Request(
            f"{url}/v1/sessions/session-eur/bets/pay-in", data=b'{"betId":"log-1","betAmount":"2.50"}', headers=headers
        )
        urllib.request.urlopen(request, timeout=5).read()
        line = sandbox.lines_until(lambda text: "pay-in" in text)
        event = json.loads(line)
        assert event["endpoint"] == "pay-in" and event["sessionId"] == "session-eur" and event["betId"] == "log-1"
        assert (event["responseCode"], event["status"], event["fault"]) == (1, 200, None)
        assert isinstance(event["ms"], float)
        assert sandbox.stop() == 0
        for line in sandbox.lines:
            json.loads(line)
    finally:
        sandbox.close()


def test_text_log_line_per_request(tmp_path):
    sandbox = SandboxProcess("--port", "0")
    try:
        url = sandbox.wait_listening()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{url}/v1/sessions/session-eur/balance", timeout=5)
        line = sandbox.lines_until(lambda text: "balance session=" in text)
        assert "code=8 http=401" in line
    finally:
        sandbox.stop()


def test_sign_prints_headers_and_a_curl_line_matching_a_vector():
    result = run_cli(
        "sign",
        "POST",
        "/v1/sessions/sess-abc/bets/refund",
        "--body",
        '{"betId":"round\\/7\\/bet"}',
        "--timestamp",
        "1719766120806",
        "--request-id",
        "5a0679b6e5fa48f6892c777b0fa92392",
    )
    out = result.stdout.decode()
    assert "X-Sign: 7c6633fb15c4c25c69e855eb99786339bd26c5637cdcf4be87333775bf0a59fe" in out
    assert out.strip().splitlines()[-1].startswith("curl -sS -X POST http://127.0.0.1:8080/v1/sessions/sess-abc")


def test_sign_reads_a_body_from_stdin_and_needs_a_known_counterparty():
    result = run_cli("sign", "POST", "/v1/x", "--body-file", "-", input=b'{"betId":"b1"}', env={}, timeout=10)
    assert 'String-To-Sign: {"betId":"b1"}.' in result.stdout.decode()
    unknown = run_cli("sign", "GET", "/v1/x", "--counterparty-id", "acme")
    assert unknown.returncode == 2 and "pass --secret" in unknown.stderr.decode()


def test_port_in_use_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run_cli("--port", str(busy.getsockname()[1]))
    assert result.returncode == 1
    assert "cannot listen on 127.0.0.1" in result.stderr.decode()


def test_non_loopback_without_token_warns():
    sandbox = SandboxProcess("--host", "0.0.0.0", "--port", "0")
    try:
        sandbox.wait_listening()
        assert any("without an admin token" in line for line in sandbox.lines)
    finally:
        sandbox.stop()


def test_sigterm_lets_an_in_flight_request_finish():
    import threading

    sandbox = SandboxProcess("--port", "0")
    try:
        url = sandbox.wait_listening()
        fault = urllib.request.Request(
            f"{url}/__admin/faults", method="POST", data=b'{"endpoint": "balance", "kind": "delay", "delayMs": 1000}'
        )
        urllib.request.urlopen(fault, timeout=5).read()
        sign = run_cli("sign", "GET", "/v1/sessions/session-eur/balance")
        headers = dict(line.split(": ", 1) for line in sign.stdout.decode().splitlines()[:4])
        answers = []
        slow = threading.Thread(
            target=lambda: answers.append(_get_json(f"{url}/v1/sessions/session-eur/balance", headers))
        )
        slow.start()
        deadline = time.monotonic() + 5
        while _get_json(f"{url}/__admin/faults", {})[0]["fired"] == 0:  # until the delay holds the request
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert sandbox.stop(signal.SIGTERM) == 0
        slow.join(5)
        assert answers and answers[0]["_responseCode"] == 1
    finally:
        sandbox.close()
