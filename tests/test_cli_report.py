"""`betcore-sandbox scenario` and `betcore-sandbox report` as processes, against a sandbox process with an admin
token: the exit code says whether the provider conforms."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import xmlschema

from betcore_sandbox.signing import signed_headers

from .conftest import CP, SECRET
from .process import SandboxProcess, run_cli

TOKEN = {"BETCORE_SANDBOX_ADMIN_TOKEN": "ci-token"}
JUNIT_XSD = Path(__file__).parent / "data" / "junit.xsd"


def send(url: str, endpoint: str, body: bytes) -> int:
    request = urllib.request.Request(
        f"{url}/v1/sessions/session-eur/bets/{endpoint}", data=body, headers=signed_headers(SECRET, CP, "POST", body)
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(json.loads(response.read())["_responseCode"])
    except urllib.error.HTTPError as error:
        return int(json.loads(error.read())["_responseCode"])


def test_scenario_then_report_exits_1_until_the_lost_win_is_retried(tmp_path: Path) -> None:
    sandbox = SandboxProcess("--port", "0", env=TOKEN)
    try:
        url = sandbox.wait_listening()
        listed = run_cli("scenario", "--sandbox", url, env=TOKEN)
        assert listed.returncode == 0 and listed.stdout.decode().count("\n") == 8
        assert "pay-out-lost-answer: the next PayOut is applied" in listed.stdout.decode()

        applied = run_cli("scenario", "pay-out-lost-answer", "--session-id", "session-eur", "--sandbox", url, env=TOKEN)
        assert applied.returncode == 0, applied.stderr
        assert applied.stdout.decode() == "applied pay-out-lost-answer: faults fault-1\n"

        assert send(url, "pay-in", b'{"betId":"b-1","betAmount":"1.00"}') == 1
        pay_out = b'{"betId":"b-1","winAmount":"5.00"}'
        assert send(url, "pay-out", pay_out) == 99  # applied, answer lost: the provider has not retried yet

        junit = tmp_path / "conformance.xml"
        failed = run_cli("report", "--format", "junit", "--output", str(junit), "--sandbox", url, env=TOKEN)
        assert failed.returncode == 1, failed.stderr
        assert failed.stdout == b""
        assert "conformance: FAILED (1 failed" in failed.stderr.decode()
        assert "pay-out-acknowledged" in failed.stderr.decode()
        xmlschema.XMLSchema(str(JUNIT_XSD)).validate(junit.read_text())
        assert '<testcase name="pay-out-acknowledged" classname="betcore_sandbox.checks" time="0">' in junit.read_text()

        assert send(url, "pay-out", pay_out) == 1  # the retry: the original transaction, no second credit
        port = url.rsplit(":", 1)[1]
        passed = run_cli("report", env={**TOKEN, "BETCORE_SANDBOX_PORT": port})  # found on the configured port
        assert passed.returncode == 0, passed.stderr
        report = json.loads(passed.stdout)
        assert report["passed"] is True and report["scenarios"][0]["status"] == "pass"

        page = run_cli("report", "--format", "html", "--sandbox", url, "--admin-token", "ci-token")
        assert page.returncode == 0 and page.stdout.startswith(b"<!DOCTYPE html>")

        refused = run_cli("report", "--sandbox", url, env={"BETCORE_SANDBOX_ADMIN_TOKEN": ""})
        assert refused.returncode == 2
        assert "requires its admin token: BETCORE_SANDBOX_ADMIN_TOKEN is unset" in refused.stderr.decode()
        unknown = run_cli("scenario", "no-such", "--sandbox", url, env=TOKEN)
        assert unknown.returncode == 2 and "HTTP 404: no scenario 'no-such'" in unknown.stderr.decode()
    finally:
        sandbox.stop()


def test_report_says_when_no_sandbox_answers() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_cli("report", "--sandbox", f"http://127.0.0.1:{port}")
    assert result.returncode == 1 and "cannot reach the sandbox at http://127.0.0.1:" in result.stderr.decode()


class Impostor:
    """An HTTP server on 127.0.0.1 that answers every request 200 with the same body, and notes the paths asked."""

    def __init__(self, body: bytes) -> None:
        import http.server
        import threading

        paths = self.paths = []  # type: list[str]

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self) -> None:
                paths.append(self.path)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Impostor:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("body", [b"<html>hello</html>", b"[1, 2]", b'{"passed": true}', b"null"])
def test_a_sandbox_url_that_is_no_sandbox_is_a_one_line_error(body: bytes) -> None:
    with Impostor(body) as impostor:
        for args in (("report",), ("report", "--format", "junit"), ("scenario",), ("scenario", "chaos")):
            result = run_cli(*args, "--sandbox", impostor.url)
            assert result.returncode == 2, (args, result.stderr)
            (line,) = result.stderr.decode().splitlines()
            assert line.startswith(f"betcore-sandbox: error: {impostor.url} is not a betcore-sandbox"), line


def test_a_report_whose_inner_shape_is_wrong_is_a_one_line_error() -> None:
    shaped = json.dumps({"passed": True, "summary": {}, "checks": [{}], "scenarios": [], "bets": []}).encode()
    with Impostor(shaped) as impostor:
        result = run_cli("report", "--sandbox", impostor.url)
    assert result.returncode == 2 and "its report is not a conformance report" in result.stderr.decode()


def test_a_scenario_name_is_sent_as_one_path_segment() -> None:
    with Impostor(b'{"name": "x", "faultIds": ["fault-1"]}') as impostor:
        result = run_cli("scenario", "a b/../report?x", "--sandbox", impostor.url)
        assert result.returncode == 0, result.stderr
        assert impostor.paths == ["/__admin/scenarios/a%20b%2F..%2Freport%3Fx"]
    spaced = run_cli("report", "--sandbox", "http://127.0.0.1:1/a b")
    assert spaced.returncode == 2 and len(spaced.stderr.decode().splitlines()) == 1


def test_a_sandbox_url_that_does_not_speak_http_is_a_one_line_error() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        import threading

        def garbage() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

        thread = threading.Thread(target=garbage, daemon=True)
        thread.start()
        result = run_cli("report", "--sandbox", f"http://127.0.0.1:{port}")
        thread.join(5)
    assert result.returncode == 2 and len(result.stderr.decode().splitlines()) == 1, result.stderr


def test_the_report_line_names_a_scenario_whose_faults_never_fired() -> None:
    sandbox = SandboxProcess("--port", "0", env=TOKEN)
    try:
        url = sandbox.wait_listening()
        applied = run_cli("scenario", "pay-in-500-twice", "--player-id", "player-eur", "--sandbox", url, env=TOKEN)
        assert applied.returncode == 0, applied.stderr
        idle = run_cli("report", "--grace-seconds", "0", "--sandbox", url, env=TOKEN)
        assert "not exercised (its faults never fired): pay-in-500-twice" in idle.stderr.decode()
        assert send(url, "pay-in", b'{"betId":"b-9","betAmount":"1.00"}') == 99  # the scenario fires now
        hit = run_cli("report", "--grace-seconds", "0", "--sandbox", url, env=TOKEN)
        assert "not exercised" not in hit.stderr.decode()
    finally:
        sandbox.stop()
