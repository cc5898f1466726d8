"""The admin API through HTTP: every route, bad input, unknown ids, the token, reset, state and audit."""

from decimal import Decimal as D

import pytest

from betcore_sandbox.web.app import create_app

from .conftest import CP, Admin, Provider


async def test_health(admin):
    body = await admin.get("/health")
    assert body["status"] == "healthy" and body["version"]


async def test_players_list_create_read_patch(admin, provider):
    players = await admin.get("/players")
    assert {"id": "player-eur", "currency": "EUR", "balance": "1000.00", "blocked": False} in players
    status, created = await admin.call("POST", "/players", {"id": "alice", "currency": "BTC", "balance": "0.5"})
    assert status == 201 and created == {"id": "alice", "currency": "BTC", "balance": "0.50000000", "blocked": False}
    status, generated = await admin.call("POST", "/players", {"currency": "EUR"})
    assert status == 201 and generated["id"].startswith("player-") and generated["balance"] == "0.00"
    assert (await admin.get("/players/alice"))["balance"] == "0.50000000"
    status, patched = await admin.call("PATCH", "/players/player-eur", {"balance": "10.00", "blocked": True})
    assert status == 200 and patched["balance"] == "10.00" and patched["blocked"]
    assert await provider.balance() == D("10.00")
    assert (await provider.pay_in("session-eur", "b", "1.00"))["_responseCode"] == 7
    [adjustment] = await admin.get("/transactions?playerId=player-eur")
    assert (adjustment["type"], adjustment["amount"]) == ("adjustment", "-990.00")
    assert (await admin.get("/audit"))["ok"]


async def test_sessions_create_with_player_or_inline_currency(admin, provider):
    status, session = await admin.call(
        "POST", "/sessions", {"id": "s1", "playerId": "player-usd", "ttlSeconds": 60, "minBet": "1", "maxBet": 5}
    )
    assert status == 201
    assert (session["id"], session["playerId"], session["counterpartyId"], session["status"]) == (
        "s1",
        "player-usd",
        CP,
        "active",
    )
    assert session["expiresAt"].endswith("Z") and (session["minBet"], session["maxBet"]) == ("1.00", "5.00")
    status, inline = await admin.call("POST", "/sessions", {"currency": "BTC", "balance": "0.00000042"})
    assert status == 201 and inline["id"].startswith("session-") and inline["balance"] == "0.00000042"
    assert (await admin.get(f"/players/{inline['playerId']}"))["currency"] == "BTC"
    assert await provider.balance(inline["id"]) == D("0.00000042")
    assert any(s["id"] == "s1" for s in await admin.get("/sessions"))
    assert (await admin.get("/sessions/s1"))["balance"] == "250.00"


async def test_sessions_patch_and_delete(admin, provider):
    await provider.pay_in("session-eur", "open", "5.00")
    status, closed = await admin.call("PATCH", "/sessions/session-eur", {"status": "closed"})
    assert status == 200 and closed["status"] == "closed"
    assert (await provider.pay_in("session-eur", "new", "1.00"))["_responseCode"] == 3
    assert (await provider.pay_out("session-eur", "open", "1.00"))["_responseCode"] == 1
    await admin.call("PATCH", "/sessions/session-eur", {"status": "active", "maxBet": "2.00"})
    assert (await provider.pay_in("session-eur", "big", "3.00"))["_responseCode"] == 7
    status, reopened = await admin.call("PATCH", "/sessions/session-expired", {"status": "active"})
    assert reopened["status"] == "active" and reopened["expiresAt"] is None
    assert (await admin.call("DELETE", "/sessions/session-usd"))[0] == 204
    assert (await admin.call("GET", "/sessions/session-usd"))[0] == 404
    assert (await provider.pay_in("session-usd", "gone", "1.00"))["_responseCode"] == 3


async def test_bets_and_transactions(admin, provider):
    await provider.pay_in("session-eur", "b1", "10.00", gameRoundId="r1")
    await provider.pay_out("session-eur", "b1", "25.00", winOdd="2.5")
    await provider.pay_in("session-usd", "b2", "1.00")
    bets = await admin.get("/bets?sessionId=session-eur")
    assert [b["betId"] for b in bets] == ["b1"]
    bet = await admin.get("/bets/b1")
    assert (bet["status"], bet["stake"], bet["win"], bet["winOdd"], bet["gameRoundId"]) == (
        "settled",
        "10.00",
        "25.00",
        "2.5",
        "r1",
    )
    assert [h["operation"] for h in bet["history"]] == ["pay-in", "pay-out"]
    assert [t["type"] for t in bet["transactions"]] == ["bet", "win"]
    assert [b["betId"] for b in await admin.get("/bets?status=open")] == ["b2"]
    assert [b["betId"] for b in await admin.get("/bets?playerId=player-usd")] == ["b2"]
    ledger = await admin.get("/transactions")
    assert [(t["transactionId"], t["type"], t["amount"], t["balanceAfter"]) for t in ledger] == [
        ("1", "bet", "-10.00", "990.00"),
        ("2", "win", "25.00", "1015.00"),
        ("3", "bet", "-1.00", "249.00"),
    ]
    assert len(await admin.get("/transactions?betId=b1")) == 2
    assert len(await admin.get("/transactions?sessionId=session-usd")) == 1


async def test_requests_journal_filter_limit_and_clear(admin, provider):
    await provider.pay_in("session-eur", "j1", "1.00", extra="x")
    await provider.balance()
    await provider.pay_in("session-usd", "j2", "1.00")
    entries = await admin.get("/requests")
    assert [e["endpoint"] for e in entries] == ["pay-in", "balance", "pay-in"]
    first = entries[0]
    assert first["method"] == "POST" and first["path"] == "/v1/sessions/session-eur/bets/pay-in"
    assert ["X-Counterparty-Id", CP] in first["headers"]
    assert '"betId":"j1"' in first["body"]
    assert first["signature"] == {"verdict": "valid"}
    assert first["unknownFields"] == ["extra"]
    assert first["response"]["status"] == 200 and '"_responseCode":1' in first["response"]["body"]
    assert first["durationMs"] >= 0 and first["time"].endswith("Z")
    assert [e["betId"] for e in await admin.get("/requests?endpoint=pay-in&sessionId=session-usd")] == ["j2"]
    assert [e["betId"] for e in await admin.get("/requests?betId=j1")] == ["j1"]
    assert [e["endpoint"] for e in await admin.get("/requests?limit=1")] == ["pay-in"]
    assert (await admin.call("DELETE", "/requests"))[0] == 204
    assert await admin.get("/requests") == []


async def test_journal_is_bounded_by_journal_limit(admin, provider):
    await admin.call("PATCH", "/settings", {"journalLimit": 3})
    for _ in range(5):
        await provider.balance()
    assert len(await admin.get("/requests")) == 3


async def test_journal_keeps_signature_diagnostics(http, admin):
    await Provider(http, secret="wrong").send("balance", "session-eur")
    [entry] = await admin.get("/requests")
    assert entry["signature"]["verdict"] == "invalid"
    assert entry["signature"]["debug"]["expectedSign"]


async def test_faults_routes(admin):
    rule = await admin.fault(endpoint="pay-out", kind="http_error", phase="after")
    assert (rule["id"], rule["fired"], rule["remaining"]) == ("fault-1", 0, 1)
    assert (await admin.get(f"/faults/{rule['id']}"))["kind"] == "http_error"
    assert (await admin.call("DELETE", f"/faults/{rule['id']}"))[0] == 204
    assert (await admin.call("GET", f"/faults/{rule['id']}"))[0] == 404
    await admin.fault(kind="delay", delayMs=1)
    assert (await admin.call("DELETE", "/faults"))[0] == 204
    assert await admin.get("/faults") == []


async def test_settings(admin, provider):
    settings = await admin.get("/settings")
    assert settings == {
        "timestampToleranceMs": 300000,
        "rejectReplayedRequestIds": True,
        "duplicateResponse": {"pay-in": "code", "pay-in-out": "code", "pay-out": "replay", "refund": "replay"},
        "explainSignatures": "hints",
        "journalLimit": 10000,
        "journalMaxBytes": 64 * 1024 * 1024,
        "bodyReadTimeoutMs": 10000,
        "amountNotation": "any",
        "zeroStake": "accept",
        "payOutWithoutBet": "accept",
        "payOutAfterPayInOut": "additional",
        "additionalPayOuts": "conflict",
        "partnerTimeoutMs": 5000,
        "playerIdField": "playerId",
        "gameNameField": "gameName",
        "demoBalance": "1000.00",
    }
    status, changed = await admin.call("PATCH", "/settings", {"duplicateResponse": "replay"})
    assert status == 200 and set(changed["duplicateResponse"].values()) == {"replay"}
    await provider.pay_in("session-eur", "d", "1.00")
    assert (await provider.pay_in("session-eur", "d", "1.00"))["_responseCode"] == 1


async def test_reset_goes_back_to_the_fixture(admin, provider):
    await provider.pay_in("session-eur", "b", "1.00")
    await admin.call("POST", "/players", {"id": "extra", "currency": "EUR"})
    await admin.call("PATCH", "/settings", {"explainSignatures": "off"})
    await admin.fault(kind="http_error", endpoint="refund")
    status, _ = await admin.call("POST", "/reset")
    assert status == 200
    assert await admin.get("/bets") == [] and await admin.get("/transactions") == []
    assert await admin.get("/faults") == [] and await admin.get("/requests") == []
    assert (await admin.get("/settings"))["explainSignatures"] == "hints"
    assert (await admin.call("GET", "/players/extra"))[0] == 404
    assert await provider.balance() == D("1000.00")
    # seen request ids were cleared too: the same id works again after reset
    assert (await provider.pay_in("session-eur", "b", "1.00"))["transactionId"] == "1"


async def test_state_round_trips_exactly(admin, provider):
    await provider.pay_in("session-eur", "a", "10.00", gameRoundId="r")
    await provider.pay_out("session-eur", "a", "12.50")
    await provider.pay_in_out("session-btc", "b", "0.00010000", "0.00020000")
    await provider.pay_in("session-usd", "c", "3.00")
    await provider.refund("session-eur", "ghost")
    await admin.call("PATCH", "/players/player-broke", {"balance": "7.00"})
    await admin.call("PATCH", "/settings", {"duplicateResponse": "replay"})
    exported = await admin.get("/state")
    assert {"bets", "ledger", "tombstones", "lastTransactionId", "players", "sessions"} <= set(exported)

    await provider.pay_out("session-usd", "c", "100.00")
    await provider.pay_in("session-eur", "later", "1.00")
    await admin.call("POST", "/reset")
    status, imported = await admin.call("PUT", "/state", exported)
    assert status == 200, imported
    assert imported["status"] == "imported" and imported["transactions"] == len(exported["ledger"])
    assert await admin.get("/state") == exported
    # and it behaves like the old state: bets, idempotency, tombstones, counters
    assert (await provider.pay_out("session-eur", "a", "12.50"))["_responseCode"] == 1  # replay mode
    assert (await provider.pay_in("session-eur", "ghost", "1.00"))["_responseCode"] == 6
    fresh = await provider.pay_out("session-usd", "c", "100.00")
    assert fresh["transactionId"] == str(exported["lastTransactionId"] + 1)
    assert (await admin.get("/audit"))["ok"]


@pytest.mark.parametrize(
    "method, path, body, message",
    [
        ("POST", "/players", {"balance": "1"}, "currency: is required"),
        ("POST", "/players", {"currency": "XXX"}, "currency: unknown currency 'XXX'"),
        ("POST", "/players", {"currency": "EUR", "balance": "1.001"}, "balance: 1.001 has more than 2"),
        ("POST", "/players", {"currency": "EUR", "balance": True}, "balance: must be a number"),
        ("POST", "/players", {"id": "player-eur", "currency": "EUR"}, "id: player 'player-eur' already exists"),
        ("POST", "/players", {"currency": "EUR", "colour": 1}, "colour: unknown field"),
        ("PATCH", "/players/player-eur", {"balance": "-1"}, "balance: must not be negative"),
        ("PATCH", "/players/player-eur", {"blocked": "yes"}, "blocked: must be true or false"),
        ("POST", "/sessions", {}, "playerId: is required"),
        ("POST", "/sessions", {"playerId": "ghost"}, "playerId: unknown player 'ghost'"),
        ("POST", "/sessions", {"playerId": "player-eur", "currency": "EUR"}, "playerId: give either"),
        ("POST", "/sessions", {"playerId": "player-eur", "counterpartyId": "x"}, "counterpartyId: unknown"),
        ("POST", "/sessions", {"playerId": "player-eur", "ttlSeconds": -5}, "ttlSeconds: must be a number"),
        ("POST", "/sessions", {"playerId": "player-eur", "minBet": "5", "maxBet": "1"}, "minBet: must not be above"),
        ("POST", "/sessions", {"id": "session-eur", "playerId": "player-eur"}, "id: session 'session-eur' already"),
        ("PATCH", "/sessions/session-eur", {"status": "paused"}, "status: must be one of active, closed, expired"),
        ("GET", "/bets?status=lost", None, "status: must be one of"),
        ("GET", "/requests?limit=zero", None, "limit: must be a positive integer"),
        ("POST", "/faults", {"kind": "meteor"}, "kind: must be one of"),
        ("PATCH", "/settings", {"journalLimit": 0}, "journalLimit: must be an integer from 1 to 1000000"),
        ("PATCH", "/settings", {"tolerance": 1}, "tolerance: unknown setting"),
        ("PUT", "/state", {"counterparties": []}, "$.counterparties: at least one counterparty"),
        (
            "PUT",
            "/state",
            {"counterparties": [{"id": "c", "secret": "s"}], "bets": [{"kind": "x"}]},
            "$.bets[0].kind: must be one of pay-in, pay-in-out, pay-out",
        ),
    ],
)
async def test_bad_admin_input_is_400_naming_the_field(admin, state, method, path, body, message):
    before = await admin.get("/state")
    status, answer = await admin.call(method, path, body)
    assert status == 400, answer
    assert message in answer["error"]
    assert await admin.get("/state") == before


async def test_invalid_json_is_400(admin):
    status, answer = await admin.call("POST", "/players", raw=b"{nope")
    assert status == 400 and "not valid JSON" in answer["error"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/players/nobody"),
        ("PATCH", "/players/nobody"),
        ("GET", "/sessions/nope"),
        ("PATCH", "/sessions/nope"),
        ("DELETE", "/sessions/nope"),
        ("GET", "/bets/nope"),
        ("GET", "/faults/fault-9"),
        ("DELETE", "/faults/fault-9"),
    ],
)
async def test_unknown_ids_are_404(admin, method, path):
    status, answer = await admin.call(method, path, {} if method == "PATCH" else None)
    assert status == 404 and "no " in answer["error"]


async def test_admin_token(aiohttp_client, make_state):
    http = await aiohttp_client(create_app(make_state(), admin_token="s3cret"))
    anonymous, wrong, right = Admin(http), Admin(http, "nope"), Admin(http, "s3cret")
    assert (await anonymous.call("GET", "/health"))[0] == 200
    for client in (anonymous, wrong):
        status, answer = await client.call("GET", "/players")
        assert status == 401 and "Bearer" in answer["error"]
        assert (await client.call("POST", "/reset"))[0] == 401
    assert (await right.call("GET", "/players"))[0] == 200
    # the provider API is signed, not token-protected
    assert await Provider(http).balance() == D("1000.00")


async def test_no_token_configured_means_open_admin(admin):
    assert (await admin.call("GET", "/players"))[0] == 200


async def test_audit_is_clean_and_lists_open_bets(admin, provider):
    await provider.pay_in("session-eur", "open-1", "5.00")
    await provider.pay_in("session-eur", "done", "5.00")
    await provider.pay_out("session-eur", "done", "0")
    await provider.pay_in_out("session-usd", "pio", "1.00", "2.00")
    await provider.refund("session-usd", "pio")
    report = await admin.get("/audit")
    assert report["ok"] and report["violations"] == []
    [open_bet] = report["openBets"]
    assert (open_bet["betId"], open_bet["stake"], open_bet["sessionId"]) == ("open-1", "5.00", "session-eur")
    assert open_bet["ageSeconds"] >= 0
