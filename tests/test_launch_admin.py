"""Games and Launch through the admin HTTP API: shapes, input checked before anything changes, flags in views."""

from __future__ import annotations

import pytest

from betcore_sandbox.journal import Journal, JournalEntry

from .conftest import CP
from .partners import answering, raw, reference_provider, serving

ref = reference_provider()


@pytest.fixture
async def provider(http):
    app = ref.create_app(str(http.make_url("/v1")))
    async with serving(app) as url:
        yield url


async def test_launch_list_and_views(admin, provider, state):
    status, launched = await admin.call(
        "POST", "/launches", {"gameId": "aerobet", "providerUrl": provider, "currency": "EUR"}
    )
    assert status == 201, launched
    assert set(launched) == {
        "id", "status", "time", "gameId", "gameMode", "counterpartyId", "providerUrl", "session", "frameUri",
        "problems", "request", "response",
    }  # fmt: skip
    assert (launched["id"], launched["status"], launched["counterpartyId"]) == ("launch-1", "launched", CP)
    assert launched["request"]["method"] == "POST" and launched["response"]["status"] == 200
    session = await admin.get(f"/sessions/{launched['session']['id']}")
    assert (session["demo"], session["launchFailed"], session["minBet"], session["maxBet"]) == (
        False, False, "1.00", "100.00",
    )  # fmt: skip
    assert await admin.get("/launches") == [launched]
    entries = await admin.get("/requests")
    assert [(e["direction"], e["endpoint"]) for e in entries] == [("outgoing", "launch"), ("incoming", "balance")]
    assert entries[0]["url"] == f"{provider}/v1/games/aerobet/launch" and "url" not in entries[1]
    assert [e["endpoint"] for e in await admin.get("/requests?endpoint=launch")] == ["launch"]
    assert state.journal.bytes == sum(e.size for e in state.journal)  # the completed entry is counted in full
    status, _ = await admin.call("POST", "/reset")
    assert await admin.get("/launches") == []


async def test_games_over_http(admin, provider):
    found = await admin.get(f"/games?providerUrl={provider}")
    assert found["status"] == "ok" and [g["gameId"] for g in found["games"]] == ["aerobet", "fruit-slot"]
    unsigned = await admin.get(f"/games?providerUrl={provider}&sign=false")
    assert unsigned["status"] == "failed" and "HTTP 401, not 2xx: _responseCode 8" in unsigned["problems"][0]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("providerUrl=http://x&sign=maybe", "sign: must be true or false"),
        ("providerUrl=http://x&counterpartyId=ghost", "counterpartyId: unknown counterparty 'ghost'"),
        ("providerUrl=relative/path", "providerUrl: must be an absolute http(s) URL, got 'relative/path'"),
        ("providerUrl=http://[zz", "providerUrl: must be an absolute http(s) URL, got 'http://[zz'"),
        (
            "providerUrl=http://x/?a=1",
            "providerUrl: must be a base URL without a query or a fragment, got 'http://x/?a=1'",
        ),
        ("", "providerUrl: counterparty '933a215f-a9e6-4f88-9d91-52a87cd50499' has no providerUrl in the fixture"),
    ],
)
async def test_bad_games_queries_are_400(admin, query, error):
    status, body = await admin.call("GET", f"/games?{query}")
    assert (status, body) == (400, {"error": error + (": give one" if query == "" else "")})
    assert await admin.get("/requests") == []


BAD_LAUNCHES = [
    ({}, "gameId: is required"),
    ({"gameId": ""}, "gameId: must be a non-empty string"),
    ({"gameId": "g" * 129}, "gameId: must be at most 128 characters"),
    ({"gameId": "g", "bogus": 1}, "bogus: unknown field"),
    ({"gameId": "g", "providerUrl": "ftp://x"}, "providerUrl: must be an absolute http(s) URL"),
    ({"gameId": "g", "providerUrl": "http://[::1"}, "providerUrl: must be an absolute http(s) URL"),
    ({"gameId": "g", "providerUrl": "http://a..b"}, "providerUrl: must be an absolute http(s) URL"),
    ({"gameId": "g", "providerUrl": "http://" + "a" * 64 + ".example"}, "providerUrl: must be an absolute"),
    ({"gameId": "g", "providerUrl": "http://x:65536"}, "providerUrl: must be an absolute http(s) URL"),
    ({"gameId": "g", "providerUrl": "http://x/api?v=1"}, "providerUrl: must be a base URL without a query"),
    ({"gameId": "g", "providerUrl": "http://x/api#top"}, "providerUrl: must be a base URL without a query"),
    ({"gameId": "g", "currency": "XXX"}, "currency: unknown currency 'XXX'"),
    ({"gameId": "g"}, "currency: is required (or playerId for an existing player)"),
    ({"gameId": "g", "playerId": "ghost"}, "playerId: unknown player 'ghost'"),
    ({"gameId": "g", "playerId": "player-eur", "balance": 5}, "playerId: give either playerId or currency"),
    ({"gameId": "g", "playerId": "player-eur", "currency": "USD"}, "currency: player 'player-eur' plays in EUR"),
    ({"gameId": "g", "playerId": "player-eur", "gameMode": "demo"}, "playerId: a demo launch plays with a player"),
    ({"gameId": "g", "currency": "EUR", "gameMode": "fun"}, "gameMode: must be one of demo, real"),
    ({"gameId": "g", "currency": "EUR", "minBet": 5, "maxBet": 1}, "minBet"),
    ({"gameId": "g", "currency": "EUR", "minBet": "0.001"}, "minBet"),
    ({"gameId": "g", "currency": "EUR", "sessionId": "session-eur"}, "sessionId: session 'session-eur' already"),
    ({"gameId": "g", "currency": "EUR", "counterpartyId": "ghost"}, "counterpartyId: unknown counterparty"),
    ({"gameId": "g", "currency": "EUR", "sign": "no"}, "sign: must be true or false"),
]


@pytest.mark.parametrize(("body", "error"), BAD_LAUNCHES, ids=[e for _, e in BAD_LAUNCHES])
async def test_bad_launches_are_400_and_change_nothing(admin, provider, body, error):
    before = await admin.get("/sessions"), await admin.get("/players")
    status, answer = await admin.call("POST", "/launches", {"providerUrl": provider, **body})
    assert status == 400 and answer["error"].startswith(error), answer
    assert (await admin.get("/sessions"), await admin.get("/players")) == before
    assert await admin.get("/launches") == [] and await admin.get("/requests") == []


async def test_flags_and_provider_url_survive_export_and_import(admin, http):
    async with serving(answering(raw(b"down"))) as url:
        status, failed = await admin.call("POST", "/launches", {"gameId": "g", "providerUrl": url, "currency": "EUR"})
    assert status == 201 and failed["status"] == "failed" and failed["session"]["launchFailed"]
    exported = await admin.get("/state")
    exported["counterparties"][0]["providerUrl"] = "https://games.example/api"
    status, _ = await admin.call("PUT", "/state", exported)
    assert status == 200
    again = await admin.get("/state")
    assert again["counterparties"][0]["providerUrl"] == "https://games.example/api"
    session = next(s for s in again["sessions"] if s["id"] == failed["session"]["id"])
    assert (session["launchFailed"], session["demo"]) == (True, False)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"playerIdField": ""}, "$.playerIdField: must be a non-empty string"),
        ({"gameNameField": 5}, "$.gameNameField: must be a string, not an integer"),
        ({"player_id_field": "player\u0001id"}, "$.player_id_field: is not in the expected form"),
        ({"gameNameField": "x" * 65}, "$.gameNameField: must be at most 64 characters"),
        ({"demoBalance": "lots"}, "$.demoBalance: is not a decimal number"),
        ({"partnerTimeoutMs": 0}, "$.partnerTimeoutMs: must be an integer from 1 to 600000"),
        ({"playerIdField": "sessionId"}, "$.playerIdField: sessionId is already a field of its own"),
        ({"playerIdField": "maxBet"}, "$.playerIdField: maxBet is already a field of its own"),
        ({"game_name_field": "gameCategory"}, "$.game_name_field: gameCategory is already a field of its own"),
    ],
)
async def test_partner_settings_are_checked(admin, change, error):
    status, body = await admin.call("PATCH", "/settings", change)
    assert status == 400 and body["error"].startswith(error)
    settings = await admin.get("/settings")
    assert (settings["partnerTimeoutMs"], settings["playerIdField"], settings["gameNameField"]) == (
        5000, "playerId", "gameName",
    )  # fmt: skip
    assert settings["demoBalance"] == "1000.00"


@pytest.mark.parametrize("meanwhile", ["reset", "clear", "evict", "nothing"])
def test_an_outgoing_entry_completed_late_is_counted_once(meanwhile):
    journal = Journal(limit=3)

    def entry(direction: str = "incoming") -> JournalEntry:
        return JournalEntry(0.0, "GET", "/v1/games", "games", None, (), b"", signature="valid", direction=direction)

    late = entry("outgoing")
    journal.record(late)
    if meanwhile == "reset":
        journal.reset()
    elif meanwhile == "clear":
        journal.clear()
    for _ in range(3 if meanwhile == "evict" else 1):
        journal.record(entry())
    late.response = b"x" * 10_000
    journal.completed(late)
    assert journal.bytes == sum(e.size for e in journal)
    assert (late in list(journal)) == (meanwhile == "nothing")


async def test_a_demo_balance_setting_that_does_not_fit_the_currency_is_named(admin, provider):
    await admin.call("PATCH", "/settings", {"demoBalance": "0.001"})
    before = await admin.get("/sessions"), await admin.get("/players")
    body = {"gameId": "aerobet", "providerUrl": provider, "currency": "EUR", "gameMode": "demo"}
    status, answer = await admin.call("POST", "/launches", body)
    error = "demoBalance: 0.001 has more than 2 decimal places, the precision of EUR (the setting; or give balance)"
    assert (status, answer) == (400, {"error": error})
    assert (await admin.get("/sessions"), await admin.get("/players")) == before
    status, launched = await admin.call("POST", "/launches", {**body, "balance": "5"})
    assert status == 201 and launched["status"] == "launched" and launched["session"]["balance"] == "5.00"
