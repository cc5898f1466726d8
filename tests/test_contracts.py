"""The machine-readable contracts: the OpenAPI documents and the fixture JSON Schema are valid, served as committed,
and honest: real answers of a running sandbox validate against the documents' schemas, and every fixture in the
repository and a state export validate against the fixture schema."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from betcore_sandbox import contracts
from betcore_sandbox.fixtures import load_fixture
from betcore_sandbox.limits import MAX_ADMIN_BODY
from betcore_sandbox.web.app import create_app

from .conftest import Admin, Provider

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "python -m betcore_sandbox schema all --write ."


def committed(name: str) -> dict[str, Any]:
    return json.loads((ROOT / name).read_text(encoding="utf-8"))


def answer_schema(document: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """The schema a document gives an answer, with the document's components to resolve its references."""
    response = document["paths"][path][method.lower()]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def check(document: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    jsonschema.Draft202012Validator(answer_schema(document, path, method, status)).validate(body)


@pytest.mark.parametrize("name", list(contracts.FILES))
def test_committed_copies_are_current(name):
    assert committed(name) == contracts.FILES[name](), f"{name} is out of date: run {REGENERATE}"


@pytest.mark.parametrize("name", ["openapi/provider.json", "openapi/admin.json"])
def test_documents_are_valid_openapi(name):
    document = committed(name)
    assert document["openapi"].startswith("3.1")
    validate(document)


async def test_served_documents_equal_the_committed_ones(http):
    response = await http.get("/openapi.json")
    assert response.status == 200 and response.content_type == "application/json"
    assert await response.json() == committed("openapi/provider.json")
    response = await http.get("/__admin/openapi.json")
    assert response.status == 200
    assert await response.json() == committed("openapi/admin.json")


async def test_documents_need_no_admin_token(aiohttp_client, state):
    client = await aiohttp_client(create_app(state, admin_token="t0ken"))
    assert (await client.get("/__admin/openapi.json")).status == 200
    assert (await client.get("/openapi.json")).status == 200
    assert (await client.get("/__admin/players")).status == 401  # the rest stays guarded


def test_cli_prints_and_writes_the_documents(tmp_path):
    run = [sys.executable, "-m", "betcore_sandbox", "schema"]
    printed = subprocess.run([*run, "fixture"], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(printed.stdout) == committed("schemas/fixture.schema.json")
    printed = subprocess.run([*run, "admin"], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(printed.stdout) == committed("openapi/admin.json")
    subprocess.run([*run, "all", "--write", str(tmp_path)], capture_output=True, check=True, timeout=60)
    for name in contracts.FILES:
        assert (tmp_path / name).read_text(encoding="utf-8") == (ROOT / name).read_text(encoding="utf-8")
    refused = subprocess.run([*run, "all"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--write" in refused.stderr


def test_provider_document_names_the_headers_paths_and_codes():
    document = committed("openapi/provider.json")
    schemes = document["components"]["securitySchemes"]
    assert sorted(s["name"] for s in schemes.values()) == ["X-Counterparty-Id", "X-Request-Id", "X-Sign", "X-Timestamp"]
    assert all(s["type"] == "apiKey" and s["in"] == "header" for s in schemes.values())
    assert "HMAC-SHA256" in schemes["sign"]["description"]
    for prefix in ("/v1", "/betongames-mediator-service/api/v1"):
        assert f"{prefix}/sessions/{{sessionId}}/bets/pay-in" in document["paths"]
        assert "get" in document["paths"][f"{prefix}/sessions/{{sessionId}}/balance"]
    assert "| `already_processed` | 104 | 200 |" in document["info"]["description"]


async def test_provider_answers_validate_against_the_document(provider: Provider):
    document = committed("openapi/provider.json")
    bets = "/v1/sessions/{sessionId}/bets/"
    status, body = await provider.send("balance", "session-eur")
    check(document, "/v1/sessions/{sessionId}/balance", "GET", status, _plain(body))
    for endpoint, sent in [
        ("pay-in", {"betId": "c-1", "betAmount": "2.50", "gameRoundId": "r-1"}),
        ("pay-in", {"betId": "c-1", "betAmount": "2.50", "gameRoundId": "r-1"}),  # 104
        ("pay-out", {"betId": "c-1", "winAmount": "5", "winOdd": 2}),
        ("pay-in-out", {"betId": "c-2", "betAmount": 1, "winAmount": 0}),
        ("refund", {"betId": "never"}),  # code 5
        ("pay-in", {"betId": "c-3", "betAmount": "1000000"}),  # code 4
        ("pay-in", {"betId": "c-4", "betAmount": "-1"}),  # HTTP 400
    ]:
        status, body = await provider.send(endpoint, "session-eur", sent)
        check(document, bets + endpoint, "POST", status, _plain(body))
    status, body = await provider.send("balance", "session-gone")
    assert body["_responseCode"] == 3
    check(document, "/v1/sessions/{sessionId}/balance", "GET", status, _plain(body))
    status, body = await provider.send("balance", "session-eur", headers={"X-Sign": "0" * 64})
    assert status == 401 and "_debug" in body
    check(document, "/v1/sessions/{sessionId}/balance", "GET", status, _plain(body))
    with pytest.raises(jsonschema.ValidationError):  # the check can fail: an answer the document does not describe
        check(document, "/v1/sessions/{sessionId}/balance", "GET", 200, {"_responseCode": 1, "balance": "1.00"})


async def test_admin_answers_validate_against_the_document(admin: Admin, provider: Provider):
    document = committed("openapi/admin.json")
    await provider.pay_in("session-eur", "a-1", "3.00", gameRoundId="r")
    await provider.pay_out("session-eur", "a-1", "1.00")
    await provider.pay_in("session-eur", "a-2", "1.00")
    assert (await provider.http.get("/api/v1/sessions/session-eur/balance")).status == 404  # endpoint unknown
    assert (await provider.http.get("/v1/sessions/session-eur/bets/pay-in")).status == 405
    calls: list[tuple[str, str, str, Any]] = [
        ("GET", "/health", "/health", None),
        ("GET", "/players", "/players", None),
        ("POST", "/players", "/players", {"id": "p-new", "currency": "EUR", "balance": "5"}),
        ("GET", "/players/{id}", "/players/p-new", None),
        ("PATCH", "/players/{id}", "/players/p-new", {"balance": "7.25"}),
        ("GET", "/players/{id}", "/players/nobody", None),
        ("GET", "/sessions", "/sessions", None),
        ("POST", "/sessions", "/sessions", {"id": "s-new", "currency": "USD", "balance": "10", "ttlSeconds": 60}),
        ("PATCH", "/sessions/{id}", "/sessions/s-new", {"minBet": "0.10", "maxBet": 5}),
        ("GET", "/sessions/{id}", "/sessions/session-expired", None),
        ("GET", "/bets", "/bets", None),
        ("GET", "/bets/{id}", "/bets/a-1", None),
        ("GET", "/transactions", "/transactions", None),
        ("GET", "/requests", "/requests", None),
        ("GET", "/requests/{id}", "/requests/1", None),
        ("GET", "/audit", "/audit", None),
        ("GET", "/clock", "/clock", None),
        ("POST", "/clock", "/clock", {"advanceMs": 1000}),
        ("POST", "/clock", "/clock", {"advanceMs": -1}),
        ("GET", "/state", "/state", None),
        ("PATCH", "/settings", "/settings", {"journalLimit": 0}),
        ("POST", "/faults", "/faults", {"kind": "delay"}),
        ("POST", "/reset", "/reset", None),
    ]
    statuses = set()
    for method, route, path, sent in calls:
        status, body = await admin.call(method, path, sent)
        statuses.add(status)
        check(document, route, method, status, _plain(body))
    assert statuses == {200, 201, 400, 404}
    status, export = await admin.call("GET", "/state")
    status, body = await admin.call("PUT", "/state", _plain(export))
    assert status == 200
    check(document, "/state", "PUT", status, body)


async def test_admin_bodies_over_the_limit_are_documented(http):
    document = committed("openapi/admin.json")
    with_body = [
        (path, method)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert ("/state", "put") in with_body and len(with_body) >= 10
    for path, method in with_body:
        assert {"408", "413"} <= set(document["paths"][path][method]["responses"]), (method, path)
    response = await http.put("/__admin/state", data=io.BytesIO(b"x" * (MAX_ADMIN_BODY + 1)))
    assert response.status == 413
    check(document, "/state", "PUT", response.status, await response.json())


def fixture_files() -> list[Path]:
    return [
        ROOT / "fixtures/default.json",
        ROOT / "betcore_sandbox/default_fixture.json",
        ROOT / "benchmarks/fixture.json",
    ]


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_fixtures_validate_against_the_fixture_schema(path):
    jsonschema.Draft202012Validator(committed("schemas/fixture.schema.json")).validate(json.loads(path.read_text()))


async def test_an_export_validates_and_a_wrong_fixture_does_not(admin: Admin, provider: Provider):
    schema = jsonschema.Draft202012Validator(committed("schemas/fixture.schema.json"))
    await provider.pay_in("session-eur", "x-1", "1.00")
    await provider.pay_out("session-eur", "x-1", "2.00")
    schema.validate(_plain(await admin.get("/state")))
    assert not schema.is_valid({"counterparties": [{"id": "cp"}]})  # no secret
    assert not schema.is_valid({"counterparties": [], "players": [{"id": "p", "currency": "EUR", "balance": -1}]})


def test_a_fixture_may_name_its_schema(tmp_path):
    fixture = json.loads((ROOT / "fixtures/default.json").read_text())
    path = tmp_path / "with-schema.json"
    path.write_text(json.dumps({"$schema": "../schemas/fixture.schema.json", **fixture}))
    loaded = load_fixture(path)
    assert [p.id for p in loaded.players] == [p["id"] for p in fixture["players"]]


def _plain(data: Any) -> Any:
    """The test clients read numbers as Decimal; the schemas speak of JSON numbers."""
    return json.loads(json.dumps(data, default=float))


def test_readme_names_the_regeneration_command_and_the_files():
    page = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    section = page.split("## Contracts and clients", 1)[1].split("\n## ", 1)[0]
    assert f"`{REGENERATE}`" in section
    for name in contracts.FILES:
        assert f"](../{name})" in section  # the page is in docs/


def test_the_admin_document_has_every_admin_route():
    from betcore_sandbox.web.admin import create_admin_app

    routes = {
        (route.method.lower(), route.resource.canonical)
        for route in create_admin_app().router.routes()
        if route.method != "HEAD" and route.resource is not None and not route.resource.canonical.startswith("/ui")
    }
    documented = {(method, path) for path, item in committed("openapi/admin.json")["paths"].items() for method in item}
    assert routes == documented


def test_the_provider_document_has_every_wallet_route():
    from betcore_sandbox.web.provider import ENDPOINTS, PREFIXES

    routes = {(method.lower(), prefix + path) for prefix in PREFIXES for method, path in ENDPOINTS.values()}
    paths = committed("openapi/provider.json")["paths"]
    assert routes == {(method, path) for path, item in paths.items() for method in item}
