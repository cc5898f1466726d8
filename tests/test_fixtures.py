import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from betcore_sandbox.fixtures import FixtureError, default_fixture_bytes, load_fixture, parse_fixture

from .conftest import REPO

GOOD = {
    "counterparties": [{"id": "cp", "secret": "s"}],
    "currencies": {"EUR": 2},
    "players": [{"id": "p", "currency": "EUR", "balance": "10.00"}],
    "sessions": [{"id": "s", "playerId": "p", "expiresAt": "2030-01-01T00:00:00Z", "minBet": 1, "maxBet": "5"}],
    "responseCodes": {"insufficient_funds": 40},
    "settings": {"timestampToleranceMs": 0},
}


def test_the_default_fixture_lets_a_newcomer_try_every_rule():
    fixture = load_fixture()
    scales = fixture.currencies
    assert 8 in scales.values() and len(scales) >= 3
    players = {p.id: p for p in fixture.players}
    assert {p.currency for p in players.values()} >= {"EUR", "USD", "BTC"}
    assert any(p.balance == 0 for p in players.values())
    assert any(p.blocked for p in players.values())
    assert any(s.expires_at is not None for s in fixture.sessions)
    assert fixture.counterparties[0].id == "933a215f-a9e6-4f88-9d91-52a87cd50499"
    assert fixture.counterparties[0].secret == "sandbox-secret-key-123"


def test_the_top_level_default_fixture_is_the_embedded_one():
    assert (REPO / "fixtures" / "default.json").read_bytes() == default_fixture_bytes()


def test_a_good_fixture_loads_exactly():
    fixture = parse_fixture(GOOD)
    [session] = fixture.sessions
    assert session.counterparty_id == "cp"  # the only counterparty is implied
    assert session.min_bet == Decimal(1) and session.max_bet == Decimal("5")
    assert datetime.fromtimestamp(session.expires_at, UTC).isoformat() == "2030-01-01T00:00:00+00:00"
    assert fixture.response_codes == {"insufficient_funds": 40}
    assert fixture.settings == {"timestampToleranceMs": 0}


def _broken(change):
    data = copy.deepcopy(GOOD)
    change(data)
    return data


@pytest.mark.parametrize(
    "change, where",
    [
        (lambda d: d.pop("counterparties"), "$.counterparties: is required"),
        (lambda d: d.update(counterparties=[]), "$.counterparties: at least one"),
        (lambda d: d["counterparties"][0].pop("secret"), "$.counterparties[0].secret: is required"),
        (lambda d: d["counterparties"].append({"id": "cp", "secret": "x"}), "$.counterparties[1].id: duplicate"),
        (lambda d: d["currencies"].update(EUR=19), "$.currencies.EUR: decimal places"),
        (lambda d: d["players"][0].update(currency="XXX"), "$.players[0].currency: unknown currency 'XXX'"),
        (lambda d: d["players"][0].update(balance="1.001"), "$.players[0].balance: 1.001 has more than 2"),
        (lambda d: d["players"][0].update(balance="-1"), "$.players[0].balance: must not be negative"),
        (lambda d: d["players"][0].update(blocked="yes"), "$.players[0].blocked: must be true or false"),
        (lambda d: d["players"][0].update(colour="red"), "$.players[0].colour: unknown field"),
        (lambda d: d["sessions"][0].update(playerId="ghost"), "$.sessions[0].playerId: unknown player 'ghost'"),
        (lambda d: d["sessions"][0].update(counterpartyId="x"), "$.sessions[0].counterpartyId: unknown"),
        (lambda d: d["sessions"][0].update(expiresAt="tomorrow"), "$.sessions[0].expiresAt: is not an ISO 8601"),
        (lambda d: d["sessions"][0].update(expiresAt="2030-01-01T00:00:00"), "$.sessions[0].expiresAt: needs a UTC"),
        (lambda d: d["sessions"][0].update(minBet="9"), "$.sessions[0].minBet: must not be above maxBet"),
        (lambda d: d["sessions"][0].update(status="paused"), "$.sessions[0].status: must be one of"),
        (lambda d: d["responseCodes"].update(nope=1), "$.responseCodes.nope: unknown code name"),
        (lambda d: d["responseCodes"].update(ok="1"), "$.responseCodes.ok: must be an integer"),
        (lambda d: d["settings"].update(timestampToleranceMs=-1), "$.settings.timestampToleranceMs: must be"),
        (lambda d: d["settings"].update(colour=1), "$.settings.colour: unknown setting"),
        (
            lambda d: d["settings"].update(zero_stakes="reject"),
            "$.settings.zero_stakes: unknown setting, did you mean zero_stake? (known: timestamp_tolerance_ms, ",
        ),
        (lambda d: d["players"][0].update(blockd=True), "$.players[0].blockd: unknown field, did you mean blocked? "),
        (lambda d: d.update(extra=1), "$.extra: unknown field"),
    ],
)
def test_a_broken_fixture_names_the_file_and_the_json_path(change, where):
    with pytest.raises(FixtureError) as caught:
        parse_fixture(_broken(change), "my.json")
    message = str(caught.value)
    assert message.startswith("my.json: ")
    assert where in message
    assert "\n" not in message


def test_invalid_json_and_missing_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FixtureError, match=r"bad.json: \$: the file is not valid JSON"):
        load_fixture(bad)
    with pytest.raises(FixtureError, match="cannot read the fixture file"):
        load_fixture(tmp_path / "missing.json")
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(GOOD))
    assert load_fixture(ok).source == str(ok)


BAD_FIXTURE_FILES = {
    "100000-deep": (b"[" * 100_000 + b"]" * 100_000, "$: the file is nested too deeply"),
    "expiresAt-out-of-range": (
        json.dumps(
            {
                "counterparties": [{"id": "c", "secret": "s"}],
                "players": [{"id": "p", "currency": "EUR", "balance": "1"}],
                "sessions": [{"id": "s", "playerId": "p", "expiresAt": "9999-12-31T23:59:59-14:00"}],
            }
        ).encode(),
        "$.sessions[0].expiresAt: is out of range",
    ),
    "huge-number": (
        b'{"counterparties": [{"id": "c", "secret": "s"}], "currencies": {"EUR": 1e999999999}}',
        "$.currencies.EUR: decimal places must be an integer",
    ),
}


@pytest.mark.parametrize("name", BAD_FIXTURE_FILES)
def test_a_pathological_fixture_file_stops_start_up_with_exit_2_and_one_line(tmp_path, name):
    from .process import run_cli

    raw, message = BAD_FIXTURE_FILES[name]
    path = tmp_path / f"{name}.json"
    path.write_bytes(raw)
    result = run_cli("--fixtures", str(path), "--port", "0")
    err = result.stderr.decode().strip()
    assert result.returncode == 2 and err.count("\n") == 0 and "Traceback" not in err, err
    assert str(path) in err and message in err, err


def test_a_fixture_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"counterparties": [{"id": "c", "secret": "s"}]}).encode())
    assert load_fixture(path).counterparties[0].id == "c"
