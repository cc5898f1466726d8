"""Command line: `serve` (the default), `healthcheck`, `sign`, and against a running sandbox `clock`,
`games` / `launch` (it calls a provider's Games and Launch), `scenario`, `report` and the admin commands of
admin_cli.py (`faults`, `reset`, `audit`, `balance`, `requests`, `state`).

aiohttp is imported only by `serve`, so `healthcheck` (Docker's HEALTHCHECK), `sign` and `clock` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import logging
import os
import shlex
import signal
import socket
import sys
import urllib.parse
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, admin_cli, jsontext
from .clock import iso_ms
from .config import ConfigError, ServerConfig, env_name, resolve, settings_from_env, unknown_env_names
from .durations import duration_ms as _duration_ms
from .durations import duration_text as _duration_text
from .fixtures import Fixture, FixtureError, load_fixture
from .inputs import parse_instant
from .limits import LINGER_SECONDS, MAX_CLOCK_MS, SHUTDOWN_GRACE_SECONDS
from .logs import FORMATS, LEVELS, LOG, configure, escape
from .signing import signed_headers, string_to_sign

if TYPE_CHECKING:
    from aiohttp import web

COMMANDS = (
    "serve",
    "healthcheck",
    "sign",
    "clock",
    "games",
    "launch",
    "scenario",
    "report",
    "schema",
    *admin_cli.COMMANDS,
)
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader went away
PARTNER_CALL_TIMEOUT = 660.0  # seconds: past the longest partnerTimeoutMs a sandbox accepts
EXIT_STATE = 3  # the --state database cannot be used
HEALTH_PATH = "/__admin/health"
SCHEMAS = {"fixture": "schemas/fixture.schema.json", "provider": "openapi/provider.json", "admin": "openapi/admin.json"}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] not in COMMANDS and not args[0].startswith("-"):
        return _fail(_unknown_command(args[0]))  # serve, the default, takes options only: this is a typo
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help", "--version")):
        args.insert(0, "serve")
    options = _parser().parse_args(args)
    try:
        code: int = options.run(options)
        sys.stdout.flush()  # inside the try: a reader gone by now (`| head -1`) is a broken pipe too
    except BrokenPipeError:
        return _reader_gone()
    return code


def _unknown_command(given: str) -> str:
    close = difflib.get_close_matches(given, COMMANDS, n=1)
    hint = f"did you mean {close[0]}?" if close else f"the commands: {', '.join(COMMANDS)}"
    return f"unknown command {given!r} ({hint})"


def _reader_gone() -> int:
    """The reader of standard output went away (`launch ... | head -1`): stop quietly, as `yes | head` does.

    What is still buffered can never be written; pointing stdout at /dev/null keeps Python's flush at exit from
    reporting the broken pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="betcore-sandbox", description="A stateful local stand-in for the BETCORE aggregator's wallet API."
    )
    parser.add_argument("--version", action="version", version=f"betcore-sandbox {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="{" + ",".join(COMMANDS) + "}")

    serve = commands.add_parser("serve", help="run the sandbox (the default command)")
    serve.add_argument("--host", help=f"address to bind (env {env_name('host')}; default 127.0.0.1)")
    serve.add_argument("--port", help=f"port to bind, 0 for any free one (env {env_name('port')}; default 8080)")
    serve.add_argument("--fixtures", help=f"fixture JSON file (env {env_name('fixtures')}; default: embedded)")
    serve.add_argument(
        "--state",
        help=f"durable mode: keep the wallet in this SQLite file, resumed on restart (env {env_name('state')})",
    )
    serve.add_argument(
        "--fixtures-merge",
        action="store_const",
        const=True,
        help="with an existing --state database: add the fixture's players and sessions it does not have "
        f"(env {env_name('fixtures_merge')}=true; default: the fixture only seeds a new database)",
    )
    serve.add_argument(
        "--admin-token", help=f"require this bearer token on the admin API (env {env_name('admin_token')})"
    )
    serve.add_argument("--log-format", choices=FORMATS, help=f"env {env_name('log_format')}; default text")
    serve.add_argument("--log-level", choices=LEVELS, help=f"env {env_name('log_level')}; default info")
    serve.add_argument(
        "--header-timeout", help=f"seconds for a request head to arrive (env {env_name('header_timeout')}; default 10)"
    )
    serve.set_defaults(run=_serve)

    health = commands.add_parser("healthcheck", help="exit 0 when a sandbox answers healthy, 1 otherwise")
    admin_cli.add_sandbox_option(
        health, "--url", "--sandbox", help=admin_cli.SANDBOX_HELP + "; a full .../__admin/health URL is taken too"
    )
    health.add_argument("--timeout", type=float, default=3.0, help="seconds to wait (default 3)")
    health.set_defaults(run=_healthcheck)

    sign = commands.add_parser("sign", help="print the signed headers and a curl line for a request")
    sign.add_argument("method", type=str.upper, choices=("GET", "POST"))
    sign.add_argument(
        "path", help="e.g. /v1/sessions/session-eur/bets/pay-in (a full URL is taken apart: its path is signed)"
    )
    body = sign.add_mutually_exclusive_group()
    body.add_argument("--body", help="the exact body to send (POST needs one of the two; GET has none)")
    body.add_argument("--body-file", help="read the body from this file, '-' for standard input")
    sign.add_argument("--counterparty-id", help="default: the fixture's first counterparty")
    sign.add_argument("--secret", help="default: that counterparty's secret in the fixture")
    sign.add_argument("--fixtures", help=f"fixture to take the defaults from (env {env_name('fixtures')})")
    admin_cli.add_sandbox_option(
        sign, "--url", "--sandbox", help="where the curl line goes: " + admin_cli.SANDBOX_HELP + "; nothing is sent"
    )
    sign.add_argument("--timestamp", type=int, help="X-Timestamp in ms (default: now)")
    sign.add_argument("--request-id", help="X-Request-Id (default: a new random one)")
    sign.set_defaults(run=_sign)

    games = commands.add_parser("games", help="have a running sandbox call a provider's GET /v1/games; exit 0 if valid")
    _partner_options(games)
    games.set_defaults(run=_games)

    launch = commands.add_parser(
        "launch", help="have a running sandbox open a session and send a provider's Launch; exit 0 if launched"
    )
    _partner_options(launch)
    launch.add_argument("--game", required=True, help="the gameId to launch")
    launch.add_argument("--currency", help="currency of the new player (default EUR, also with --balance alone)")
    launch.add_argument(
        "--balance",
        help="balance of the new player (default 0.00 in real mode, the demoBalance setting in demo mode; "
        "a balance given wins in both)",
    )
    launch.add_argument("--player-id", help="launch for this existing player instead of a new one")
    launch.add_argument("--language", help="default en")
    launch.add_argument("--min-bet", help="default 1")
    launch.add_argument("--max-bet", help="default 100")
    launch.add_argument("--mode", choices=("real", "demo"), default="real", help="gameMode (default real)")
    launch.add_argument("--session-id", help="the new session's id (default: a new random one)")
    launch.set_defaults(run=_launch)
    clock = commands.add_parser("clock", help="show or move a running sandbox's clock")
    change = clock.add_mutually_exclusive_group()
    change.add_argument(
        "--advance", type=_duration_ms, metavar="DURATION", help="move sandbox time forward: 30m, 1h30m, 2d, 500ms, 45s"
    )
    change.add_argument("--set", type=_moment_ms, metavar="TIME", help="set sandbox time: ISO 8601 with offset, or ms")
    change.add_argument("--real", action="store_true", help="back to wall time")
    admin_cli.add_sandbox_option(clock, "--url", "--sandbox")
    admin_cli.add_token_options(clock, compat=True)
    clock.add_argument("--json", action="store_true", help="print the admin API's JSON answer")
    clock.add_argument("--timeout", type=float, default=5.0, help="seconds to wait (default 5)")
    clock.set_defaults(run=_clock)

    scenario = commands.add_parser("scenario", help="apply a named fault scenario to a running sandbox")
    scenario.add_argument("name", nargs="?", help="the scenario; without it, list the scenarios")
    scenario.add_argument("--session-id", help="only requests on this session")
    scenario.add_argument("--player-id", help="only requests of this player")
    scenario.add_argument("--seed", type=int, help="the chaos scenario's seed (default: drawn, and printed)")
    scenario.add_argument("--delay-ms", type=int, help="how long a timeout scenario holds the connection")
    _remote_options(scenario)
    scenario.set_defaults(run=_scenario)

    report = commands.add_parser("report", help="the conformance report of a running sandbox (exit 1: a check failed)")
    report.add_argument("--format", choices=("json", "junit", "html"), default="json", help="default json")
    report.add_argument("--output", help="write it to this file (default: standard output)")
    report.add_argument("--grace-seconds", type=float, help="open bets younger than this are in play (default 60)")
    _remote_options(report)
    report.set_defaults(run=_report)

    schema = commands.add_parser("schema", help="print the fixture JSON Schema or an OpenAPI document")
    schema.add_argument(
        "which",
        choices=(*SCHEMAS, "all"),
        help="fixture: the fixture files' JSON Schema; provider, admin: the OpenAPI documents; all: every one",
    )
    schema.add_argument("--write", metavar="DIR", help="write to its file under DIR (openapi/, schemas/) instead")
    schema.set_defaults(run=_schema)
    admin_cli.add_commands(commands)
    return parser


def _partner_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--provider-url", help="the provider's base URL (default: the counterparty's providerUrl)")
    command.add_argument("--counterparty-id", help="whose provider (default: the sandbox's first counterparty)")
    command.add_argument(
        "--no-sign",
        action="store_true",
        help="send the call without X-Sign (X-Counterparty-Id, X-Timestamp and X-Request-Id are still sent)",
    )
    admin_cli.add_sandbox_option(command)
    admin_cli.add_token_options(command, compat=True)
    command.add_argument("--json", action="store_true", help="print the whole result as JSON")


def _remote_options(command: argparse.ArgumentParser) -> None:
    admin_cli.add_sandbox_option(command)
    admin_cli.add_token_options(command, compat=True)


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"betcore-sandbox: error: {message}", file=sys.stderr)
    return code


def _serve(options: argparse.Namespace) -> int:
    try:
        config = resolve(vars(options), os.environ)
        settings = settings_from_env(os.environ)
    except ConfigError as exc:
        return _fail(str(exc))
    try:
        fixture = load_fixture(config.fixtures)
    except FixtureError as exc:
        return _fail(str(exc))
    configure(config.log_format, config.log_level)
    try:
        sock = socket.create_server((config.host, config.port), family=_family(config.host))
    except OSError as exc:
        return _fail(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", 1)

    from .state import SandboxState  # the server stack: only this command needs it
    from .web.app import create_app

    store = None
    durable_errors: tuple[type[Exception], ...] = ()  # none without a database
    if config.state is not None:
        from .store import StateFileError, StorageFailed, Store

        durable_errors = (StateFileError, StorageFailed)

        try:
            store = Store(config.state)
        except StateFileError as exc:
            return _fail(str(exc), EXIT_STATE)
    elif config.fixtures_merge:
        return _fail(f"--fixtures-merge needs --state (or {env_name('state')})")
    try:
        state = SandboxState(fixture, settings, store=store, merge=config.fixtures_merge)
    except FixtureError as exc:  # an export's ledger is audited here
        if store is not None:
            store.close()
        return _fail(str(exc))
    except durable_errors as exc:  # a database that opened but cannot be read back or seeded
        if store is not None:
            store.close()
        return _fail(str(exc), EXIT_STATE)
    for name in unknown_env_names(os.environ):
        LOG.warning("ignoring %s: no such option or setting (a typo?)", name)
    app = create_app(state, admin_token=config.admin_token, pace_gc=True, header_timeout=config.header_timeout)
    if not config.loopback_only and not config.admin_token:
        LOG.warning(
            "listening on %s without an admin token: anyone who can reach it may change the wallet "
            "(set --admin-token or %s)",
            config.host,
            env_name("admin_token"),
        )
    port = sock.getsockname()[1]
    try:
        asyncio.run(_run(app, sock, lambda: _announce(config, port, fixture)))
    finally:
        state.close()
    for handler in logging.getLogger().handlers:
        handler.flush()
    LOG.info("stopped")
    return 0


async def _run(app: web.Application, sock: socket.socket, announce: Callable[[], None]) -> None:
    """Serve until SIGTERM or SIGINT, then stop within SHUTDOWN_GRACE_SECONDS.

    Not web.run_app: it cannot serve through SandboxRunner (the header timeout, the single shutdown deadline).
    """
    from aiohttp import web

    from .web.connections import SandboxRunner

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # The keep-alive timeout web.run_app uses; the grace is per connection and they all run at once.
    runner = SandboxRunner(
        app,
        access_log=None,
        keepalive_timeout=75.0,
        shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
        lingering_time=LINGER_SECONDS,
    )
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        announce()
        await stop.wait()
    finally:
        await runner.cleanup()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _announce(config: ServerConfig, port: int, fixture: Fixture) -> None:
    host = config.host if config.host not in ("0.0.0.0", "::") else "127.0.0.1"
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    counterparties = [{"id": c.id, "secret": c.secret, "name": c.name} for c in fixture.counterparties]
    sessions = [s.id for s in fixture.sessions]
    faults = [admin_cli.describe(_rule_fields(rule)) for rule in fixture.faults]  # armed from the start
    if config.log_format == "json":
        LOG.info(
            "listening",
            extra={
                "url": url,
                "providerApi": f"{url}/v1",
                "adminApi": f"{url}/__admin",
                "dashboard": f"{url}/__admin/ui/",
                "version": __version__,
                "fixtures": fixture.source,
                "state": config.state,
                "counterparties": counterparties,
                "sessions": sessions,
                "faults": faults,
            },
        )
        return
    lines = [
        f"betcore-sandbox {__version__} listening on {url}",
        f"  provider API  {url}/v1  (also {url}/betongames-mediator-service/api/v1)",
        f"  admin API     {url}/__admin",
        f"  dashboard     {url}/__admin/ui/  (open it in a browser)",
        f"  fixtures      {fixture.source}",
    ]
    if config.state is not None:
        lines.append(f"  state         {config.state} (durable)")
    lines += [f"  counterparty  {c['id']}  secret {c['secret']}  ({c['name']})" for c in counterparties]
    lines.append(f"  sessions      {', '.join(sessions)}")
    lines += [f"  fault armed   {fault}" for fault in faults]
    # The banner's own lines stay lines; the text formatter escapes and indents them (see logs.TextFormatter).
    LOG.info("%s", lines[0], extra={"details": [line[2:] for line in lines[1:]]})


def _rule_fields(rule: Any) -> dict[str, Any]:
    """A fixture's fault rule as the admin API shows one: camelCase names, every field (defaults too), its kind."""
    import msgspec

    fields = {field.encode_name: getattr(rule, field.name) for field in msgspec.structs.fields(rule)}
    return {"kind": type(rule).__struct_config__.tag, **fields}


def _healthcheck(options: argparse.Namespace) -> int:
    from .remote import AdminClient, RemoteError

    given = options.url
    if given is not None and given.rstrip("/").endswith(HEALTH_PATH):  # the full health URL, as it once had to be
        given = given.rstrip("/")[: -len(HEALTH_PATH)]
    try:
        client = AdminClient.from_options(given, timeout=options.timeout, flag=admin_cli.sandbox_flag(options, "url"))
    except RemoteError as exc:
        return _fail(str(exc))
    url = client.base_url + HEALTH_PATH
    try:
        status = client.result("GET", "/health", keys=("status",))[0]["status"]
    except RemoteError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if status != "healthy":
        print(f"unhealthy: {url} answered status {status!r}", file=sys.stderr)
        return 1
    print(f"healthy: {url}")
    return 0


def _games(options: argparse.Namespace) -> int:
    query = {"providerUrl": options.provider_url, "counterpartyId": options.counterparty_id}
    query = {k: v for k, v in query.items() if v}
    if options.no_sign:
        query["sign"] = "false"
    path = "/__admin/games" + ("?" + urllib.parse.urlencode(query) if query else "")
    result = _admin_call(options, "GET", path, expect=("games", "problems", "providerUrl", "status"))
    if result is None:
        return 1
    if options.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"games of {result['providerUrl']}: {len(result['games'])} valid")
        if result["status"] != "ok":
            _print_call(result)
        for game in result["games"]:
            extras = [f"maxOdd {game['maxOdd']}" if game["maxOdd"] is not None else "", game["lobbyImgUrl"] or ""]
            print("  " + "  ".join([game["gameId"], game["gameName"], game["gameCategory"], *filter(None, extras)]))
        _print_problems(result)
    return 0 if result["status"] == "ok" else 1


def _print_call(result: dict[str, Any]) -> None:
    """The call as it went out and how it ended: the URL shows a doubled /v1 or a wrong port at a glance."""
    answered = result["response"]
    status = "no answer" if answered is None else f"HTTP {answered['status']}"
    print(f"  called   {result['request']['method']} {result['request']['url']} ({status})")


def _launch(options: argparse.Namespace) -> int:
    given = {
        "gameId": options.game,
        "providerUrl": options.provider_url,
        "counterpartyId": options.counterparty_id,
        "playerId": options.player_id,
        "currency": options.currency or (None if options.player_id else "EUR"),
        "balance": options.balance,
        "language": options.language,
        "minBet": options.min_bet,
        "maxBet": options.max_bet,
        "gameMode": options.mode,
        "sessionId": options.session_id,
        "sign": False if options.no_sign else None,
    }
    body = {k: v for k, v in given.items() if v is not None}
    result = _admin_call(options, "POST", "/__admin/launches", body, expect=("session", "problems", "status"))
    if result is None:
        return 1
    if options.json:
        print(json.dumps(result, indent=2))
    else:
        session = result["session"]
        flags = "".join(f", {flag}" for flag in ("demo", "launchFailed") if session[flag])
        print(f"{result['status']}: {result['gameId']} in session {session['id']}")
        print(f"  player   {session['playerId']} ({session['balance']} {session['currency']}{flags})")
        print(f"  limits   {session['minBet']} to {session['maxBet']}")
        if result["frameUri"]:
            print(f"  frameUri {result['frameUri']}")
        if result["status"] != "launched":
            _print_call(result)
        _print_problems(result)
        if (
            result["status"] == "launched"
            and options.player_id is None
            and options.balance is None
            and Decimal(session["balance"]) == 0
        ):
            print("note: the new player's balance is 0: give --balance to play (a first bet is refused, code 4)")
    return 0 if result["status"] == "launched" else 1


def _print_problems(result: dict[str, Any]) -> None:
    if result["problems"]:
        print("problems:")
        for problem in result["problems"]:
            print(f"  {problem}")


def _admin_call(
    options: argparse.Namespace, method: str, path: str, body: Any = None, *, expect: Sequence[str] = ()
) -> Any:
    """The sandbox admin API's JSON answer (an object with the `expect`ed keys), or None after printing why there
    is none."""
    from .remote import AdminClient, RemoteError

    route, _, query = path.removeprefix("/__admin").partition("?")
    try:
        # The sandbox waits for the provider up to its partnerTimeoutMs; this waits a little longer.
        client = AdminClient.from_options(
            options.sandbox,
            admin_cli.admin_token(options),
            timeout=PARTNER_CALL_TIMEOUT,
            flag="--sandbox",
            token_env=options.token_env,
        )
        result, _ = client.result(method, route, body, dict(urllib.parse.parse_qsl(query)), keys=tuple(expect))
    except RemoteError as exc:
        _fail(str(exc))
        return None
    return result


def _sign(options: argparse.Namespace) -> int:
    from .remote import RemoteError, sandbox_url

    path, base, flag = options.path, options.url, admin_cli.sandbox_flag(options, "url")
    if options.timestamp is not None and options.timestamp < 0:
        return _fail(f"--timestamp is epoch milliseconds, 0 or more, got {options.timestamp}")
    if options.request_id is not None and _has_control(options.request_id):
        return _fail(f"--request-id {options.request_id!r} holds a control character, which no header can carry")
    if path.startswith(("http://", "https://")):  # a whole URL pasted: its path is what is signed for
        try:
            parts = urllib.parse.urlsplit(path)
        except ValueError as exc:
            return _fail(f"PATH {options.path!r} is not a URL: {exc}")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if base is None:
            base, flag = f"{parts.scheme}://{parts.netloc}", "PATH's host"
        print(f"note: PATH is a full URL: signing for its path {path}, the curl line goes to {base}", file=sys.stderr)
    if not path.startswith("/"):
        return _fail(f"PATH must start with /, e.g. /v1/sessions/session-eur/balance, got {options.path!r}")
    given = options.body is not None or options.body_file is not None
    if options.method == "POST" and not given:
        return _fail("POST needs the exact body it sends: give --body JSON or --body-file FILE")
    if options.method == "GET" and given:
        return _fail("GET has no body: the signature covers an empty one; leave out --body/--body-file")
    try:
        base = sandbox_url(base, flag=flag)
    except RemoteError as exc:
        return _fail(str(exc))
    if options.body_file:
        try:
            body = sys.stdin.buffer.read() if options.body_file == "-" else Path(options.body_file).read_bytes()
        except OSError as exc:
            return _fail(f"cannot read {options.body_file}: {exc.strerror}")
    else:
        body = (options.body or "").encode("utf-8", "surrogateescape")  # the bytes the shell passed, as they are
    if options.method == "POST":
        problem = _body_problem(body, options.body_file)
        if problem.startswith("error: "):
            return _fail(problem.removeprefix("error: "))
        if problem:
            print(problem, file=sys.stderr)
    counterparty_id, secret = options.counterparty_id, options.secret
    if counterparty_id is None or secret is None:
        try:
            fixture = load_fixture(options.fixtures or os.environ.get(env_name("fixtures")) or None)
        except FixtureError as exc:
            return _fail(str(exc))
        known = {c.id: c.secret for c in fixture.counterparties}
        counterparty_id = counterparty_id or fixture.counterparties[0].id
        if secret is None:
            if counterparty_id not in known:
                return _fail(f"counterparty {counterparty_id!r} is not in the fixture: pass --secret")
            secret = known[counterparty_id]
    headers = signed_headers(
        secret, counterparty_id, options.method, body, timestamp_ms=options.timestamp, request_id=options.request_id
    )
    message = string_to_sign(options.method, body, counterparty_id, headers["X-Timestamp"], headers["X-Request-Id"])
    for name, value in headers.items():
        print(f"{name}: {value}")
    print(f"String-To-Sign: {escape(message.decode('utf-8', 'backslashreplace'))}")  # one line, whatever the body
    print()
    curl = ["curl", "-sS", "-X", options.method, base + path]
    for name, value in headers.items():
        curl += ["-H", f"{name}: {value}"]
    line = shlex.join(curl)
    if options.method == "POST":
        line += " " + shlex.join(["-H", "Content-Type: application/json"]) + " " + _curl_body(body, options.body_file)
    print(line)
    return 0


def _has_control(text: str) -> bool:
    """Whether `text` holds a control character: in a header value it would end the header, or the curl line."""
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def _body_problem(body: bytes, body_file: str | None) -> str:
    """What to tell of a POST body (`body_file` it was read from, if any) before signing it: "error: ..." refuses
    it, any other text is a warning for standard error (the body is signed and sent as it is: a tester may mean
    it), "" is nothing to say."""
    given = f"--body-file {body_file}" if body_file else "--body"
    if body_file == "-":
        given = "the body (standard input)"
    if not body:
        return f"error: {given} is empty: a POST body is the JSON object the call sends"
    if b"\0" in body and body_file == "-":
        return "error: the body holds a NUL byte, which a curl command line cannot carry: give it as --body-file FILE"
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"warning: {given} is not JSON; it is signed and sent as it is (the wallet expects a JSON object)"
    try:
        jsontext.refuse_duplicate_keys(body, parsed)
    except jsontext.JsonError as exc:
        return f"warning: {given} {exc}: the provider API refuses such a body; it is signed and sent as it is"
    if body.endswith(b"\n"):
        return f"note: {given} ends with a newline (as editors write files): it is part of the signed body and sent"
    return ""


def _curl_body(body: bytes, body_file: str | None) -> str:
    """curl's body option, on one line whatever the body holds, sending exactly `body`: a file it reads itself
    (--data-binary @FILE), text as it is (--data-raw 'TEXT'), anything else in bash's $'...' quoting."""
    if body_file and body_file != "-":
        return "--data-binary " + shlex.quote("@" + body_file)
    text = body.decode("utf-8", "surrogateescape")
    if text.isprintable():
        return "--data-raw " + shlex.quote(text)
    return "--data-raw " + _ansi_c_quote(body)


def _ansi_c_quote(raw: bytes) -> str:
    """`raw` as a bash $'...' word: printable ASCII as it is, every other byte as \\xHH (never a NUL, which would cut
    bash's string short: such a body is refused before)."""
    shown = []
    for byte in raw:
        char = chr(byte)
        if char in "\\'":
            shown.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            shown.append(char)
        else:
            shown.append(f"\\x{byte:02x}")
    return "$'" + "".join(shown) + "'"


def _moment_ms(text: str) -> int:
    """Epoch ms: given as a number, or as an ISO 8601 time with a UTC offset."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 15:
        return int(text)
    try:
        return round(parse_instant(text) * 1000)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc} (or give epoch milliseconds)") from None


def _clock(options: argparse.Namespace) -> int:
    from .remote import AdminClient, RemoteError

    if options.advance is not None:
        change: dict[str, object] | None = {"advanceMs": options.advance}
    elif options.set is not None:
        change = {"setMs": options.set}
    else:
        change = {"mode": "real"} if options.real else None
    try:
        token, flag = admin_cli.admin_token(options), admin_cli.sandbox_flag(options, "url")
        client = AdminClient.from_options(
            options.url, token, timeout=options.timeout, flag=flag, token_env=options.token_env
        )
        shown, raw = client.result("GET" if change is None else "POST", "/clock", change)
        now_ms, offset_ms, mode = int(shown["nowMs"]), int(shown["offsetMs"]), str(shown["mode"])
    except RemoteError as exc:
        if exc.status == 400:  # a refused move: told with the flag that asked for it, an input error as elsewhere
            return _fail(_clock_refusal(exc.problem))
        return admin_cli.refused(exc)
    except (ValueError, KeyError, TypeError):
        return _fail(f"{client.base_url}/__admin/clock did not answer like a betcore sandbox: {raw[:200]!r}", 1)
    if options.json:
        sys.stdout.write(raw.decode() + "\n")
        return 0
    if mode == "real":
        shown_mode = "real (wall time)"
    else:
        direction = "ahead of" if offset_ms >= 0 else "behind"
        shown_mode = f"virtual, {_duration_text(abs(offset_ms))} {direction} wall time (offsetMs {offset_ms})"
    # One write: a reader that stops after the first line (`| head -n 1`) gets no half-written answer.
    sys.stdout.write(f"sandbox time  {iso_ms(now_ms)}  ({now_ms} ms)\nmode          {shown_mode}\n")
    return 0


CLOCK_FLAGS = {"advanceMs": "--advance", "setMs": "--set", "mode": "--real"}


def _clock_refusal(problem: str) -> str:
    """The admin API's refusal of a clock move in the command line's words: its flags, not its fields."""
    field, _, reason = problem.partition(": ")
    flag = CLOCK_FLAGS.get(field)
    if flag is None:
        return f"the sandbox refused the clock change: {problem}"
    if reason.startswith("must be an integer from 0 to "):  # the type's bound: the clock's own range, in dates
        reason = f"the sandbox clock must stay between 1970-01-01 and {iso_ms(MAX_CLOCK_MS)}"
    reason = reason.replace("use setMs", "use --set")
    reason = reason.replace("POST /__admin/reset first", "betcore-sandbox reset first")
    return f"{flag}: {reason}"


def _scenario(options: argparse.Namespace) -> int:
    from .remote import AdminClient, RemoteError

    try:
        client = AdminClient.from_options(options.sandbox, admin_cli.admin_token(options), token_env=options.token_env)
        if options.name is None:
            listed, _ = client.result("GET", "/scenarios", kind=list)
            for found in listed:
                if not (isinstance(found, dict) and {"name", "description", "expects"} <= found.keys()):
                    raise RemoteError(f"{client.base_url} is not a betcore-sandbox: its scenarios are not scenarios")
                print(f"{found['name']}: {found['description']} (checks: {', '.join(map(str, found['expects']))})")
            return 0
        given = {"sessionId": options.session_id, "playerId": options.player_id, "seed": options.seed}
        given["delayMs"] = options.delay_ms
        path = f"/scenarios/{urllib.parse.quote(options.name, safe='')}"  # a name is one path segment, whatever it is
        body = {k: v for k, v in given.items() if v is not None}
        applied, _ = client.result("POST", path, body, keys=("name", "faultIds"))
    except RemoteError as exc:
        return _fail(str(exc), 1 if exc.unreachable else EXIT_USAGE)
    seed = f", seed {applied['seed']}" if applied.get("seed") is not None else ""
    print(f"applied {applied['name']}: faults {', '.join(map(str, applied['faultIds']))}{seed}")
    return 0


def _report(options: argparse.Namespace) -> int:
    from . import report_formats
    from .remote import AdminClient, RemoteError

    grace = None if options.grace_seconds is None else str(options.grace_seconds)
    try:  # one JSON report, rendered here: the file and the exit code judge the same moment
        client = AdminClient.from_options(options.sandbox, admin_cli.admin_token(options), token_env=options.token_env)
        verdict, raw = client.result(
            "GET", "/report", query={"graceSeconds": grace}, keys=("passed", "summary", "checks", "scenarios", "bets")
        )
    except RemoteError as exc:
        return _fail(str(exc), 1 if exc.unreachable else EXIT_USAGE)
    try:
        rendered = {
            "json": lambda: raw,
            "junit": lambda: report_formats.junit(verdict),
            "html": lambda: report_formats.page(verdict),
        }[options.format]()
        counts = verdict["summary"]
        failed = [c["id"] for c in verdict["checks"] if c["status"] == "fail"]
        line = (
            f"conformance: {'passed' if verdict['passed'] else 'FAILED'} ({counts['fail']} failed, {counts['warn']} "
            f"warnings, {counts['pass']} passed){': ' + ', '.join(failed) if failed else ''}"
        )
        idle = [s["name"] for s in verdict.get("scenarios", []) if not s.get("fired")]
        if idle:  # a scenario the tests never hit proves nothing: say so where CI logs show it
            line += f"; not exercised (its faults never fired): {', '.join(idle)}"
    except (KeyError, TypeError, AttributeError):
        return _fail(f"{client.base_url} is not a betcore-sandbox: its report is not a conformance report")
    if options.output:
        try:
            Path(options.output).write_bytes(rendered)
        except OSError as exc:
            return _fail(f"cannot write {options.output}: {exc.strerror or exc}")
    else:
        sys.stdout.buffer.write(rendered)
        sys.stdout.flush()
    print(line, file=sys.stderr)
    return 0 if verdict["passed"] else 1


def _schema(options: argparse.Namespace) -> int:
    from . import contracts  # msgspec's schema generation only when asked

    names = list(SCHEMAS.values()) if options.which == "all" else [SCHEMAS[options.which]]
    if options.write is None:
        if len(names) > 1:
            return _fail("schema all needs --write DIR: it is three files")
        sys.stdout.write(contracts.document_text(contracts.FILES[names[0]]()))
        return 0
    for path in contracts.write(Path(options.write), names):
        print(f"wrote {path}")
    return 0
