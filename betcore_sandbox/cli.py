"""Command line: `serve` (the default), `healthcheck` and `sign`.

aiohttp is imported only by `serve`, so `healthcheck` (Docker's HEALTHCHECK) and `sign` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shlex
import signal
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import ConfigError, ServerConfig, env_name, resolve, settings_from_env, unknown_env_names
from .fixtures import Fixture, FixtureError, load_fixture
from .limits import LINGER_SECONDS, SHUTDOWN_GRACE_SECONDS
from .logs import FORMATS, LEVELS, LOG, configure
from .signing import signed_headers, string_to_sign

if TYPE_CHECKING:
    from aiohttp import web

COMMANDS = ("serve", "healthcheck", "sign")
EXIT_USAGE = 2
EXIT_STATE = 3  # the --state database cannot be used


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help", "--version")):
        args.insert(0, "serve")
    options = _parser().parse_args(args)
    code: int = options.run(options)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="betcore-sandbox", description="A stateful local stand-in for the BETCORE aggregator's wallet API."
    )
    parser.add_argument("--version", action="version", version=f"betcore-sandbox {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="{serve,healthcheck,sign}")

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
    health.add_argument("--url", help="health URL (default http://127.0.0.1:$BETCORE_SANDBOX_PORT/__admin/health)")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds to wait (default 3)")
    health.set_defaults(run=_healthcheck)

    sign = commands.add_parser("sign", help="print the signed headers and a curl line for a request")
    sign.add_argument("method", type=str.upper, choices=("GET", "POST"))
    sign.add_argument("path", help="e.g. /v1/sessions/session-eur/bets/pay-in")
    body = sign.add_mutually_exclusive_group()
    body.add_argument("--body", default="", help="the exact body to send (POST)")
    body.add_argument("--body-file", help="read the body from this file, '-' for standard input")
    sign.add_argument("--counterparty-id", help="default: the fixture's first counterparty")
    sign.add_argument("--secret", help="default: that counterparty's secret in the fixture")
    sign.add_argument("--fixtures", help=f"fixture to take the defaults from (env {env_name('fixtures')})")
    sign.add_argument("--url", help="base URL for the curl line (default http://127.0.0.1:$BETCORE_SANDBOX_PORT)")
    sign.add_argument("--timestamp", type=int, help="X-Timestamp in ms (default: now)")
    sign.add_argument("--request-id", help="X-Request-Id (default: a new random one)")
    sign.set_defaults(run=_sign)
    return parser


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
    if config.log_format == "json":
        LOG.info(
            "listening",
            extra={
                "url": url,
                "providerApi": f"{url}/v1",
                "adminApi": f"{url}/__admin",
                "version": __version__,
                "fixtures": fixture.source,
                "state": config.state,
                "counterparties": counterparties,
                "sessions": sessions,
            },
        )
        return
    lines = [
        f"betcore-sandbox {__version__} listening on {url}",
        f"  provider API  {url}/v1  (also {url}/betongames-mediator-service/api/v1)",
        f"  admin API     {url}/__admin",
        f"  fixtures      {fixture.source}",
    ]
    if config.state is not None:
        lines.append(f"  state         {config.state} (durable)")
    lines += [f"  counterparty  {c['id']}  secret {c['secret']}  ({c['name']})" for c in counterparties]
    lines.append(f"  sessions      {', '.join(sessions)}")
    # The banner's own lines stay lines; the text formatter escapes and indents them (see logs.TextFormatter).
    LOG.info("%s", lines[0], extra={"details": [line[2:] for line in lines[1:]]})


def _local_url(path: str) -> str:
    """This machine's sandbox, on the port the environment configures."""
    return f"http://127.0.0.1:{os.environ.get(env_name('port')) or 8080}{path}"


def _healthcheck(options: argparse.Namespace) -> int:
    url = options.url or _local_url("/__admin/health")
    try:
        with urllib.request.urlopen(url, timeout=options.timeout) as response:
            status = json.loads(response.read()).get("status")
    except (OSError, ValueError, urllib.error.URLError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if status != "healthy":
        print(f"unhealthy: {url} answered status {status!r}", file=sys.stderr)
        return 1
    print(f"healthy: {url}")
    return 0


def _sign(options: argparse.Namespace) -> int:
    if options.body_file:
        try:
            body = sys.stdin.buffer.read() if options.body_file == "-" else Path(options.body_file).read_bytes()
        except OSError as exc:
            return _fail(f"cannot read {options.body_file}: {exc.strerror}")
    else:
        body = options.body.encode()
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
    if options.method == "GET":
        body = b""
    headers = signed_headers(
        secret, counterparty_id, options.method, body, timestamp_ms=options.timestamp, request_id=options.request_id
    )
    message = string_to_sign(options.method, body, counterparty_id, headers["X-Timestamp"], headers["X-Request-Id"])
    for name, value in headers.items():
        print(f"{name}: {value}")
    print(f"String-To-Sign: {message.decode('utf-8', 'replace')}")
    print()
    base = options.url or _local_url("")
    curl = ["curl", "-sS", "-X", options.method, base.rstrip("/") + options.path]
    for name, value in headers.items():
        curl += ["-H", f"{name}: {value}"]
    if options.method == "POST":
        curl += ["-H", "Content-Type: application/json", "--data-raw", body.decode("utf-8", "replace")]
    print(shlex.join(curl))
    return 0
