"""The machine-readable contracts: the OpenAPI 3.1 documents of the provider API and of the admin API, and the
JSON Schema of fixture files, all made from the types that validate requests (inputs, bodies) and the types that
describe answers (answers), so no hand-kept copy can drift.

The same dicts are served (GET /openapi.json, GET /__admin/openapi.json), printed by `betcore-sandbox schema`, and
committed under openapi/ and schemas/ (a test keeps the copies equal).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from . import __version__, answers, bodies, inputs
from .codes import TABLE
from .limits import MAX_ADMIN_BODY, MAX_ID_LENGTH, MAX_PROVIDER_BODY

__all__ = ["FILES", "admin_document", "document_text", "fixture_schema", "provider_document", "write"]

JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
PREFIXES = ("/v1", "/betongames-mediator-service/api/v1")
_REF = "#/components/schemas/{name}"
_AMOUNT = r"^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
COUNTERPARTY = "933a215f-a9e6-4f88-9d91-52a87cd50499"  # the default fixture's


def _hook(kind: type) -> dict[str, Any]:
    """JSON Schema of the value types: the admin side's (inputs.schema_hook) and the provider bodies' wire types."""
    if kind is bodies.WireId:
        return {
            "anyOf": [{"type": "string", "maxLength": MAX_ID_LENGTH}, {"type": "number"}],
            "description": f"a string of at most {MAX_ID_LENGTH} characters; a JSON number stands for its decimal text",
        }
    if kind is bodies.WireAmount:
        return {
            "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": _AMOUNT}],
            "description": "an exact amount: a JSON number or a decimal string, a whole number of minor units",
        }
    return inputs.schema_hook(kind)


def _components(types: list[Any]) -> tuple[tuple[dict[str, Any], ...], dict[str, Any]]:
    return msgspec.json.schema_components(types, schema_hook=_hook, ref_template=_REF)


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"application/json": content}


# -- the provider API -----------------------------------------------------------------------------------------------

_SIGNING = """Every request carries four headers: `X-Counterparty-Id`, `X-Timestamp` (Unix epoch milliseconds),
`X-Request-Id` (new for every HTTP attempt, retries included) and `X-Sign`:

    X-Sign = lowercase hex HMAC-SHA256(key = the secret's literal UTF-8 bytes, message)
    POST message: <raw body bytes exactly as sent>.<X-Counterparty-Id>.<X-Timestamp>.<X-Request-Id>
    GET  message: <X-Counterparty-Id>.<X-Timestamp>.<X-Request-Id>

The signature is checked over the raw bytes received, never a re-serialisation: sign exactly what you send.
Known answer: secret `sandbox-secret-key-123`, counterparty `933a215f-a9e6-4f88-9d91-52a87cd50499`, timestamp
`1719766120806`, request id `5a0679b6e5fa48f6892c777b0fa92392`, body
`{"betAmount":"1.50","betId":"bet-0001","gameRoundId":"round-0001","sessionId":"sess-abc"}` give
`89659e97812e71e2744d6f4ea87152b702d85ebc13b750aba5d6e76948e7a6e1`.
A missing or wrong header, a timestamp outside `timestampToleranceMs` or a repeated request id is HTTP 401, code 8."""

_HEADERS = {
    "counterpartyId": ("X-Counterparty-Id", "The counterparty's id (the default fixture's: " + COUNTERPARTY + ")."),
    "timestamp": ("X-Timestamp", "Unix epoch milliseconds, within timestampToleranceMs of the sandbox clock."),
    "requestId": ("X-Request-Id", "New for every HTTP attempt; a repeat is refused (rejectReplayedRequestIds)."),
    "sign": ("X-Sign", "Lowercase hex HMAC-SHA256 of the message with the counterparty's secret:\n\n" + _SIGNING),
}

_BODY_EXAMPLES: dict[str, dict[str, Any]] = {
    "pay-in": {"betId": "bet-0001", "betAmount": "1.50", "gameRoundId": "round-0001"},
    "pay-out": {"betId": "bet-0001", "winAmount": "3.00", "gameRoundId": "round-0001", "winOdd": "2.00"},
    "pay-in-out": {"betId": "bet-0002", "betAmount": "1.00", "winAmount": "0", "gameRoundId": "round-0002"},
    "refund": {"betId": "bet-0001", "gameRoundId": "round-0001"},
}
_SUMMARIES = {
    "balance": "The player's balance",
    "pay-in": "Take a stake",
    "pay-out": "Pay a win (0: a loss) for a bet taken before",
    "pay-in-out": "Take a stake and pay its win in one call",
    "refund": "Give a stake back",
}
_ENDPOINTS = {
    "balance": ("get", "/sessions/{sessionId}/balance"),
    "pay-in": ("post", "/sessions/{sessionId}/bets/pay-in"),
    "pay-out": ("post", "/sessions/{sessionId}/bets/pay-out"),
    "pay-in-out": ("post", "/sessions/{sessionId}/bets/pay-in-out"),
    "refund": ("post", "/sessions/{sessionId}/bets/refund"),
}


def _codes_text() -> str:
    rows = "\n".join(f"| `{name}` | {code} | {status} |" for name, (code, status) in TABLE.items())
    return "| name | `_responseCode` | HTTP |\n|---|---|---|\n" + rows


def provider_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the wallet endpoints, under /v1 and under the aggregator's real base path."""
    bodies_by_endpoint = bodies.BODIES
    answer_types = [answers.BalanceAnswer, answers.BetAnswer, answers.ProviderError]
    (balance_ref, bet_ref, error_ref, *body_refs), components = _components(
        [*answer_types, *bodies_by_endpoint.values()]
    )
    error = {
        "content": _json(error_ref, {"_responseCode": 3, "message": "session not found: session-gone"}),
    }
    paths: dict[str, Any] = {}
    for prefix in PREFIXES:
        for endpoint, (method, path) in _ENDPOINTS.items():
            operation_id = ("" if prefix == "/v1" else "mediator-") + endpoint
            ok_ref = balance_ref if endpoint == "balance" else bet_ref
            ok_example = (
                {"_responseCode": 1, "balance": 750.50, "currency": "EUR"}
                if endpoint == "balance"
                else {"_responseCode": 1, "transactionId": "389", "balance": 1588.50, "currency": "EUR"}
            )
            responses: dict[str, Any] = {
                "200": {
                    "description": "Applied (code 1), already applied (104), or refused with a code of 3 to 7",
                    "content": _json({"anyOf": [ok_ref, error_ref]}, ok_example),
                },
                "400": {"description": "invalid_request (code 2): bad JSON, field, amount or precision", **error},
                "401": {"description": "unauthorized (code 8): headers, timestamp, request id or signature", **error},
                "404": {"description": "no such endpoint (code 2): the path does not name one", **error},
                "408": {"description": "code 2: the body did not arrive within bodyReadTimeoutMs", **error},
                "500": {"description": "internal_error (code 99)", **error},
            }
            operation: dict[str, Any] = {
                "operationId": operation_id,
                "summary": _SUMMARIES[endpoint],
                "tags": ["wallet"],
                "parameters": [
                    {
                        "name": "sessionId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": "session-eur",
                    }
                ],
                "security": [{name: [] for name in _HEADERS}],
                "responses": responses,
            }
            if endpoint != "balance":
                responses["413"] = {
                    "description": f"code 2: the body is over {MAX_PROVIDER_BODY // 2**10} KiB",
                    **error,
                }
                operation["requestBody"] = {
                    "required": True,
                    "content": _json(body_refs[list(bodies_by_endpoint).index(endpoint)], _BODY_EXAMPLES[endpoint]),
                }
            paths.setdefault(prefix + path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "BETCORE wallet API (betcore-sandbox)",
            "version": __version__,
            "description": (
                "The aggregator's wallet endpoints a game provider calls, as the sandbox serves them. Amounts are "
                "JSON numbers or decimal strings read exactly; answers carry `_responseCode`:\n\n"
                + _codes_text()
                + "\n\nA fixture may renumber the codes; the names and HTTP statuses stay.\n\n"
                + _SIGNING
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "a local sandbox"}],
        "tags": [{"name": "wallet", "description": "Balance, bets, wins and refunds"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                name: {"type": "apiKey", "in": "header", "name": header, "description": text}
                for name, (header, text) in _HEADERS.items()
            },
        },
    }


# -- the admin API ----------------------------------------------------------------------------------------------------

_ADMIN_ERRORS = {
    "400": "Bad input, naming its JSON path; nothing changed",
    "401": "The admin token is missing or wrong (only when the sandbox has one)",
    "404": "No such id or route",
    "408": "The body did not arrive within bodyReadTimeoutMs",
    "413": f"The body is over the admin API's limit ({MAX_ADMIN_BODY // 2**20} MiB); nothing changed",
}


def admin_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the admin API under /__admin."""
    a, i = answers, inputs
    named: dict[str, Any] = {
        "error": a.AdminError,
        "health": a.Health,
        "status": a.StatusAnswer,
        "imported": a.Imported,
        "player": a.PlayerView,
        "players": list[a.PlayerView],
        "session": a.SessionView,
        "sessions": list[a.SessionView],
        "bet": a.BetView,
        "bets": list[a.BetView],
        "entries": list[a.LedgerEntryView],
        "request": a.RequestView,
        "requests": list[a.RequestView],
        "audit": a.AuditAnswer,
        "clock": a.ClockView,
        "fixture": i.FixtureIn,
        "playerCreate": i.PlayerCreate,
        "playerPatch": i.PlayerPatch,
        "sessionCreate": i.SessionCreate,
        "sessionPatch": i.SessionPatch,
        "fault": i.FaultIn,
        "settingsPatch": i.SettingsPatch,
        "launchCreate": i.LaunchCreate,
        "clockChange": i.ClockChange,
        "scenarioOptions": i.ScenarioOptions,
    }
    refs, components = _components(list(named.values()))
    s = dict(zip(named, refs, strict=True))
    obj: dict[str, Any] = {"type": "object"}
    objects: dict[str, Any] = {"type": "array", "items": obj}

    def op(
        operation_id: str,
        summary: str,
        answer: dict[str, Any] | None,
        status: int = 200,
        body: dict[str, Any] | None = None,
        query: tuple[str, ...] = (),
        errors: tuple[str, ...] = ("401",),
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        responses: dict[str, Any] = {str(status): {"description": summary}}
        if answer is not None:
            responses[str(status)]["content"] = {content_type: {"schema": answer}}
        for code in errors:
            responses[code] = {"description": _ADMIN_ERRORS[code], "content": _json(s["error"])}
        operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "responses": responses}
        if query:
            operation["parameters"] = [
                {"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in query
            ]
        if body is not None:
            operation["requestBody"] = {"required": True, "content": _json(body)}
            for code in ("408", "413"):
                responses[code] = {"description": _ADMIN_ERRORS[code], "content": _json(s["error"])}
        return operation

    def with_id(name: str, operation: dict[str, Any]) -> dict[str, Any]:
        operation.setdefault("parameters", []).insert(
            0, {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        )
        return operation

    both = ("400", "401")
    found = ("401", "404")
    paths: dict[str, Any] = {
        "/health": {"get": op("health", "Whether the sandbox runs (never needs the token)", s["health"], errors=())},
        "/openapi.json": {
            "get": op("openapi", "This document (never needs the token: the contract is not secret)", obj, errors=())
        },
        "/reset": {"post": op("reset", "Back to the start-up state", s["status"])},
        "/state": {
            "get": op("exportState", "The whole state, in the fixture format", s["fixture"]),
            "put": op("importState", "Replace the state with an export", s["imported"], body=s["fixture"], errors=both),
        },
        "/players": {
            "get": op("listPlayers", "Every player", s["players"]),
            "post": op("createPlayer", "Create a player", s["player"], 201, s["playerCreate"], errors=both),
        },
        "/players/{id}": {
            "get": with_id("id", op("getPlayer", "One player", s["player"], errors=found)),
            "patch": with_id(
                "id",
                op(
                    "patchPlayer",
                    "Set the balance (an adjustment)",
                    s["player"],
                    body=s["playerPatch"],
                    errors=("400", "401", "404"),
                ),
            ),
        },
        "/sessions": {
            "get": op("listSessions", "Every session", s["sessions"]),
            "post": op("createSession", "Create a session", s["session"], 201, s["sessionCreate"], errors=both),
        },
        "/sessions/{id}": {
            "get": with_id("id", op("getSession", "One session", s["session"], errors=found)),
            "patch": with_id(
                "id",
                op(
                    "patchSession",
                    "Change a session",
                    s["session"],
                    body=s["sessionPatch"],
                    errors=("400", "401", "404"),
                ),
            ),
            "delete": with_id(
                "id", op("deleteSession", "Delete a session no bet names", None, 204, errors=("400", "401", "404"))
            ),
        },
        "/bets": {"get": op("listBets", "Bets", s["bets"], query=("sessionId", "playerId", "status"), errors=both)},
        "/bets/{id}": {
            "get": with_id("id", op("getBet", "One bet", s["bet"], query=("counterpartyId",), errors=("400", *found)))
        },
        "/transactions": {
            "get": op("listTransactions", "The ledger", s["entries"], query=("playerId", "sessionId", "betId"))
        },
        "/requests": {
            "get": op(
                "listRequests",
                "The request journal",
                s["requests"],
                query=("endpoint", "sessionId", "betId", "limit"),
                errors=both,
            ),
            "delete": op("clearRequests", "Clear the journal", None, 204),
        },
        "/requests/{id}": {"get": with_id("id", op("getRequest", "One journal entry", s["request"], errors=found))},
        "/faults": {
            "get": op("listFaults", "The fault rules", objects),
            "post": op("addFault", "Add a fault rule", obj, 201, s["fault"], errors=both),
            "delete": op("clearFaults", "Remove every fault rule", None, 204),
        },
        "/faults/{id}": {
            "get": with_id("id", op("getFault", "One fault rule", obj, errors=found)),
            "delete": with_id("id", op("removeFault", "Remove a fault rule", None, 204, errors=found)),
        },
        "/audit": {"get": op("audit", "The money audit", s["audit"])},
        "/settings": {
            "get": op("getSettings", "The runtime settings", obj),
            "patch": op("patchSettings", "Change the settings it names", obj, body=s["settingsPatch"], errors=both),
        },
        "/games": {
            "get": op(
                "listGames",
                "Call the provider's Games endpoint",
                obj,
                query=("counterpartyId", "providerUrl", "sign"),
                errors=both,
            )
        },
        "/launches": {
            "get": op("listLaunches", "The Launch calls made", objects),
            "post": op(
                "createLaunch",
                "Open a session and call the provider's Launch",
                obj,
                201,
                s["launchCreate"],
                errors=both,
            ),
        },
        "/clock": {
            "get": op("getClock", "The sandbox clock", s["clock"]),
            "post": op("changeClock", "Move the clock", s["clock"], body=s["clockChange"], errors=both),
        },
        "/events": {"get": op("events", "The live event stream", {"type": "string"}, content_type="text/event-stream")},
        "/scenarios": {"get": op("listScenarios", "The named fault scenarios", objects)},
        "/scenarios/{name}": {
            "post": with_id(
                "name",
                op("applyScenario", "Apply a scenario", obj, 201, s["scenarioOptions"], errors=("400", *found)),
            )
        },
        "/report": {
            "get": op(
                "report",
                "The conformance report (format json, junit or html)",
                obj,
                query=("format", "graceSeconds"),
                errors=both,
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "betcore-sandbox admin API",
            "version": __version__,
            "description": (
                "Control and inspect a sandbox: wallets, sessions, bets, the ledger, the request journal, faults, "
                "settings, the clock, scenarios and the conformance report. Never signed, never hit by faults. "
                "Amounts come back as exact decimal strings. With an admin token every route but health and this "
                "document needs `Authorization: Bearer <token>`."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8080/__admin", "description": "a local sandbox"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"adminToken": []}],
    }


# -- fixture files ---------------------------------------------------------------------------------------------------


def fixture_schema() -> dict[str, Any]:
    """The JSON Schema of fixture files (and state exports, which are fixtures)."""
    return {"$schema": JSON_SCHEMA, "title": "betcore-sandbox fixture", **inputs.json_schema(inputs.FixtureIn)}


# -- the committed copies --------------------------------------------------------------------------------------------

FILES = {
    "openapi/provider.json": provider_document,
    "openapi/admin.json": admin_document,
    "schemas/fixture.schema.json": fixture_schema,
}


def document_text(document: dict[str, Any]) -> str:
    """How the documents are written to files and printed: indented, keys in order made, one newline at the end."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write(root: Path, names: list[str] | None = None) -> list[Path]:
    """Write the documents `names` (keys of FILES; None: all) under `root`, the repository; returns their paths."""
    written = []
    for name in names or list(FILES):
        make = FILES[name]
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document_text(make()), encoding="utf-8")
        written.append(path)
    return written
