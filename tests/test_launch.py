"""Games and Launch: the sandbox calls the provider's PARTNER API, over real sockets, and checks the answers."""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import tracemalloc
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from betcore_sandbox import Sandbox
from betcore_sandbox.errors import AdminInputError
from betcore_sandbox.fixtures import FixtureError, default_fixture_bytes, parse_fixture
from betcore_sandbox.limits import MAX_PARTNER_ANSWER
from betcore_sandbox.partner import MAX_GAME_PROBLEMS, Answer, read_games
from betcore_sandbox.signing import compute_sign, signed_headers, string_to_sign

from .conftest import CP, DURABLE, SECRET
from .partners import answering, closed_port_url, never_answers, raw, reference_provider, serving

ref = reference_provider()


@pytest.fixture
def sandbox(tmp_path):
    with Sandbox(state=tmp_path / "state.db" if DURABLE else None) as running:
        yield running
        assert running.internal_errors == []


@pytest.fixture
async def provider(sandbox):
    """The reference provider, its wallet calls going to the sandbox: (app, base URL)."""
    app = ref.create_app(sandbox.url)
    async with serving(app) as url:
        yield app, url


async def wallet_balance(sandbox: Sandbox, session_id: str) -> dict:
    headers = signed_headers(SECRET, CP, "GET")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sandbox.url}/sessions/{session_id}/balance", headers=headers) as response,
    ):
        return json.loads(await response.read(), parse_float=Decimal)


def journal(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [(e.direction, e.endpoint) for e in sandbox.requests()]


async def test_full_loop_games_launch_balance_pay_in_pay_out(sandbox, provider):
    app, url = provider
    games = await sandbox.games_async(url)
    assert games.status == "ok" and games.problems == []
    assert [g.game_id for g in games.games] == ["aerobet", "fruit-slot"]
    assert games.games[0].to_dict() == {
        "gameId": "aerobet",
        "gameName": "Aerobet",
        "gameCategory": "crash",
        "maxOdd": 1000,
        "lobbyImgUrl": "https://cdn.example/aerobet.png",
    }

    launched = await sandbox.launch_async(
        "aerobet", provider_url=url, currency="EUR", balance="50.00", language="de", min_bet="0.50", max_bet="20"
    )
    assert launched.status == "launched", launched.problems
    session = launched.session
    assert launched.frame_uri == f"{url}/play/{session.id}"
    assert (session.balance, session.min_bet, session.max_bet) == (Decimal("50.00"), Decimal("0.50"), Decimal(20))
    assert not session.demo and not session.launch_failed

    # The provider got a correctly signed request carrying every field.
    (received,) = app[ref.LAUNCHES]
    h = received["headers"]
    assert h["X-Counterparty-Id"] == CP
    message = string_to_sign("POST", received["raw"], CP, h["X-Timestamp"], h["X-Request-Id"])
    assert h["X-Sign"] == compute_sign(SECRET, message)
    assert received["body"] == {
        "sessionId": session.id,
        "playerId": session.player_id,
        "currency": "EUR",
        "language": "de",
        "minBet": Decimal("0.50"),
        "maxBet": Decimal("20.00"),
        "gameMode": "real",
    }
    assert received["gameId"] == "aerobet"

    # The game frame plays a round: PayIn, PayOut through the wallet API with the launched sessionId.
    async with aiohttp.ClientSession() as http, http.post(launched.frame_uri, json={"stake": "2", "win": "5"}) as r:
        outcome = await r.json()
    assert outcome["outcome"] == "settled" and Decimal(outcome["balance"]) == Decimal("53.00")

    assert journal(sandbox) == [
        ("outgoing", "games"),
        ("outgoing", "launch"),
        ("incoming", "balance"),
        ("incoming", "pay-in"),
        ("incoming", "pay-out"),
    ]
    entries = sandbox.requests()
    assert entries[1].url == f"{url}/v1/games/aerobet/launch" and entries[1].session_id == session.id
    assert entries[1].response["status"] == 200 and "frameUri" in entries[1].response["body"]
    assert entries[1].signature["verdict"] == "signed"
    assert {e.session_id for e in entries[2:]} == {session.id}
    assert sandbox.launches()[0].to_dict() == launched.to_dict()
    sandbox.assert_audit_ok()
    sandbox.assert_no_open_bets()


async def test_a_failing_pay_out_is_retried_then_refunded_by_the_reference_provider(sandbox, provider):
    _, url = provider
    launched = await sandbox.launch_async("fruit-slot", provider_url=url, currency="EUR", balance="10")
    sandbox.add_fault(kind="http_error", endpoint="pay-out", times=2)
    async with aiohttp.ClientSession() as http, http.post(launched.frame_uri, json={"stake": "1", "win": "3"}) as r:
        outcome = await r.json()
    assert outcome["outcome"] == "refunded" and outcome["refundCode"] == 1
    assert sandbox.bet(outcome["betId"]).status == "refunded"
    assert [e for _, e in journal(sandbox)][2:] == ["pay-in", "pay-out", "pay-out", "refund"]
    sandbox.assert_balance(launched.session.id, "10.00")


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"stake": "abc"}', b'{"stake": "NaN"}', b'{"win": "-1"}'])
async def test_the_reference_provider_refuses_a_bad_round_before_any_wallet_call(sandbox, provider, body):
    _, url = provider
    launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR", balance="10")
    async with aiohttp.ClientSession() as http, http.post(launched.frame_uri, data=body) as r:
        assert r.status == 400 and "the body must be" in (await r.json())["error"]
    assert [e for _, e in journal(sandbox)] == ["launch", "balance"]


async def test_demo_launch_gets_a_flagged_session_and_a_player_with_the_demo_balance(sandbox, provider):
    app, url = provider
    sandbox.settings(demo_balance="250.5")
    launched = await sandbox.launch_async("aerobet", provider_url=url, currency="USD", game_mode="demo")
    assert launched.status == "launched" and launched.game_mode == "demo"
    assert launched.session.demo and launched.session.balance == Decimal("250.50")
    body = app[ref.LAUNCHES][0]["body"]
    assert body["gameMode"] == "demo" and body["sessionId"] == launched.session.id != "demo"
    assert sandbox.session(launched.session.id).demo
    async with aiohttp.ClientSession() as http, http.post(launched.frame_uri, json={"stake": "1.5"}) as r:
        assert (await r.json())["outcome"] == "settled"
    sandbox.assert_balance(launched.session.id, "249.00")
    with pytest.raises(Exception, match="playerId: a demo launch plays with a player of its own"):
        await sandbox.launch_async("aerobet", provider_url=url, player_id="player-eur", game_mode="demo")


async def test_an_existing_player_can_be_launched(sandbox, provider):
    app, url = provider
    launched = await sandbox.launch_async("aerobet", provider_url=url, player_id="player-eur", session_id="s-1")
    assert launched.status == "launched" and launched.session.id == "s-1"
    assert app[ref.LAUNCHES][0]["body"]["playerId"] == "player-eur"
    assert app[ref.LAUNCHES][0]["body"]["currency"] == "EUR"


FAILURES = [
    ("non-JSON", raw(b"<html>oops</html>"), "is not JSON: the body is not valid JSON"),
    ("code 2", raw(b'{"_responseCode": 2, "message": "unknown game"}'), "_responseCode is 2, not 1 (HTTP 200)"),
    ("no frameUri", raw(b'{"_responseCode": 1}'), "frameUri is missing"),
    ("relative frameUri", raw(b'{"_responseCode": 1, "frameUri": "/play/1"}'), "frameUri must be an absolute"),
    ("unclosed IPv6 frameUri", raw(b'{"_responseCode": 1, "frameUri": "http://[::1/p"}'), "frameUri must be an"),
    ("frameUri with an empty label", raw(b'{"_responseCode": 1, "frameUri": "http://a..b/"}'), "frameUri must be"),
    ("invalid UTF-8", raw(b'{"_responseCode": 1, "frameUri": "\xff"}'), "is not valid UTF-8"),
    ("deep JSON", raw(b"[" * 200_000), "is nested too deeply"),
    ("huge body", raw(b'{"pad": "' + b"x" * (2 * MAX_PARTNER_ANSWER) + b'"}'), f"over {MAX_PARTNER_ANSWER} bytes"),
    ("a JSON array", raw(b"[1]"), "is not a JSON object"),
    ("HTTP 500", raw(b"", 500), "the answer is HTTP 500, not 2xx: the body is empty"),
    (
        "HTTP 500 with code 1 and a frameUri",
        raw(b'{"_responseCode": 1, "frameUri": "https://games.example/play/1"}', 500),
        "the answer is HTTP 500, not 2xx: _responseCode 1",
    ),
    ("HTTP 404 page", raw(b"404: Not Found", 404), "the answer is HTTP 404, not 2xx: body 404: Not Found"),
    ("HTML page", raw(b"<html>\n  <b>oops</b>\n</html>"), "is not JSON: the body is not valid JSON: "),
    ("no _responseCode", raw(b'{"frameUri": "http://x/"}'), "_responseCode is missing (HTTP 200)"),
    ("_responseCode true", raw(b'{"_responseCode": true}'), "_responseCode is true, not 1 (HTTP 200)"),
    ("_responseCode null", raw(b'{"_responseCode": null}'), "_responseCode is null, not 1 (HTTP 200)"),
    ("frameUri null", raw(b'{"_responseCode": 1, "frameUri": null}'), "frameUri must be an absolute http(s) URL"),
]


@pytest.mark.parametrize(("handler", "reason"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
async def test_a_bad_launch_answer_fails_with_its_reason_and_keeps_the_session(sandbox, handler, reason):
    async with serving(answering(handler)) as url:
        launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR", balance="5")
    assert launched.status == "failed" and launched.frame_uri is None
    assert len(launched.problems) == 1 and reason in launched.problems[0], launched.problems
    assert launched.session.launch_failed and sandbox.session(launched.session.id).launch_failed
    late = await wallet_balance(sandbox, launched.session.id)  # a late wallet call is still answered
    assert late["_responseCode"] == 1 and late["balance"] == Decimal(5)
    outgoing, incoming = sandbox.requests()
    assert (outgoing.direction, outgoing.endpoint, incoming.direction) == ("outgoing", "launch", "incoming")
    assert len(outgoing.response["body"]) <= MAX_PARTNER_ANSWER
    assert sandbox.launches()[-1].status == "failed"


async def test_an_endless_answer_is_read_no_further_than_the_limit(sandbox):
    """The sandbox stops reading past MAX_PARTNER_ANSWER: the provider below sends more, then holds the answer open,
    so a sandbox that read on would wait for the timeout instead."""
    sandbox.settings(partner_timeout_ms=30_000)

    async def flood(request):
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b" " * 65536
        for _ in range(4 * MAX_PARTNER_ANSWER // len(chunk)):
            await response.write(chunk)
        await asyncio.Event().wait()  # until the server shuts down

    async with serving(answering(flood)) as url:
        launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR")
    assert launched.problems == [f"the answer is over {MAX_PARTNER_ANSWER} bytes: the sandbox read no further"]
    assert len(sandbox.requests()[0].response["body"]) == MAX_PARTNER_ANSWER


async def test_a_provider_that_is_down_fails_the_launch(sandbox, caplog):
    caplog.set_level("INFO", "betcore_sandbox.requests")
    launched = await sandbox.launch_async("aerobet", provider_url=closed_port_url(), currency="EUR")
    assert launched.status == "failed" and launched.response is None
    assert launched.problems[0].startswith("the provider did not answer: ")
    (entry,) = sandbox.requests()
    assert entry.response is None and entry.error == launched.problems[0]
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("outgoing")]
    assert line.startswith("outgoing launch http://127.0.0.1:") and "http=- " in line and "did not answer" in line


async def test_a_provider_slower_than_the_timeout_fails_the_launch(sandbox):
    sandbox.settings(partner_timeout_ms=200)
    async with serving(answering(never_answers)) as url:
        started = asyncio.get_running_loop().time()
        launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR")
        waited = asyncio.get_running_loop().time() - started
    assert launched.status == "failed"
    assert launched.problems == ["no answer within 200 ms (setting partnerTimeoutMs)"]
    assert waited < 10  # gave up at the timeout, not when the provider went away


async def test_an_unsigned_launch_is_refused_by_a_provider_that_checks(sandbox, provider):
    _, url = provider
    launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR", sign=False)
    assert launched.status == "failed"
    assert launched.problems == ["the answer is HTTP 401, not 2xx: _responseCode 8 ('missing header X-Sign')"]
    headers = launched.request["headers"]
    assert "X-Sign" not in headers  # but the rest, so that the provider's refusal is about the signature
    assert (
        headers["X-Counterparty-Id"] == CP and headers["X-Timestamp"].isdigit() and len(headers["X-Request-Id"]) == 32
    )
    assert sandbox.requests()[0].signature["verdict"] == "unsigned"


async def test_games_entries_are_checked_one_by_one(sandbox):
    listed = [
        {"gameId": "ok", "gameName": "Fine", "gameCategory": "slots"},
        {"gameId": "noname", "gameCategory": "slots"},
        {"gameId": "aerobet", "gameName": "Aerobet", "gameCategory": "crash", "maxOdd": "1000x"},
        {"gameId": "img", "gameName": "I", "gameCategory": "c", "lobbyImgUrl": "/img.png"},
        {"gameId": 7, "gameName": "Seven", "gameCategory": "c"},
        {"gameId": "ok", "gameName": "Again", "gameCategory": "slots"},
        "not a game",
        {"gameId": "odd", "gameName": "O", "gameCategory": "c", "maxOdd": 2.5},
        {"gameId": "yes", "gameName": "Y", "gameCategory": "c", "maxOdd": True},
        {"gameId": "zero", "gameName": "Z", "gameCategory": "c", "maxOdd": 0},
        {"gameId": "blank", "gameName": " ", "gameCategory": "c"},
    ]
    body = json.dumps({"games": listed, "_responseCode": 1}).encode()
    async with serving(answering(raw(body))) as url:
        found = await sandbox.games_async(url)
    assert found.status == "failed"
    assert [g.game_id for g in found.games] == ["ok", "odd"]
    assert found.games[1].max_odd == Decimal("2.5")
    assert found.problems == [
        "game 2 ('noname'): gameName is missing (the setting gameNameField names the field that holds the game's name)",
        "game 3 ('aerobet'): maxOdd must be a positive number, got '1000x'",
        "game 4 ('img'): lobbyImgUrl must be an absolute http(s) URL, got '/img.png'",
        "game 5: gameId must be a non-empty string, got 7",
        "game 6 ('ok'): gameId 'ok' is listed twice",
        "game 7: must be an object, got 'not a game'",
        "game 9 ('yes'): maxOdd must be a positive number, got true",
        "game 10 ('zero'): maxOdd must be a positive number, got 0",
        "game 11 ('blank'): gameName must be a non-empty string, got ' '",
    ]
    assert journal(sandbox) == [("outgoing", "games")]


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (raw(b'{"_responseCode": 1}'), "games must be an array, got null"),
        (raw(b'{"_responseCode": 1, "games": {"a": [1, false]}}'), 'games must be an array, got {"a":[1,false]}'),
        (raw(b'{"_responseCode": 1, "games": []}', 503), "the answer is HTTP 503, not 2xx: _responseCode 1"),
        (raw(b"nope"), "is not JSON"),
        (raw(b'{"_responseCode": 99, "games": []}'), "_responseCode is 99"),
    ],
)
async def test_a_bad_games_answer_is_a_problem(sandbox, handler, reason):
    async with serving(answering(handler)) as url:
        found = await sandbox.games_async(url)
    assert found.status == "failed" and found.games == [] and reason in found.problems[0]


async def test_a_launch_the_client_cannot_send_fails_cleanly():
    """A counterparty id the fixture allows but no HTTP header can carry: the launch fails, the session is kept."""
    data = json.loads(default_fixture_bytes())
    odd = "cp\nwith-a-newline"
    data["counterparties"].append({"id": odd, "secret": "s"})
    with Sandbox(data) as sandbox:
        async with serving(answering(raw(b'{"_responseCode": 1, "frameUri": "http://x/", "games": []}'))) as url:
            launched = await sandbox.launch_async("g", provider_url=url, counterparty_id=odd, currency="EUR")
            found = await sandbox.games_async(url, counterparty_id=odd)
        assert sandbox.internal_errors == []
    assert launched.status == "failed" and launched.session.launch_failed
    assert launched.problems[0].startswith("the request could not be sent: ")
    assert found.status == "failed" and found.problems[0].startswith("the request could not be sent: ")


async def test_games_from_a_provider_that_is_down(sandbox):
    url = closed_port_url()
    found = await sandbox.games_async(url)
    assert found.status == "failed"
    assert found.problems == [f"the provider did not answer: connection refused by {url.removeprefix('http://')}"]


async def test_a_game_with_its_name_under_another_field_hints_at_the_setting(sandbox):
    listed = [{"gameId": "g", "name": "Game", "gameCategory": "c"}]
    async with serving(answering(raw(json.dumps({"games": listed, "_responseCode": 1}).encode()))) as url:
        found = await sandbox.games_async(url)
    assert found.problems == [
        "game 1 ('g'): gameName is missing (this game has 'name': if that is the name, set the setting "
        "gameNameField to 'name')"
    ]


async def test_a_provider_url_ending_in_v1_is_called_as_given_and_hinted_at(sandbox, provider):
    _, url = provider
    found = await sandbox.games_async(url + "/v1")
    launched = await sandbox.launch_async("aerobet", provider_url=url + "/v1", currency="EUR")
    for result in (found, launched):
        assert result.status == "failed"
        assert result.problems == [
            "the answer is HTTP 404, not 2xx: body 404: Not Found",
            "providerUrl is the base URL, without /v1: the sandbox appends /v1/... itself",
        ]
    assert found.request["url"] == url + "/v1/v1/games"
    games_entry, launch_entry = sandbox.requests()
    assert (games_entry.path, games_entry.url) == ("/v1/v1/games", url + "/v1/v1/games")
    assert (launch_entry.path, launch_entry.url) == ("/v1/v1/games/aerobet/launch", url + "/v1/v1/games/aerobet/launch")
    assert (await sandbox.games_async(url + "/")).problems == []  # a trailing slash is not a /v1


async def test_field_spellings_are_settings(sandbox):
    sandbox.settings(player_id_field="userId", game_name_field="title")
    listed = [{"gameId": "g", "title": "Game", "gameCategory": "c"}]
    app = ref.create_app(sandbox.url, games_listed=listed, player_field="userId")
    async with serving(app) as url:
        found = await sandbox.games_async(url)
        launched = await sandbox.launch_async("g", provider_url=url, currency="EUR")
    assert found.games[0].game_name == "Game" and found.problems == []
    assert launched.status == "launched"
    assert app[ref.LAUNCHES][0]["body"]["userId"] == launched.session.player_id


async def test_the_provider_url_can_come_from_the_fixture():
    data = json.loads(default_fixture_bytes())
    with Sandbox(data) as plain:
        with pytest.raises(AdminInputError, match=r"providerUrl: counterparty .* has no providerUrl in the fixture"):
            await plain.launch_async("aerobet", currency="EUR")
        assert len(plain.export_state()["sessions"]) == len(data["sessions"])  # nothing changed
    app = ref.create_app("http://127.0.0.1:9/v1")  # its wallet URL is set once the sandbox runs
    async with serving(app) as url:
        data["counterparties"][0]["providerUrl"] = url + "/"
        with Sandbox(data) as sandbox:
            app[ref.WALLET].base_url = sandbox.url
            assert (await sandbox.games_async()).status == "ok"
            assert (await sandbox.launch_async("aerobet", currency="EUR")).status == "launched"
            assert sandbox.export_state()["counterparties"][0]["providerUrl"] == url + "/"


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("games.example", "must be an absolute http"),
        ("http://[::1/api", "must be an absolute http"),
        ("http://games..example", "must be an absolute http"),
        ("https://games.example/api?key=1", "must be a base URL without a query or a fragment"),
    ],
)
def test_a_fixture_provider_url_must_be_an_absolute_base_url(url, error):
    data = {"counterparties": [{"id": "cp", "secret": "s", "providerUrl": url}]}
    with pytest.raises(FixtureError, match=r"\$\.counterparties\[0\]\.providerUrl: " + error):
        parse_fixture(data)


def test_a_blocking_call_from_a_running_loop_is_refused_with_the_way_out(sandbox):
    async def inside() -> None:
        with pytest.raises(RuntimeError, match="launch_async"):
            sandbox.launch("aerobet", provider_url="http://127.0.0.1:9", currency="EUR")

    asyncio.run(inside())
    assert sandbox.requests() == []


async def test_the_blocking_call_works_from_a_worker_thread(sandbox, provider):
    _, url = provider
    launched = await asyncio.to_thread(sandbox.launch, "aerobet", provider_url=url, currency="EUR", balance="1")
    games = await asyncio.to_thread(sandbox.games, url)
    assert launched.status == "launched" and games.status == "ok"


async def test_a_launch_result_stays_valid_json_for_any_answer(sandbox):
    async with serving(answering(raw(b'{"_responseCode": 1, "frameUri": "http://x/\\u0000"}'))) as url:
        launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR")
    assert launched.status == "failed" and "frameUri must be an absolute" in launched.problems[0]


async def test_changing_a_launch_result_leaves_the_launches_kept(sandbox, provider):
    _, url = provider
    launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR")
    kept = copy.deepcopy(sandbox.launches()[0].to_dict())
    launched.problems.append("changed by the caller")
    launched.request["headers"].clear()
    sandbox.launches()[0].response["body"] = ""
    assert sandbox.launches()[0].to_dict() == kept and kept["request"]["headers"]


async def test_stopping_the_sandbox_ends_a_launch_under_way():
    arrived = asyncio.Event()

    async def hold(request):
        arrived.set()
        await asyncio.Event().wait()  # until the server shuts down

    sandbox = Sandbox(partnerTimeoutMs=600_000).start()
    try:
        async with serving(answering(hold)) as url:
            launch = asyncio.ensure_future(sandbox.launch_async("aerobet", provider_url=url, currency="EUR"))
            await asyncio.wait_for(arrived.wait(), 10)
            await asyncio.to_thread(sandbox.stop)
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(launch, 10)
    finally:
        sandbox.stop()
    gc.collect()  # a socket the cancelled call left open would be reported here, not in some later test


def test_a_games_answer_full_of_bad_entries_is_summed_up_not_worded():
    """Problems past the first MAX_GAME_PROBLEMS are counted: a hostile list of a million entries costs its size,
    not a worded problem each."""
    count = 50_000
    body = b'{"_responseCode": 1, "games": [' + b",".join([b"{}"] * count) + b"]}"
    tracemalloc.start()
    try:
        found, problems = read_games(Answer(status=200, body=body), "gameName")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == [] and len(problems) == MAX_GAME_PROBLEMS + 1
    assert problems[0] == "game 1: gameId is missing"
    assert problems[-1] == f"... and {3 * count - MAX_GAME_PROBLEMS} more problems"
    assert peak < 40 * len(body)  # the decoded list itself, and little more (a worded problem each: over 100 times)
