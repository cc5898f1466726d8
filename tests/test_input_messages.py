"""Messages about bad input that point at the fix: the fields of the rule's own kind, the names in the caller's
spelling with the close one suggested, the object holding a key given twice, the variable at fault, and money
that is never a float."""

from __future__ import annotations

import json
import logging
import urllib.request
from decimal import Decimal as D

import pytest

from betcore_sandbox import Sandbox, faults, jsontext
from betcore_sandbox.errors import AdminInputError
from betcore_sandbox.fixtures import FixtureError, load_fixture, parse_fixture
from betcore_sandbox.limits import KEPT_FINISHED_FAULT_RULES, MAX_FAULT_RULES
from betcore_sandbox.settings import SettingError

from .process import run_cli

# -- unknown fault fields: those of the rule's kind --------------------------------------------------------------


def test_the_python_api_names_a_timeouts_fields_in_snake_case_and_suggests_the_close_one():
    sandbox = Sandbox()  # the admin calls run directly while it is not serving
    with pytest.raises(AdminInputError) as caught:
        sandbox.add_fault(endpoint="pay-in", kind="timeout", delay=1000)
    assert str(caught.value) == (
        "delay: unknown field, did you mean delay_ms? (known: kind, delay_ms, endpoint, session_id, player_id, "
        "bet_id, phase, times, skip, probability, seed, ttl_seconds)"
    )
    with pytest.raises(AdminInputError, match=r"^delay_ms: must be an integer from 0 to 3600000$"):
        sandbox.add_fault(kind="timeout", delay_ms=-1)
    assert sandbox.faults() == []
    # camelCase keywords get camelCase names back
    with pytest.raises(AdminInputError, match=r"^delayMs: unknown field \(known: kind, status, endpoint, sessionId,"):
        sandbox.add_fault(kind="http_error", delayMs=5)
    assert sandbox.add_fault(endpoint="pay-in", kind="timeout", delay_ms=1000)["delayMs"] == 1000


async def test_the_admin_api_lists_the_fields_of_the_kind_given(admin):
    status, body = await admin.call("POST", "/faults", {"kind": "delay", "delayMs": 5, "status": 503})
    assert status == 400
    assert body["error"].startswith("status: unknown field (known: kind, delayMs, endpoint, sessionId, "), body
    status, body = await admin.call("POST", "/faults", {"kind": "http_error", "delay_ms": 5})
    assert status == 400
    assert body["error"].startswith("delay_ms: unknown field (known: kind, status, endpoint, "), body
    status, body = await admin.call("POST", "/faults", {"kind": "response_code", "responsecode": 5})
    assert body["error"].startswith("responsecode: unknown field, did you mean responseCode? (known: kind, "), body
    assert await admin.get("/faults") == []


def test_a_fixture_rule_is_judged_by_its_own_kind(tmp_path):
    path = tmp_path / "armed.json"
    rules = [{"kind": "http_error", "status": 503}, {"kind": "delay", "delayMs": 5, "status": 503}]
    path.write_text(json.dumps({"counterparties": [{"id": "c", "secret": "s"}], "faults": rules}))
    with pytest.raises(FixtureError) as caught:
        load_fixture(path)
    assert str(caught.value).startswith(f"{path}: $.faults[1].status: unknown field (known: kind, delayMs, endpoint,")


# -- a key given twice: the object that holds it -------------------------------------------------------------------


def test_a_fixture_names_the_object_with_a_key_given_twice(tmp_path):
    path = tmp_path / "dup2.json"
    path.write_bytes(
        b'{"counterparties":[{"id":"c","secret":"s"}],'
        b'"players":[{"id":"p","currency":"EUR","balance":"1.00","balance":"2.00"}]}'
    )
    with pytest.raises(FixtureError) as caught:
        load_fixture(path)
    assert str(caught.value) == f"{path}: $.players[0]: the file has the key 'balance' twice in one object"
    result = run_cli("--fixtures", str(path), "--port", "0")
    assert result.returncode == 2
    assert f"{path}: $.players[0]: the file has the key 'balance' twice" in result.stderr.decode()


@pytest.mark.parametrize(
    "raw, where",
    [
        (b'{"counterparties":[{"id":"c","secret":"s"},{"id":"d","id":"e"}]}', "$.counterparties[1]"),
        (b'{"counterparties":[],"settings":{"duplicateResponse":{"refund":"code","refund":"x"}}}', None),
        (b'{"a":{"b":[0,[{"c:":"{[,\\"","c:":1}]]}}', "$.a.b[1][0]"),
        (b'{"odd key":{"x":1,"x":2}}', '$["odd key"]'),
    ],
)
def test_the_path_of_the_object_is_named_at_any_depth(raw, where):
    with pytest.raises(FixtureError) as caught:
        parse_fixture(raw, "f.json")
    expected = where or "$.settings.duplicateResponse"
    assert str(caught.value).startswith(f"f.json: {expected}: the file has the key "), caught.value


def test_a_deep_document_is_scanned_without_recursion():
    depth = 800
    raw = b'{"counterparties":' + b"[" * depth + b'{"k":1,"k":2}' + b"]" * depth + b"}"
    with pytest.raises(FixtureError) as caught:
        parse_fixture(raw, "deep.json")
    assert str(caught.value).startswith("deep.json: $.counterparties" + "[0]" * depth + ": the file has the key 'k'")
    # The scan that names the place keeps a list, not a call stack: no depth is too deep for it.
    depth = 100_000
    assert jsontext._duplicate_key(b"[" * depth + b'{"k":1,"k":2}' + b"]" * depth) == ("k", "$" + "[0]" * depth)


async def test_admin_and_provider_bodies_name_the_object_too(admin, provider):
    status, body = await admin.call("POST", "/sessions", raw=b'{"playerId":"player-eur","minBet":{"a":1,"a":2}}')
    assert (status, body) == (400, {"error": "body has the key 'a' twice in one object at $.minBet"})
    status, body = await provider.send("pay-in", "session-eur", b'{"betId":"b","betAmount":"1","x":[{"y":1,"y":2}]}')
    assert (status, body["_responseCode"]) == (400, 2)
    assert "has the key 'y' twice in one object at $.x[0]" in body["message"], body
    assert await provider.balance() == D("1000.00")


async def test_the_dashboard_login_refuses_a_key_given_twice(aiohttp_client, make_state):
    from betcore_sandbox.web.app import create_app

    guarded = await aiohttp_client(create_app(make_state(), admin_token="s3cret"))
    response = await guarded.post("/__admin/ui/login", data=b'{"token":"wrong","token":"s3cret"}')
    assert response.status == 400 and "Set-Cookie" not in response.headers
    assert (await response.json()) == {"error": "body has the key 'token' twice in one object"}


# -- settings: the caller's spelling -------------------------------------------------------------------------------


def test_a_marker_typo_in_snake_case_gets_snake_case_names_and_the_close_one(pytester):
    from .test_pytest_plugin import INI

    pytester.makeini(INI)
    pytester.makepyfile(
        test_typo="""
import pytest

@pytest.mark.betcore_sandbox(duplicate_responses="replay")
def test_marked(betcore_sandbox):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*$.duplicate_responses: unknown setting, did you mean duplicate_response? "
            "(known: timestamp_tolerance_ms, reject_replayed_request_ids, duplicate_response, *"
        ]
    )
    assert "timestampToleranceMs" not in result.stdout.str()


async def test_the_admin_api_answers_in_the_spelling_it_was_given(admin):
    status, body = await admin.call("PATCH", "/settings", {"zero_stakes": "reject"})
    assert status == 400
    assert body["error"].startswith("$.zero_stakes: unknown setting, did you mean zero_stake? (known: timestamp_"), body
    status, body = await admin.call("PATCH", "/settings", {"zeroStakes": "reject"})
    assert body["error"].startswith("$.zeroStakes: unknown setting, did you mean zeroStake? (known: timestampTol"), body
    status, body = await admin.call("PATCH", "/settings", {"colour": "red"})
    assert body["error"].startswith("$.colour: unknown setting (known: timestampToleranceMs, "), body
    assert (await admin.get("/settings"))["zeroStake"] == "accept"


def test_the_python_api_keyword_typo_is_named_in_snake_case():
    typo = r"^\$\.journal_limt: unknown setting, did you mean journal_limit\? \(known: timestamp_tolerance_ms, "
    with pytest.raises(SettingError, match=typo):
        Sandbox(journal_limt=5)


# -- the request log line: where it comes from --------------------------------------------------------------------


def test_a_request_line_carries_the_place_that_logged_it(caplog):
    caplog.set_level(logging.INFO, logger="betcore_sandbox.requests")
    with Sandbox() as sandbox:
        request = urllib.request.Request(
            f"{sandbox.url}/sessions/session-eur/balance", headers=sandbox.signed_headers("GET")
        )
        urllib.request.urlopen(request).read()
    [record] = [r for r in caplog.records if r.name == "betcore_sandbox.requests"]
    assert record.pathname.endswith(("provider.py", "provider.py".replace("/", "\\")))
    assert record.filename == "provider.py" and record.lineno > 0 and record.funcName not in ("", "<module>")
    pytest_default = logging.Formatter("%(levelname)-8s %(name)s:%(filename)s:%(lineno)d %(message)s")
    line = pytest_default.format(record)
    assert line.startswith(f"INFO     betcore_sandbox.requests:provider.py:{record.lineno} balance session="), line


# -- money is never a float ----------------------------------------------------------------------------------------

FLOAT = r"^pass money as Decimal, int or str, not float \(10\.1\)$"


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.assert_balance("session-eur", 10.1),
        lambda s: s.create_player(balance=10.1),
        lambda s: s.update_player("player-eur", balance=10.1),
        lambda s: s.create_session(balance=10.1),
        lambda s: s.create_session("player-eur", min_bet=10.1),
        lambda s: s.update_session("session-eur", min_bet=10.1),
        lambda s: s.update_session("session-eur", max_bet=10.1),
        lambda s: s.settings(demo_balance=10.1),
        lambda s: s.settings({"demoBalance": 10.1}),
    ],
)
def test_every_money_argument_refuses_a_float(call):
    sandbox = Sandbox()
    before = sandbox.export_state()
    with pytest.raises(TypeError, match=FLOAT):
        call(sandbox)
    assert sandbox.export_state() == before


def test_a_float_balance_is_refused_even_when_it_would_match():
    sandbox = Sandbox()
    with pytest.raises(TypeError, match=r"not float \(1000\.0\)"):
        sandbox.assert_balance("session-eur", 1000.0)
    sandbox.assert_balance("session-eur", "1000.00")
    sandbox.assert_balance("session-eur", 1000)
    sandbox.assert_balance("session-eur", D("1000"))


@pytest.mark.parametrize("settings", [{"demo_balance": 10.1}, {"settings": {"demoBalance": 10.1}}])
def test_a_float_money_setting_is_refused_at_construction(settings):
    with pytest.raises(TypeError, match=FLOAT):
        Sandbox(**settings)


# -- how many fault rules --------------------------------------------------------------------------------------------


def test_at_most_max_fault_rules_are_active_and_the_refusal_changes_nothing():
    sandbox = Sandbox()
    for _ in range(MAX_FAULT_RULES):
        sandbox.add_fault(kind="http_error", times=None, bet_id="never")
    with pytest.raises(AdminInputError, match=f"at most {MAX_FAULT_RULES} can be active at once"):
        sandbox.add_fault(kind="http_error")
    with pytest.raises(AdminInputError, match=f"at most {MAX_FAULT_RULES} can be active at once"):
        sandbox.scenario("pay-out-lost-answer")
    assert len(sandbox.faults()) == MAX_FAULT_RULES and sandbox._state.scenarios == []


def test_a_fixture_with_too_many_rules_is_refused():
    given = {"counterparties": [{"id": "c", "secret": "s"}], "faults": [{"kind": "delay", "delayMs": 1}]}
    given["faults"] = given["faults"] * (MAX_FAULT_RULES + 1)
    with pytest.raises(FixtureError, match=rf"^f\.json: \$\.faults: must have at most {MAX_FAULT_RULES} items$"):
        parse_fixture(json.dumps(given).encode(), "f.json")


async def test_the_admin_api_refuses_a_rule_past_the_limit(admin, monkeypatch):
    monkeypatch.setattr(faults, "MAX_FAULT_RULES", 2)
    for _ in range(2):
        await admin.fault(kind="http_error", times=None, betId="never")
    status, body = await admin.call("POST", "/faults", {"kind": "delay", "delayMs": 1})
    assert (status, body) == (
        400,
        {"error": "too many fault rules: at most 2 can be active at once (remove or clear some)"},
    )
    assert [rule["id"] for rule in await admin.get("/faults")] == ["fault-1", "fault-2"]
    await admin.call("DELETE", "/faults/fault-1")
    assert (await admin.fault(kind="delay", delayMs=1))["id"] == "fault-3"


async def test_the_oldest_finished_rules_are_dropped_past_the_kept_number(admin, provider, monkeypatch):
    monkeypatch.setattr(faults, "KEPT_FINISHED_FAULT_RULES", 3)
    monkeypatch.setattr(faults, "MAX_FAULT_RULES", 5)
    for _ in range(5):
        await admin.fault(kind="http_error", endpoint="balance", status=503)
    for _ in range(5):
        status, _ = await provider.send("balance", "session-eur")
        assert status == 503
    listed = await admin.get("/faults")
    assert [(rule["id"], rule["state"]) for rule in listed] == [(f"fault-{n}", "used-up") for n in (3, 4, 5)]
    # finished rules do not count against the limit: five more active ones fit, not six
    for _ in range(5):
        await admin.fault(kind="delay", delayMs=1, betId="never")
    status, _ = await admin.call("POST", "/faults", {"kind": "delay", "delayMs": 1})
    assert status == 400
    # an expired rule is a finished one too: the oldest finished (fault-3) goes when it expires
    await admin.call("DELETE", "/faults/fault-6")
    await admin.fault(kind="delay", delayMs=1, ttlSeconds=1, betId="never")
    assert (await admin.call("POST", "/clock", {"advanceMs": 2000}))[0] == 200
    states = [(rule["id"], rule["state"]) for rule in await admin.get("/faults")]
    assert states == [
        ("fault-4", "used-up"),
        ("fault-5", "used-up"),
        *((f"fault-{n}", "active") for n in (7, 8, 9, 10)),
        ("fault-11", "expired"),
    ]


def test_the_kept_number_and_the_limit_are_sensible():
    assert 0 < KEPT_FINISHED_FAULT_RULES < MAX_FAULT_RULES
