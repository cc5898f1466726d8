"""`betcore-sandbox scenario` and `betcore-sandbox report` as processes, against a sandbox process with an admin
token: the exit code says whether the provider conforms."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

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
        assert "HTTP 401: admin token required" in refused.stderr.decode()
        unknown = run_cli("scenario", "no-such", "--sandbox", url, env=TOKEN)
        assert unknown.returncode == 2 and "HTTP 404: no scenario 'no-such'" in unknown.stderr.decode()
    finally:
        sandbox.stop()


def test_report_says_when_no_sandbox_answers() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_cli("report", "--sandbox", f"http://127.0.0.1:{port}")
    assert result.returncode == 2 and "no sandbox answered" in result.stderr.decode()
