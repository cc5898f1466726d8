"""`betcore-sandbox games` and `launch` as real processes against a running sandbox and provider: output, exits."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from aiohttp import web

from betcore_sandbox import Sandbox

from .partners import answering, closed_port_url, raw, reference_provider, serving
from .process import run_cli

ref = reference_provider()


@pytest.fixture
def sandbox():
    with Sandbox(admin_token="cli-token") as running:
        yield running


async def cli(sandbox: Sandbox, *args: str, token: str | None = "cli-token"):
    """The command, run off the test's loop so that the provider served on it can answer."""
    env = {"BETCORE_SANDBOX_ADMIN_TOKEN": token or ""}
    result = await asyncio.to_thread(run_cli, *args, "--sandbox", sandbox.base_url, env=env)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def test_games_prints_the_games_and_exits_0(sandbox):
    async with serving(ref.create_app(sandbox.url)) as url:
        code, out, err = await cli(sandbox, "games", "--provider-url", url)
    assert code == 0, err
    assert out.splitlines() == [
        f"games of {url}: 2 valid",
        "  aerobet  Aerobet  crash  maxOdd 1000  https://cdn.example/aerobet.png",
        "  fruit-slot  Fruit Slot  slots",
    ]


async def test_games_with_problems_exits_1_and_lists_them(sandbox):
    body = b'{"_responseCode": 1, "games": [{"gameId": "x", "gameCategory": "c"}]}'
    async with serving(answering(raw(body))) as url:
        code, out, _ = await cli(sandbox, "games", "--provider-url", url)
    assert code == 1
    assert out.splitlines()[-2:] == [
        "problems:",
        "  game 1 ('x'): gameName is missing (the setting gameNameField names the field that holds the game's name)",
    ]


async def test_launch_prints_the_session_and_frame_and_exits_0(sandbox):
    app = ref.create_app(sandbox.url)
    async with serving(app) as url:
        code, out, err = await cli(
            sandbox,
            "launch",
            "--provider-url",
            url,
            "--game",
            "aerobet",
            "--currency",
            "USD",
            "--balance",
            "20",
            "--language",
            "fr",
            "--min-bet",
            "0.20",
            "--max-bet",
            "10",
            "--session-id",
            "cli-session",
        )
    assert code == 0, err
    player = app[ref.LAUNCHES][0]["body"]["playerId"]
    assert out.splitlines() == [
        "launched: aerobet in session cli-session",
        f"  player   {player} (20.00 USD)",
        "  limits   0.20 to 10.00",
        f"  frameUri {url}/play/cli-session",
    ]
    body = app[ref.LAUNCHES][0]["body"]
    assert (body["language"], str(body["minBet"]), body["currency"]) == ("fr", "0.20", "USD")


async def test_launch_in_demo_mode_as_json(sandbox):
    async with serving(ref.create_app(sandbox.url)) as url:
        code, out, _ = await cli(
            sandbox, "launch", "--provider-url", url, "--game", "aerobet", "--mode", "demo", "--json"
        )
    assert code == 0
    result = json.loads(out)
    assert result["session"]["demo"] is True and result["session"]["balance"] == "1000.00"
    assert json.loads(result["request"]["body"])["gameMode"] == "demo"


async def test_a_failed_launch_exits_1_with_the_reason(sandbox):
    code, out, _ = await cli(sandbox, "launch", "--provider-url", closed_port_url(), "--game", "aerobet")
    assert code == 1
    assert out.splitlines()[0].startswith("failed: aerobet in session ")
    assert "launchFailed" in out.splitlines()[1]
    assert out.splitlines()[-2] == "problems:" and "the provider did not answer" in out.splitlines()[-1]


async def test_an_unsigned_launch_refused_by_the_provider_exits_1(sandbox):
    async with serving(ref.create_app(sandbox.url)) as url:
        code, out, _ = await cli(sandbox, "launch", "--provider-url", url, "--game", "aerobet", "--no-sign")
    assert code == 1 and "HTTP 401, not 2xx: _responseCode 8 ('missing header X-Sign')" in out


async def test_bad_input_and_a_missing_token_and_no_sandbox_exit_1(sandbox):
    code, _, err = await cli(sandbox, "launch", "--provider-url", "not-a-url", "--game", "g")
    assert code == 1 and "/__admin/launches: HTTP 400: providerUrl: must be an absolute http(s) URL" in err
    code, _, err = await cli(sandbox, "games", "--provider-url", "http://127.0.0.1:9", token=None)
    assert code == 1 and "requires its admin token: BETCORE_SANDBOX_ADMIN_TOKEN is unset; set it to that token" in err
    result = await asyncio.to_thread(run_cli, "games", "--sandbox", closed_port_url(), "--provider-url", "http://x")
    assert result.returncode == 1 and "cannot reach the sandbox at" in result.stderr.decode()
    assert sandbox.launches() == []


async def test_a_sandbox_url_that_is_something_else_exits_1_with_why():
    async def odd(request):
        status = 400 if request.method == "POST" else 200
        return web.json_response([1], status=status)

    app = web.Application()
    app.router.add_route("*", "/__admin/{tail:.*}", odd)
    async with serving(app) as url:
        games = await asyncio.to_thread(run_cli, "games", "--sandbox", url, "--provider-url", "http://x")
        launch = await asyncio.to_thread(run_cli, "launch", "--sandbox", url, "--game", "g")
    assert games.returncode == 1 and games.stderr.decode() == (
        f"betcore-sandbox: error: {url} is not a betcore-sandbox: its answer to GET /__admin/games is not one\n"
    )
    assert launch.returncode == 1
    assert launch.stderr.decode() == f"betcore-sandbox: error: POST {url}/__admin/launches: HTTP 400: [1]\n"


def closed_stdout_run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The command with a standard output nobody reads any more (the read end closed before it starts)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "betcore_sandbox", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            timeout=20,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("json_output", [False, True])
async def test_a_reader_that_goes_away_ends_the_command_quietly(sandbox, json_output):
    async with serving(ref.create_app(sandbox.url)) as url:
        args = ["launch", "--provider-url", url, "--game", "aerobet", "--sandbox", sandbox.base_url]
        result = await asyncio.to_thread(
            closed_stdout_run,
            *args,
            *(["--json"] if json_output else []),
            env={"BETCORE_SANDBOX_ADMIN_TOKEN": "cli-token"},
        )
    assert result.stderr.decode() == "" and result.returncode == 141  # as a shell reports a command cut off by SIGPIPE
    assert sandbox.launches()[-1].status == "launched"  # it ran; only its output had nowhere to go


def test_sign_and_healthcheck_also_end_quietly_without_a_reader():
    result = closed_stdout_run("sign", "GET", "/v1/x", "--counterparty-id", "c", "--secret", "s")
    assert (result.returncode, result.stderr.decode()) == (141, "")


WRONG = (
    "--sandbox must be the sandbox's URL, http(s)://host:port (its provider API URL, ending in /v1, is taken too), got "
)


@pytest.mark.parametrize(
    ("given", "env", "error"),
    [
        ("127.0.0.1:18158", {}, WRONG + "'127.0.0.1:18158'"),
        (
            "http://127.0.0.1:18158/v2",
            {},
            WRONG + "'http://127.0.0.1:18158/v2'",
        ),
        (
            "http://127.0.0.1:99999",
            {},
            WRONG + "'http://127.0.0.1:99999'",
        ),
        (
            "ftp://127.0.0.1:1",
            {},
            WRONG + "'ftp://127.0.0.1:1'",
        ),
        (None, {"BETCORE_SANDBOX_PORT": "abc"}, "BETCORE_SANDBOX_PORT must be a port number (1-65535), got 'abc'"),
    ],
)
@pytest.mark.parametrize("command", ["games", "launch"])
def test_an_unusable_sandbox_url_is_named_before_any_call(command, given, env, error):
    args = [command, "--provider-url", "http://127.0.0.1:9", *(["--game", "g"] if command == "launch" else [])]
    result = run_cli(*args, *(["--sandbox", given] if given else []), env=env)
    assert (result.returncode, result.stdout, result.stderr.decode()) == (1, b"", f"betcore-sandbox: error: {error}\n")


def test_an_unreachable_default_sandbox_says_how_to_point_at_another():
    port = closed_port_url().rsplit(":", 1)[1]
    result = run_cli("games", "--provider-url", "http://127.0.0.1:9", env={"BETCORE_SANDBOX_PORT": port})
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"betcore-sandbox: error: cannot reach the sandbox at http://127.0.0.1:{port}: Connection refused"
        " (set BETCORE_SANDBOX_PORT or BETCORE_SANDBOX_URL, or pass --sandbox URL)\n"
    )


async def test_a_failed_call_shows_the_url_it_went_to(sandbox):
    async with serving(ref.create_app(sandbox.url)) as url:
        code, out, _ = await cli(sandbox, "games", "--provider-url", url + "/v1")
    assert code == 1
    assert out.splitlines() == [
        f"games of {url}/v1: 0 valid",
        f"  called   GET {url}/v1/v1/games (HTTP 404)",
        "problems:",
        "  the answer is HTTP 404, not 2xx: body 404: Not Found",
        "  providerUrl is the base URL, without /v1: the sandbox appends /v1/... itself",
    ]


async def test_a_new_player_without_a_balance_is_pointed_out(sandbox):
    async with serving(ref.create_app(sandbox.url)) as url:
        code, out, _ = await cli(sandbox, "launch", "--provider-url", url, "--game", "aerobet")
        given = await cli(sandbox, "launch", "--provider-url", url, "--game", "aerobet", "--balance", "20")
    assert code == 0 and "(0.00 EUR)" in out.splitlines()[1]
    assert out.splitlines()[-1] == (
        "note: the new player's balance is 0: give --balance to play (a first bet is refused, code 4)"
    )
    assert given[0] == 0 and "(20.00 EUR)" in given[1] and "note:" not in given[1]  # --balance alone: EUR


async def test_a_balance_given_wins_over_demo_balance(sandbox):
    async with serving(ref.create_app(sandbox.url)) as url:
        code, out, _ = await cli(
            sandbox, "launch", "--provider-url", url, "--game", "aerobet", "--mode", "demo", "--balance", "20"
        )
    assert code == 0 and out.splitlines()[1].endswith("(20.00 EUR, demo)")


@pytest.mark.parametrize(
    "args",
    [
        ["launch", "--provider-url", "http://127.0.0.1:9"],
        ["games", "--bogus"],
        ["launch", "--game", "g", "--mode", "x"],
    ],
)
def test_a_usage_error_exits_2(args):
    result = run_cli(*args)
    assert result.returncode == 2 and result.stderr.decode().startswith("usage: betcore-sandbox")
