"""The admin commands of the command line, against a running sandbox: `faults`, `reset`, `audit`, `balance`,
`requests` and `state`.

Each talks to the sandbox through remote.AdminClient (standard library only, so they start fast). The sandbox is
`--sandbox URL`, else $BETCORE_SANDBOX_URL, else 127.0.0.1 on $BETCORE_SANDBOX_PORT (else 8080); the admin token
comes from BETCORE_SANDBOX_ADMIN_TOKEN (or the variable `--token-env` names), never from a flag that would land in
the shell's history.

Exit codes: 0 done, 1 a check failed or no sandbox answered, 2 a refused input (a usage error, a rule the sandbox
refused), 3 a state file that cannot be read, written or used.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

from . import jsontext
from .config import env_name
from .durations import duration_ms
from .limits import MAX_TTL_SECONDS
from .logs import escape
from .remote import AdminClient, RemoteError
from .request_lines import request_line, summary

__all__ = [
    "COMMANDS",
    "add_commands",
    "add_sandbox_option",
    "add_token_options",
    "admin_token",
    "describe",
    "fail",
    "refused",
    "sandbox_flag",
]

COMMANDS = ("faults", "reset", "audit", "balance", "requests", "state")
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STATE = 3
FAULT_KINDS = (
    "http_error",
    "response_code",
    "insufficient_funds",
    "delay",
    "timeout",
    "connection_reset",
    "empty_response",
    "malformed_body",
)
ENDPOINTS = ("*", "balance", "pay-in", "pay-out", "pay-in-out", "refund")
STREAM_TIMEOUT = 60.0  # seconds without a byte before a followed stream counts as dead: the sandbox beats every 15
CHUNK = 64 * 1024


def add_commands(commands: Any) -> None:
    """Add the admin commands to `commands`, the command line's subparsers."""
    faults = commands.add_parser("faults", help="add, list, remove or clear a running sandbox's fault rules")
    actions = faults.add_subparsers(title="actions", metavar="{add,list,remove,clear}", required=True)
    add = actions.add_parser("add", help="add a fault rule, from flags or from --json")
    add.add_argument("--json", metavar="RULE", help="the rule as JSON, or @FILE to read it from a file (@- stdin)")
    add.add_argument("--kind", choices=FAULT_KINDS, help="what the fault does (required, here or in --json)")
    add.add_argument("--endpoint", choices=ENDPOINTS, help="which endpoint it hits (default *: every one)")
    add.add_argument("--phase", choices=("before", "after"), help="before (default) or after the wallet operation")
    add.add_argument(
        "--times",
        type=_times,
        default=argparse.SUPPRESS,  # absent unless given: 'unlimited' is a null, which must still be sent
        help="how often it fires (default 1; 'unlimited': until removed)",
    )
    add.add_argument("--skip", type=int, help="let this many matching requests through first")
    add.add_argument("--probability", type=_number(0.0, 1.0), help="chance of firing on a matching request, 0 to 1")
    add.add_argument("--seed", type=int, help="seed of the probability draws (repeatable runs)")
    add.add_argument("--session", help="only requests on this sessionId")
    add.add_argument("--player", help="only requests of this playerId")
    add.add_argument("--bet", help="only requests with this betId")
    add.add_argument("--status", type=int, help="http_error: the HTTP status (default 500)")
    add.add_argument("--code", type=int, help="response_code: the _responseCode (default the internal error's)")
    add.add_argument("--delay", type=duration_ms, help="delay, timeout: how long, as ms or 2s, 1m, 500ms")
    add.add_argument(
        "--ttl", type=_number(0.0, float(MAX_TTL_SECONDS), above=True), help="seconds the rule lives (more than 0)"
    )
    _remote_options(add)
    add.set_defaults(run=_faults_add)
    listing = actions.add_parser("list", help="the fault rules as a table (--json: as the admin API has them)")
    listing.add_argument("--json", action="store_true", help="print the admin API's JSON list")
    _remote_options(listing)
    listing.set_defaults(run=_faults_list)
    remove = actions.add_parser("remove", help="remove one fault rule")
    remove.add_argument("id", help="the rule's id, as `faults list` shows it")
    _remote_options(remove)
    remove.set_defaults(run=_faults_remove)
    clear = actions.add_parser("clear", help="remove every fault rule")
    _remote_options(clear)
    clear.set_defaults(run=_faults_clear)

    reset = commands.add_parser("reset", help="reset a running sandbox to its fixture (wallet, faults, journal)")
    _remote_options(reset)
    reset.set_defaults(run=_reset)

    audit = commands.add_parser("audit", help="audit a running sandbox's money (exit 1: a discrepancy)")
    audit.add_argument("--json", action="store_true", help="print the admin API's JSON answer")
    _remote_options(audit)
    audit.set_defaults(run=_audit)

    balance = commands.add_parser("balance", help="a session's balance and currency (exit 1: no such session)")
    balance.add_argument("session", help="the sessionId")
    balance.add_argument("--json", action="store_true", help="print the whole session as JSON")
    _remote_options(balance)
    balance.set_defaults(run=_balance)

    requests = commands.add_parser("requests", help="the last requests a running sandbox received, one line each")
    requests.add_argument("--limit", type=_positive, default=20, help="how many of the last ones (default 20)")
    requests.add_argument(
        "--follow", "-f", action="store_true", help="then keep printing new ones as they arrive, until Ctrl-C"
    )
    requests.add_argument("--json", action="store_true", help="one JSON object per line instead")
    _remote_options(requests)
    requests.set_defaults(run=_requests)

    state = commands.add_parser("state", help="export or import a running sandbox's whole state")
    moves = state.add_subparsers(title="actions", metavar="{export,import}", required=True)
    export = moves.add_parser("export", help="write the state (players, sessions, bets, ledger) to FILE")
    export.add_argument("file", help="where to write it, '-' for standard output")
    _remote_options(export)
    export.set_defaults(run=_state_export)
    restore = moves.add_parser("import", help="replace the sandbox's state with FILE's (as `state export` wrote)")
    restore.add_argument("file", help="the state file, '-' for standard input")
    _remote_options(restore)
    restore.set_defaults(run=_state_import)


SANDBOX_HELP = (
    "the sandbox's URL, http://host:port, or the provider API URL its banner prints (.../v1) "
    "(default $BETCORE_SANDBOX_URL, else http://127.0.0.1:$BETCORE_SANDBOX_PORT)"
)


class _Typed(argparse.Action):
    """Keeps the value, and as `<dest>_flag` which spelling of the option was typed: a message names that one."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_flag", option)


def add_sandbox_option(command: argparse.ArgumentParser, *names: str, help: str = SANDBOX_HELP) -> None:
    """Add the option naming the sandbox to `command`, spelt `names` (default --sandbox), dest from the first, and
    `--port P`, short for http://127.0.0.1:P (the two exclude each other)."""
    names = names or ("--sandbox",)
    given = command.add_mutually_exclusive_group()
    given.add_argument(*names, metavar="URL", action=_Typed, help=help)
    given.add_argument(
        "--port",
        dest=names[0].removeprefix("--"),
        metavar="PORT",
        type=_local_port,
        action=_Typed,
        help=f"the sandbox on this machine at this port: short for {names[0]} http://127.0.0.1:PORT",
    )


def _local_port(text: str) -> str:
    """The URL of this machine's sandbox on port `text` (an argparse type: a port from 1 to 65535)."""
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port from 1 to 65535")
    return f"http://127.0.0.1:{int(text)}"


def add_token_options(command: argparse.ArgumentParser, *, compat: bool = False) -> None:
    """Add --token-env to `command` (the variable holding the admin token); with `compat`, the older --admin-token
    too, which still works but leaves the token in the shell's history."""
    command.add_argument(
        "--token-env",
        metavar="NAME",
        default=env_name("admin_token"),
        help="the environment variable holding the admin token (default %(default)s)",
    )
    if compat:
        command.add_argument(
            "--admin-token", help="the admin token itself (discouraged: it lands in the shell's history; use the env)"
        )


def sandbox_flag(options: argparse.Namespace, dest: str = "sandbox", default: str = "--sandbox") -> str:
    """Which spelling of the sandbox option `options` were given with, for a message about its value."""
    return getattr(options, f"{dest}_flag", None) or default


def admin_token(options: argparse.Namespace) -> str | None:
    """The admin token: --admin-token where a command still takes it, else the variable --token-env names."""
    return getattr(options, "admin_token", None) or os.environ.get(options.token_env) or None


def _remote_options(command: argparse.ArgumentParser) -> None:
    add_sandbox_option(command)
    add_token_options(command)


def _times(text: str) -> int | None:
    if text == "unlimited":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count: give a number or 'unlimited'") from None


def _number(low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number from `low` (exclusive when `above`) to `high`. NaN and infinity are
    refused here, naming the flag, rather than sent as JSON no parser takes."""
    bounds = f"more than {low:.10g}, at most {high:.10g}" if above else f"from {low:.10g} to {high:.10g}"

    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and (low < value if above else low <= value) and value <= high):
            raise argparse.ArgumentTypeError(f"{text!r} is not a number {bounds}")
        return value

    return number


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= 1_000_000):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 1000000")
    return int(text)


def fail(message: str, code: int = EXIT_USAGE) -> int:
    """Print `message` as the command's one error line on standard error; return `code`, the exit code."""
    print(f"betcore-sandbox: error: {message}", file=sys.stderr)
    return code


def _client(options: argparse.Namespace, timeout: float | None = 30.0) -> AdminClient:
    return AdminClient.from_options(
        options.sandbox, admin_token(options), timeout=timeout, flag=sandbox_flag(options), token_env=options.token_env
    )


def refused(exc: RemoteError) -> int:
    """A refusal (4xx) is the input's fault, exit 2, as is a --sandbox URL that is no sandbox's; no answer, or a
    failure of the sandbox, exit 1."""
    refused = exc.status is not None and 400 <= exc.status < 500
    return fail(str(exc), EXIT_USAGE if refused or not (exc.unreachable or exc.status) else EXIT_FAILED)


def _remote(run: Callable[[argparse.Namespace, AdminClient], int]) -> Callable[[argparse.Namespace], int]:
    """A command's body, given its client; what the sandbox refuses or never answers ends it in one line."""

    def command(options: argparse.Namespace) -> int:
        try:
            return run(options, _client(options))
        except RemoteError as exc:
            return refused(exc)

    return command


# -- faults --------------------------------------------------------------------------------------------------------


def _rule(options: argparse.Namespace) -> dict[str, Any]:
    """The rule to send: --json's object, with every flag given laid over it. ValueError says what is wrong."""
    rule: dict[str, Any] = {}
    if options.json is not None:
        text = options.json
        if text.startswith("@"):
            name = text[1:]
            try:
                text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise ValueError(f"cannot read {name}: {exc.strerror or exc}") from None
        try:
            rule = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"--json is not JSON: {exc}") from None
        if not isinstance(rule, dict):
            raise ValueError("--json must be one JSON object, the rule")
        try:
            json.dumps(rule, allow_nan=False)
        except ValueError:  # 1e400 reads as infinity, NaN as itself: neither can be sent on
            raise ValueError("--json holds a number out of range (NaN, Infinity or one like 1e400)") from None
        try:  # as the sandbox reads a document: a key given twice is refused, not last-wins
            jsontext.refuse_duplicate_keys(text.encode("utf-8", "surrogateescape"), rule)
        except jsontext.JsonError as exc:
            raise ValueError(f"--json {exc}") from None
    rule.update(_flagged(options))
    if hasattr(options, "times"):
        rule["times"] = options.times
    if "kind" not in rule:
        raise ValueError(f"a rule needs --kind ({', '.join(FAULT_KINDS)}), or a kind in --json")
    return rule


# A rule's fields and the flags of `faults add` that set them: a refusal names the flag the user typed.
FIELD_FLAGS = {
    "kind": "kind",
    "endpoint": "endpoint",
    "phase": "phase",
    "skip": "skip",
    "probability": "probability",
    "seed": "seed",
    "sessionId": "session",
    "playerId": "player",
    "betId": "bet",
    "status": "status",
    "responseCode": "code",
    "delayMs": "delay",
    "ttlSeconds": "ttl",
}


def _flagged(options: argparse.Namespace) -> dict[str, Any]:
    """The rule's fields the flags set (--times apart: its 'unlimited' is a null that must still be sent)."""
    given = {field: getattr(options, flag) for field, flag in FIELD_FLAGS.items()}
    return {field: value for field, value in given.items() if value is not None}


def _rule_refusal(problem: str, rule: Mapping[str, Any], flagged: Mapping[str, Any]) -> str:
    """The sandbox's refusal of a rule, in the words of the flags that built it; a field of --json stays a field."""
    field, _, reason = problem.partition(": ")
    flag = f"--{FIELD_FLAGS[field]}" if field in FIELD_FLAGS else None
    kind = rule.get("kind")
    if flag is not None and field in flagged and reason.startswith("unknown field"):
        return f"{flag} does not apply to kind {kind}"
    if flag is not None and reason == "is required" and field not in rule:
        return f"kind {kind} needs {flag}"
    if flag is not None and field in flagged:
        return f"{flag}: {reason}"
    return f"the sandbox refused the rule: {problem}"


def _faults_add(options: argparse.Namespace) -> int:
    try:
        rule = _rule(options)
    except ValueError as exc:
        return fail(str(exc))
    try:
        client = _client(options)
        added, _ = client.result("POST", "/faults", rule, keys=("id", "kind"))
    except RemoteError as exc:
        if exc.status == 400:
            return fail(_rule_refusal(exc.problem, rule, _flagged(options)))
        return refused(exc)
    print(escape(f"added fault {added['id']}: {describe(added)}"))  # one line, whatever a filter holds
    return 0


def describe(rule: Mapping[str, Any]) -> str:
    """One fault `rule` (as the admin API has it: camelCase keys, a missing one at its default) in words: kind and
    effect, where, when. Not escaped: a caller printing it to a terminal escapes it (logs.escape)."""
    parts = [str(rule.get("kind"))]
    effect = _effect(rule)
    if effect:
        parts.append(effect)
    parts.append(f"on {rule.get('endpoint', '*')} ({rule.get('phase', 'before')})")
    matches = _matches(rule)
    if matches != "all":
        parts.append(f"for {matches}")
    times = rule.get("times")
    parts.append("until removed" if times is None else f"{times} time{'s' if times != 1 else ''}")
    return " ".join(parts)


def _effect(rule: Mapping[str, Any]) -> str:
    kind = rule.get("kind")
    if kind == "http_error":
        return f"HTTP {rule.get('status', 500)}"
    if kind == "response_code":
        code = rule.get("responseCode")
        return "code internal_error" if code is None else f"code {code}"
    if kind in ("delay", "timeout") and rule.get("delayMs") is not None:
        return f"{rule['delayMs']}ms"
    return ""


def _matches(rule: Mapping[str, Any]) -> str:
    filters = (("session", "sessionId"), ("player", "playerId"), ("bet", "betId"))
    return " ".join(f"{name}={rule[key]}" for name, key in filters if rule.get(key) is not None) or "all"


def _when(rule: Mapping[str, Any]) -> str:
    parts = []
    if rule.get("skip"):
        parts.append(f"skip {rule['skip']}")
    if rule.get("probability", 1) != 1:
        parts.append(f"p={rule['probability']}")
    if rule.get("seed") is not None:
        parts.append(f"seed {rule['seed']}")
    if rule.get("ttlSeconds") is not None:
        parts.append(f"ttl {rule['ttlSeconds']}s")
    return ", ".join(parts) or "-"


@_remote
def _faults_list(options: argparse.Namespace, client: AdminClient) -> int:
    listed, raw = client.result("GET", "/faults", kind=list)
    if options.json:
        sys.stdout.write(raw.decode() + "\n")
        return 0
    if not listed:
        print("no fault rules")
        return 0
    rows = [("ID", "KIND", "EFFECT", "ENDPOINT", "PHASE", "MATCHES", "WHEN", "FIRED", "LEFT", "STATE")]
    for rule in listed:
        if not isinstance(rule, dict) or "id" not in rule:
            raise RemoteError(f"{client.base_url} is not a betcore-sandbox: its fault rules are not rules")
        remaining = rule.get("remaining")
        rows.append(
            (
                str(rule["id"]),
                str(rule.get("kind")),
                _effect(rule) or "-",
                str(rule.get("endpoint")),
                str(rule.get("phase")),
                _matches(rule),
                _when(rule),
                str(rule.get("fired", 0)),
                "unlimited" if remaining is None else str(remaining),
                str(rule.get("state", "-")),  # active, used-up or expired: spent rules stay listed
            )
        )
    widths = [max(len(escape(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(escape(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    sys.stdout.write("".join(line.rstrip() + "\n" for line in lines))
    return 0


def _faults_remove(options: argparse.Namespace) -> int:
    try:
        _client(options).call("DELETE", f"/faults/{urllib.parse.quote(options.id, safe='')}")
    except RemoteError as exc:
        if exc.status == 404:  # as `balance` has an unknown session: a check that failed
            return fail(escape(f"no fault rule {options.id}"), EXIT_FAILED)
        return refused(exc)
    print(escape(f"removed fault {options.id}"))
    return 0


@_remote
def _faults_clear(options: argparse.Namespace, client: AdminClient) -> int:
    client.call("DELETE", "/faults")
    print("cleared every fault rule")
    return 0


# -- reset, audit, balance ---------------------------------------------------------------------------------------


@_remote
def _reset(options: argparse.Namespace, client: AdminClient) -> int:
    client.result("POST", "/reset", keys=("status",))
    armed, _ = client.result("GET", "/faults", kind=list)  # a fixture's own rules are armed again by a reset
    ids = [str(rule.get("id")) for rule in armed if isinstance(rule, dict)]
    if not ids:
        print("reset: the fixture's wallet, no faults, an empty journal")
    else:
        rules = f"{len(ids)} fault rule{'s' if len(ids) != 1 else ''}"
        print(escape(f"reset: the fixture's wallet and its {rules} ({', '.join(ids)}), an empty journal"))
    return 0


@_remote
def _audit(options: argparse.Namespace, client: AdminClient) -> int:
    found, raw = client.result("GET", "/audit", keys=("ok", "violations", "openBets"))
    if options.json:
        sys.stdout.write(raw.decode() + "\n")
    else:
        violations, open_bets = found["violations"], found["openBets"]
        verdict = "ok" if found["ok"] else "FAILED"
        print(f"audit: {verdict} ({len(violations)} discrepancies, {len(open_bets)} open bets)")
        for violation in violations:
            print(f"  {escape(str(violation))}")
    return 0 if found["ok"] is True else EXIT_FAILED


def _balance(options: argparse.Namespace) -> int:
    try:
        client = _client(options)
        raw, _ = client.call("GET", f"/sessions/{urllib.parse.quote(options.session, safe='')}")
    except RemoteError as exc:
        if exc.status == 404:
            return fail(f"no session {options.session!r} in the sandbox", EXIT_FAILED)
        return refused(exc)
    try:
        session = json.loads(raw, parse_float=Decimal)  # money as written: 1000.00 stays 1000.00
        shown = f"{session['balance']} {session['currency']}"
    except (ValueError, KeyError, TypeError):
        return fail(f"{client.base_url} is not a betcore-sandbox: its session is not a session", EXIT_FAILED)
    if options.json:
        sys.stdout.write(raw.decode() + "\n")
    else:
        print(escape(shown))
    return 0


# -- state ---------------------------------------------------------------------------------------------------------


def _state_export(options: argparse.Namespace) -> int:
    try:
        client = _client(options)
        with client.open("GET", "/state") as response:
            if options.file == "-":
                _copy(response, sys.stdout.buffer)
                sys.stdout.flush()
                return 0
            target = Path(options.file)
            partial = target.with_name(target.name + ".partial")  # a broken-off export never looks like a whole one
            try:
                with partial.open("wb") as out:
                    _copy(response, out)
                partial.replace(target)
            except OSError as exc:
                partial.unlink(missing_ok=True)
                return fail(f"cannot write {options.file}: {exc.strerror or exc}", EXIT_STATE)
    except RemoteError as exc:
        return refused(exc)
    except BrokenPipeError:  # the reader of `state export -` went away: main() ends it as every command does
        raise
    except OSError as exc:  # the answer broke off
        return fail(f"the export from {client.base_url} broke off: {exc}", EXIT_FAILED)
    # On standard error, so that standard output carries the state alone when FILE is '-'.
    print(f"exported the state of {client.base_url} to {options.file}", file=sys.stderr)
    return 0


def _copy(source: BinaryIO | Any, target: BinaryIO) -> None:
    while chunk := source.read(CHUNK):
        target.write(chunk)


def _state_import(options: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.buffer.read() if options.file == "-" else Path(options.file).read_bytes()
    except OSError as exc:  # a state file that cannot be used, as `serve --state` has it: exit 3
        return fail(f"cannot read {options.file}: {exc.strerror or exc}", EXIT_STATE)
    try:
        client = _client(options, timeout=300.0)  # a large state is checked for seconds
        done, _ = client.result("PUT", "/state", data=raw, keys=("status",))
    except RemoteError as exc:
        if exc.status in (400, 413):
            return fail(f"the sandbox cannot use {options.file}: {exc.problem}", EXIT_STATE)
        return refused(exc)
    counts = ", ".join(
        f"{done[name]} {name.removesuffix('s') if done[name] == 1 else name}"
        for name in ("players", "sessions", "bets", "transactions")
        if name in done
    )
    print(f"imported: {counts}")
    return 0


# -- requests ------------------------------------------------------------------------------------------------------


def _print_entry(entry: Mapping[str, Any], as_json: bool) -> None:
    text = json.dumps(summary(entry), separators=(",", ":")) if as_json else request_line(entry)
    print(text, flush=True)  # at once: a follower reads as it happens, also through a pipe


def _requests(options: argparse.Namespace) -> int:
    try:
        client = _client(options, timeout=STREAM_TIMEOUT if options.follow else 30.0)
        if not options.follow:
            recent = _recent(client, options.limit)
            if not recent and not options.json:  # as `faults list` says so: silence looks like a hang or a failure
                print("no requests")
            for entry in recent:
                _print_entry(entry, options.json)
            return 0
        return _follow(client, options.limit, options.json)
    except RemoteError as exc:
        return refused(exc)


def _recent(client: AdminClient, limit: int) -> list[dict[str, Any]]:
    listed, _ = client.result("GET", "/requests", query={"limit": str(limit)}, kind=list)
    if not all(isinstance(entry, dict) and "id" in entry for entry in listed):
        raise RemoteError(f"{client.base_url} is not a betcore-sandbox: its journal is not a journal")
    return list(listed)


class _Stopped(Exception):
    """SIGTERM while following: end as Ctrl-C does."""


def _follow(client: AdminClient, limit: int, as_json: bool) -> int:
    """The last `limit` entries, then every new one as the event stream announces it, until interrupted.

    The stream is opened first and the journal read after its greeting, so nothing falls between the two; an
    entry both in the journal and announced is printed once (by id)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stopped

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with client.open("GET", "/events") as stream:
            events = _events(stream)
            if next(events, ("", None))[0] != "hello":
                raise RemoteError(f"{client.base_url} is not a betcore-sandbox: its event stream does not greet")
            last = 0
            for entry in _recent(client, limit):
                _print_entry(entry, as_json)
                last = max(last, int(entry["id"]))
            for event, data in events:
                if event == "cleared":
                    last = 0  # a reset starts the ids again
                    print("-- the journal was cleared --", file=sys.stderr, flush=True)
                elif event == "missed" and isinstance(data, dict):
                    print(f"-- {data.get('missed')} events missed --", file=sys.stderr, flush=True)
                elif event in ("request", "completed") and isinstance(data, dict) and _shown(event, data, last):
                    _print_entry(data, as_json)
                    if event == "request":
                        last = max(last, int(data["id"]))
        return fail(f"the sandbox at {client.base_url} ended the event stream (it stopped)", EXIT_FAILED)
    except (KeyboardInterrupt, _Stopped):
        return 0
    except OSError as exc:  # the stream broke off, or went silent past its heartbeat
        if isinstance(exc, BrokenPipeError):
            raise
        return fail(f"lost the sandbox at {client.base_url}: {exc}", EXIT_FAILED)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _shown(event: str, data: Mapping[str, Any], last: int) -> bool:
    """An incoming request once journaled; a call completed later (an outgoing Games or Launch call once its answer
    is in, a wallet call a fault held once the hold ended) when it completes."""
    if not isinstance(data.get("id"), int):
        return False
    if event == "request":
        return data.get("direction") != "outgoing" and data["id"] > last
    return True


def _events(stream: Any) -> Iterator[tuple[str, Any]]:
    """(event name, decoded data) of a server-sent event stream, as events complete."""
    name, data = "message", ""
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                try:
                    yield name, json.loads(data)
                except ValueError:
                    yield name, None
            elif name != "message":
                yield name, None
            name, data = "message", ""
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
