"""Fault rules in the fixture file: a sandbox that starts armed, is armed again by every reset, and refuses a bad
rule before anything starts."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from betcore_sandbox import Sandbox
from betcore_sandbox.errors import AdminInputError
from betcore_sandbox.signing import signed_headers

from .conftest import REPO
from .process import SandboxProcess, run_cli

ARMED = {
    "counterparties": [{"id": "cp", "secret": "s3cret"}],
    "players": [{"id": "p", "currency": "EUR", "balance": "100.00"}],
    "sessions": [{"id": "s", "playerId": "p"}],
    "faults": [{"kind": "http_error", "endpoint": "pay-in", "status": 503}],
}


def _send(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    raw = b"" if body is None else json.dumps(body).encode()
    headers = {**signed_headers("s3cret", "cp", method, raw), "Content-Type": "application/json"}
    request = urllib.request.Request(url + path, data=raw or None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _admin(url: str, method: str, path: str) -> Any:
    request = urllib.request.Request(f"{url}/__admin{path}", method=method, data=b"" if method != "GET" else None)
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def _pay_in(url: str, bet_id: str) -> tuple[int, dict[str, Any]]:
    return _send(url, "POST", "/v1/sessions/s/bets/pay-in", {"betId": bet_id, "betAmount": "1.00"})


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["--fixtures", "BETCORE_SANDBOX_FIXTURES"])
def test_a_process_started_with_a_fixture_fault_is_armed_and_every_reset_arms_it_again(tmp_path, how):
    path = tmp_path / "armed.json"
    path.write_text(json.dumps(ARMED))
    if how == "--fixtures":
        sandbox = SandboxProcess("--port", "0", "--fixtures", str(path))
    else:
        sandbox = SandboxProcess("--port", "0", env={"BETCORE_SANDBOX_FIXTURES": str(path)})
    try:
        url = sandbox.wait_listening()
        [rule] = _admin(url, "GET", "/faults")
        assert (rule["kind"], rule["status"], rule["state"]) == ("http_error", 503, "active")
        assert _pay_in(url, "first")[0] == 503  # the very first pay-in gets the fault
        assert _pay_in(url, "second")[0] == 200
        assert [f["state"] for f in _admin(url, "GET", "/faults")] == ["used-up"]

        _admin(url, "POST", "/reset")  # armed again
        assert [(f["id"], f["state"], f["fired"]) for f in _admin(url, "GET", "/faults")] == [("fault-1", "active", 0)]
        assert _pay_in(url, "first")[0] == 503

        _admin(url, "POST", "/reset")
        _admin(url, "DELETE", "/faults")  # cleared: gone until the next reset
        assert _admin(url, "GET", "/faults") == []
        assert _pay_in(url, "first")[0] == 200
    finally:
        sandbox.stop()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("rule", "where"),
    [
        ({"kind": "http_eror"}, "$.faults[0].kind: must be one of http_error,"),
        ({"kind": "delay"}, "$.faults[0].delayMs: is required"),
        ({"kind": "http_error", "status": 200}, "$.faults[0].status: must be an integer from 400 to 599"),
        ({"kind": "timeout", "probability": 1.5}, "$.faults[0].probability: must be from 0 to 1"),
        ({"kind": "delay", "delayMs": 5, "colour": "red"}, "$.faults[0].colour: unknown field"),
    ],
)
def test_an_invalid_fixture_rule_stops_start_up_with_its_path(tmp_path, rule, where):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**ARMED, "faults": [rule]}))
    result = run_cli("--fixtures", str(path), "--port", "0")
    err = result.stderr.decode().strip()
    assert result.returncode == 2 and err.count("\n") == 0 and "Traceback" not in err, err
    assert str(path) in err and where in err, err
    assert "listening" not in err and not result.stdout


def test_the_python_api_starts_armed_and_lists_each_rule_with_its_own_fields():
    fixture = {
        **ARMED,
        "faults": [
            {"kind": "delay", "endpoint": "balance", "delayMs": 1, "times": None},
            {"kind": "response_code", "endpoint": "refund", "responseCode": 7},
            {"kind": "timeout", "endpoint": "pay-out", "delayMs": 50},
            {"kind": "connection_reset", "endpoint": "pay-in-out"},
        ],
        "scenarios": [{"name": "pay-in-500-twice", "sessionId": "s"}],
    }
    with Sandbox(fixtures=fixture) as sandbox:
        rules = sandbox.faults()
        # The fixture's own rules first, then its scenarios'.
        assert [r.kind for r in rules[:4]] == ["delay", "response_code", "timeout", "connection_reset"]
        assert len(rules) > 4
        assert (rules[0].delay_ms, rules[0].status) == (1, None)
        assert (rules[1].response_code, rules[1].status, rules[1].delay_ms) == (7, None, None)
        assert all(r.state == "active" for r in rules)
        sandbox.clear_faults()
        sandbox.reset()
        assert [r.kind for r in sandbox.faults()[:4]] == ["delay", "response_code", "timeout", "connection_reset"]


def test_an_imported_state_with_faults_arms_them_as_a_fixture_would():
    with Sandbox(fixtures=ARMED) as sandbox:
        sandbox.clear_faults()
        exported = sandbox.export_state()
        assert "faults" not in exported  # an export is the wallet's state; rules are what a test arranges
        sandbox.import_state({**exported, "faults": [{"kind": "http_error", "endpoint": "balance", "status": 502}]})
        [rule] = sandbox.faults()
        assert (rule.endpoint, rule.status) == ("balance", 502)
        with pytest.raises(AdminInputError, match=r"\$\.faults\[0\]\.kind"):
            sandbox.import_state({**exported, "faults": [{"kind": "nothing"}]})
        assert len(sandbox.faults()) == 1  # a refused import changes nothing
        sandbox.import_state({**exported, "faults": [{"kind": "http_error", "endpoint": "balance", "status": 502}]})
        [replaced] = sandbox.faults()  # replaced, not added to: a second import
        assert (replaced.endpoint, replaced.status) == ("balance", 502)
        sandbox.import_state(exported)
        assert [r.id for r in sandbox.faults()] == [replaced.id]  # an import without rules leaves them be


def test_the_fixture_schema_describes_faults():
    schema = json.loads((REPO / "schemas" / "fixture.schema.json").read_text())
    root = schema["$defs"]["FixtureIn"]["properties"]
    kinds = {ref["$ref"].rsplit("/", 1)[1] for ref in root["faults"]["items"]["anyOf"]}
    assert {"HttpErrorFault", "DelayFault", "TimeoutFault", "MalformedBodyFault"} <= kinds


def _too_many_rules() -> dict[str, Any]:
    """A fixture every type accepts whose faults and scenario together arm one rule more than fit at once."""
    many = [{"kind": "delay", "endpoint": "balance", "delayMs": 1}] * 10_000
    return {**ARMED, "faults": many, "scenarios": [{"name": "pay-in-500-twice", "sessionId": "s"}]}


@pytest.mark.timeout(60)
def test_a_fixture_arming_more_rules_than_fit_stops_start_up_in_one_line(tmp_path):
    path = tmp_path / "crowded.json"
    path.write_text(json.dumps(_too_many_rules()))
    result = run_cli("--fixtures", str(path), "--port", "0")
    err = result.stderr.decode().strip()
    assert result.returncode == 2 and err.count("\n") == 0 and "Traceback" not in err, err
    assert str(path) in err and "$.scenarios[0]: too many fault rules" in err, err


@pytest.mark.timeout(60)
def test_a_refused_state_import_with_too_many_rules_leaves_rules_and_settings_as_they_were(tmp_path):
    path = tmp_path / "armed.json"
    path.write_text(json.dumps(ARMED))
    sandbox = SandboxProcess("--port", "0", "--fixtures", str(path))
    try:
        url = sandbox.wait_listening()
        saved = tmp_path / "state.json"
        assert run_cli("state", "export", str(saved), "--sandbox", url).returncode == 0
        exported = json.loads(saved.read_bytes())
        settings_before, rules_before = _admin(url, "GET", "/settings"), _admin(url, "GET", "/faults")
        crowded = {**exported, **_too_many_rules(), "settings": {**exported["settings"], "journalLimit": 7}}
        saved.write_text(json.dumps(crowded))
        refused = run_cli("state", "import", str(saved), "--sandbox", url)
        assert refused.returncode == 3 and "too many fault rules" in refused.stderr.decode(), refused.stderr
        assert _admin(url, "GET", "/settings") == settings_before
        assert _admin(url, "GET", "/faults") == rules_before
        assert _pay_in(url, "still-armed")[0] == 503  # the fixture's rule still fires
    finally:
        sandbox.stop()
