"""The Postman collection, run by newman against a sandbox process: every request green, and the wallet agrees."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ..conftest import CP, REPO, SECRET
from ..process import SandboxProcess
from .tools import NEWMAN, admin, admin_balance, require, run, tool_env

pytestmark = [pytest.mark.polyglot, pytest.mark.timeout(180)]

COLLECTION = REPO / "postman" / "betcore-sandbox.postman_collection.json"
REAL_BASE_PATH = "/betongames-mediator-service/api/v1"


def requests_in(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for item in items:
        found.extend(requests_in(item["item"]) if "item" in item else [item])
    return found


def newman(url: str, tmp_path: Path, *env_vars: str) -> tuple[int, dict[str, Any]]:
    require("node", "nodejs")
    require(str(NEWMAN), "npm, then: npm ci --prefix .ci/node")
    report = tmp_path / "report.json"
    command = [str(NEWMAN), "run", str(COLLECTION), "--env-var", f"baseUrl={url}", "--reporters", "json"]
    for env_var in env_vars:
        command += ["--env-var", env_var]
    result = run([*command, "--reporter-json-export", str(report)], tool_env(tmp_path))
    return result.returncode, json.loads(report.read_text())


def failures(report: dict[str, Any]) -> list[str]:
    return [
        f"{f['source']['name']}: {f['error'].get('test', f['at'])}: {f['error']['message']}"
        for f in report["run"]["failures"]
    ]


def test_the_collection_describes_every_provider_endpoint_and_the_main_admin_calls():
    collection = json.loads(COLLECTION.read_text())
    assert collection["info"]["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert (variables["counterpartyId"], variables["secret"]) == (CP, SECRET)
    routes = {(r["request"]["method"], r["request"]["url"]["raw"]) for r in requests_in(collection["item"])}
    for endpoint in ("bets/pay-in", "bets/pay-out", "bets/pay-in-out", "bets/refund"):
        assert ("POST", "{{baseUrl}}{{apiPath}}/sessions/{{sessionId}}/" + endpoint) in routes
    assert ("GET", "{{baseUrl}}{{apiPath}}/sessions/{{sessionId}}/balance") in routes
    for route in (("GET", "health"), ("POST", "reset"), ("GET", "sessions/{{sessionId}}"), ("POST", "faults")):
        assert (route[0], "{{baseUrl}}/__admin/" + route[1]) in routes
    assert ("DELETE", "{{baseUrl}}/__admin/faults") in routes and ("GET", "{{baseUrl}}/__admin/audit") in routes
    for request in requests_in(collection["item"]):
        tests = next(e for e in request["event"] if e["listen"] == "test")
        assert any("pm.test(" in line for line in tests["script"]["exec"]), request["name"]


@pytest.mark.parametrize("api_path", ["/v1", REAL_BASE_PATH])
def test_newman_runs_the_collection_green(sandbox_url, tmp_path, api_path):
    code, report = newman(sandbox_url, tmp_path, f"apiPath={api_path}")
    assert code == 0, failures(report)
    stats = report["run"]["stats"]
    expected = len(requests_in(json.loads(COLLECTION.read_text())["item"]))
    assert (stats["requests"]["total"], stats["requests"]["failed"]) == (expected, 0)
    assert stats["assertions"]["failed"] == 0 and stats["assertions"]["total"] >= 2 * expected
    assert stats["prerequestScripts"]["failed"] == 0 and stats["testScripts"]["failed"] == 0

    # The wallet, asked directly: what the run did to the demo session, and nothing left open.
    # 1000.00 - 2.50 + 5.00 (pay-in, pay-out) + 2.00 (pay-in-out) - 2.00 + 2.00 (pay-in, refund)
    assert admin_balance(sandbox_url) == Decimal("1004.50")
    assert admin(sandbox_url, "GET", "/audit") == {"ok": True, "violations": [], "openBets": []}
    journal = admin(sandbox_url, "GET", "/requests")
    endpoints = ["balance", "pay-in", "pay-out", "pay-in-out", "pay-in", "refund", "pay-in"]
    assert [e["endpoint"] for e in journal] == endpoints
    assert {e["signature"]["verdict"] for e in journal} == {"valid"}
    assert all(e["path"].startswith(api_path + "/") for e in journal)
    assert admin(sandbox_url, "GET", "/faults") == []


def test_newman_reports_the_failures_of_a_wrong_secret(sandbox_url, tmp_path):
    code, report = newman(sandbox_url, tmp_path, "secret=not-the-secret")
    assert code == 1
    refused = [f for f in failures(report) if "_responseCode is 1" in f]
    # the balance and the five signed bets are all code 8
    assert refused == [
        f"{name}: _responseCode is 1: expected 8 to deeply equal 1"
        for name in ("Balance", "Pay-in", "Pay-out", "Pay-in-out", "Pay-in (a bet to refund)", "Refund")
    ]
    assert admin_balance(sandbox_url) == Decimal("1000.00")


def test_newman_sends_the_admin_token_to_a_sandbox_that_requires_one(tmp_path):
    sandbox = SandboxProcess("--port", "0", "--admin-token", "postman-admin-token")
    try:
        url = sandbox.wait_listening()
        code, report = newman(url, tmp_path, "adminToken=postman-admin-token")
        assert code == 0, failures(report)
        code, report = newman(url, tmp_path)
        assert code == 1
        assert "Reset: status 200: expected response to have status code 200 but got 401" in failures(report)
    finally:
        sandbox.stop()
