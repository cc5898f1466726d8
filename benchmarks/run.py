"""The load benchmark: betcore-sandbox against a bare aiohttp app, same machine, same run, same load generator.

    python -m benchmarks.run                 # full run (needs wrk: apt-get install wrk), a few minutes
    python -m benchmarks.run --quick         # a smoke run with a tiny load

Prints one table: signed pay-in throughput and p99 latency (wrk, pre-signed distinct requests), start-up time
(process start to healthy), and RSS growth per settled bet after N pay-in + pay-out cycles; each for the sandbox
in memory and in durable mode (--state on a file in a temporary directory) where it applies.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from betcore_sandbox.signing import compute_sign, string_to_sign

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixture.json"
LUA = HERE / "signed_requests.lua"
COUNTERPARTY, SECRET, SESSION = "bench", "bench-secret", "bench-session"
CHUNK = 50_000  # cycles between two RSS readings of the memory run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sandbox_command(port: int, state: Path | None = None) -> list[str]:
    durable = ["--state", str(state)] if state is not None else []
    return [sys.executable, "-m", "betcore_sandbox", "--port", str(port), "--fixtures", str(FIXTURE), *durable]


def bare_command(port: int) -> list[str]:
    return [sys.executable, str(HERE / "bare_app.py"), str(port)]


@contextmanager
def server(command: list[str], port: int, env: dict[str, str] | None = None):
    """A server process with its log (default level, as users run it) going to a file."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, env={**os.environ, **(env or {})})
        try:
            wait_healthy(port, process)
            yield process
        finally:
            process.terminate()
            process.wait(10)


def wait_healthy(port: int, process: subprocess.Popen, timeout: float = 10.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health", timeout=1).read()
            return time.perf_counter() - started
        except OSError:
            time.sleep(0.002)
    raise RuntimeError("server did not become healthy")


def write_requests(path: Path, endpoint: str, bet_ids: range, prefix: str) -> None:
    """Signed, distinct requests; signed now, so they are inside the timestamp window when sent."""
    timestamp = str(time.time_ns() // 1_000_000)
    url = f"/v1/sessions/{SESSION}/bets/{endpoint}"
    field = "betAmount" if endpoint == "pay-in" else "winAmount"
    with path.open("w") as out:
        for i in bet_ids:
            body = f'{{"betId":"{prefix}-{i}","{field}":"0.01","gameRoundId":"round-{i}"}}'.encode()
            request_id = uuid.uuid4().hex
            sign = compute_sign(SECRET, string_to_sign("POST", body, COUNTERPARTY, timestamp, request_id))
            out.write(f"{url}\t{COUNTERPARTY}\t{timestamp}\t{request_id}\t{sign}\t{body.decode()}\n")


def wrk(port: int, requests_file: Path, *, seconds: float, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{port}",
            "--",
            str(requests_file),
            "1",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rate,
        "p99_ms": p99,
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def admin(port: int, path: str) -> object:
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin{path}", timeout=300).read())


def throughput(work: Path, seconds: float, connections: int, rounds: int) -> dict[str, dict[str, float]]:
    results: dict[str, list[dict[str, float]]] = {"sandbox": [], "durable": [], "bare": []}
    for round_no in range(rounds):
        for name in ("bare", "sandbox", "durable"):
            port = free_port()
            command = {
                "bare": bare_command(port),
                "sandbox": sandbox_command(port),
                "durable": sandbox_command(port, work / f"throughput-{round_no}.db"),
            }[name]
            with server(command, port):
                warm_up = work / f"{name}-{round_no}-warm.tsv"
                write_requests(warm_up, "pay-in", range(30_000), f"warm{name}{round_no}")
                wrk(port, warm_up, seconds=1, connections=connections)
                requests = work / f"{name}-{round_no}.tsv"
                write_requests(requests, "pay-in", range(int(seconds * 30_000)), f"{name}{round_no}")
                results[name].append(wrk(port, requests, seconds=seconds, connections=connections))
    return {name: max(runs, key=lambda r: r["rps"]) for name, runs in results.items()}


def startup(samples: int) -> dict[str, float]:
    medians = {}
    for name, command in (("sandbox", sandbox_command), ("bare", bare_command)):
        times = []
        for _ in range(samples):
            port = free_port()
            process = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                times.append(wait_healthy(port, process))
            finally:
                process.terminate()
                process.wait(10)
        medians[name] = statistics.median(times)
    return medians


def memory(
    work: Path,
    cycles: int,
    connections: int,
    state: Path | None = None,
    chunk: int = CHUNK,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """RSS before and after the cycles, and after each `chunk` cycles (`rss_kib_at`). `env`: the server's
    settings (BETCORE_SANDBOX_...)."""
    port = free_port()
    with server(sandbox_command(port, state), port, env) as process:
        warm = work / "warm.tsv"
        write_requests(warm, "pay-in", range(2000), "warm")
        wrk(port, warm, seconds=1, connections=connections)
        before = rss_kib(process.pid)
        done = 0
        rss_at = {}
        while done < cycles:
            batch = range(done, min(done + chunk, cycles))
            for endpoint in ("pay-in", "pay-out"):
                requests = work / f"mem-{endpoint}.tsv"
                write_requests(requests, endpoint, batch, "mem")
                _exactly_once(port, requests, len(batch), connections)
            done = batch.stop
            rss_at[done] = rss_kib(process.pid)
        after = rss_kib(process.pid)
        report = admin(port, "/audit")
        # Every bet settled, checked without listing them all: the audit is clean, the only open bets are the
        # warm-up's, and a sample of the cycles' bets (first, last, spread between) are settled.
        open_ids = {b["betId"] for b in report["openBets"]}
        sample = {0, cycles - 1, *range(0, cycles, max(cycles // 50, 1))}
        statuses = [admin(port, f"/bets/mem-{i}")["status"] for i in sorted(sample)]
        all_settled = not any(i.startswith("mem-") for i in open_ids) and set(statuses) == {"settled"}
        settled = cycles if all_settled else 0
    return {
        "cycles": cycles,
        "settled": settled,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "rss_kib_at": rss_at,
        "bytes_per_bet": (after - before) * 1024 / max(settled, 1),
        "audit_ok": report["ok"],
    }


def durable_growth(rss_kib_at: dict[int, int], cycles: int) -> tuple[int, float]:
    """From the first reading at or past a quarter of the cycles to the last: (that reading's cycles, bytes per
    bet). What grows before it — caches, the replay window's request ids — stops growing."""
    base = min(done for done in rss_kib_at if done >= cycles // 4)
    last = max(rss_kib_at)
    return base, (rss_kib_at[last] - rss_kib_at[base]) * 1024 / max(last - base, 1)


def _exactly_once(port: int, requests: Path, count: int, connections: int) -> None:
    """Send each request of the file once. Past the end the script sends only health checks (admin requests
    are not journaled), and wrk is stopped when the journal's request counter shows all were answered."""
    lua = requests.with_suffix(".lua")
    lua.write_text(
        LUA.read_text().replace(
            "    position = 1 -- ran out: replays are rejected (401) and show up as non-2xx responses\n",
            '    return wrk.format("GET", "/__admin/health")\n',
        )
    )
    target = _journal_counter(port) + count
    generator = subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            "-d600s",
            "-s",
            str(lua),
            f"http://127.0.0.1:{port}",
            "--",
            str(requests),
            "1",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        while _journal_counter(port) < target:
            if generator.poll() is not None:
                raise RuntimeError("wrk stopped early")
            time.sleep(0.2)
    finally:
        generator.terminate()
        generator.wait(10)


def _journal_counter(port: int) -> int:
    """How many provider requests the sandbox has answered so far (the id of its newest journal entry)."""
    newest = admin(port, "/requests?limit=1")
    return newest[0]["id"] if newest else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="wrk duration per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per server; the best is kept")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cycles", type=int, default=200_000, help="pay-in + pay-out cycles for the memory test")
    parser.add_argument("--startups", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="a smoke run with a tiny load")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.cycles, args.startups = 1, 1, 2_000, 3
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        load = throughput(work, args.seconds, args.connections, args.rounds)
        starts = startup(args.startups)
        mem = memory(work, args.cycles, args.connections)
        # Durable: RSS read every twentieth of the run, with a 30 s replay window so the request ids it remembers
        # stop growing early; the growth per bet is taken after the first quarter (see durable_growth).
        durable_mem = memory(
            work,
            args.cycles,
            args.connections,
            work / "memory.db",
            chunk=max(args.cycles // 20, 1000),
            env={"BETCORE_SANDBOX_TIMESTAMP_TOLERANCE_MS": "30000"},
        )
        durable_base, durable_bytes = durable_growth(durable_mem["rss_kib_at"], args.cycles)
    sandbox, bare, durable = load["sandbox"], load["bare"], load["durable"]
    ratio = sandbox["rps"] / bare["rps"]
    rows = [
        (
            "signed pay-in throughput (req/s)",
            f"{sandbox['rps']:.0f}",
            f"{bare['rps']:.0f}",
            f"{ratio:.2f}",
            ">= 0.7 x bare",
            ratio >= 0.7,
        ),
        (
            "durable (--state) pay-in throughput (req/s)",
            f"{durable['rps']:.0f}",
            f"{sandbox['rps']:.0f}",
            f"{durable['rps'] / sandbox['rps']:.2f}",
            ">= 0.7 x in memory",
            durable["rps"] >= 0.7 * sandbox["rps"],
        ),
        (
            "pay-in p99 latency (ms)",
            f"{sandbox['p99_ms']:.2f}",
            f"{bare['p99_ms']:.2f}",
            f"{sandbox['p99_ms'] / bare['p99_ms']:.2f}",
            "<= 10 ms",
            sandbox["p99_ms"] <= 10,
        ),
        (
            "start-up to healthy, median (s)",
            f"{starts['sandbox']:.3f}",
            f"{starts['bare']:.3f}",
            f"{starts['sandbox'] / starts['bare']:.2f}",
            "<= 0.5 s",
            starts["sandbox"] <= 0.5,
        ),
        (
            f"RSS growth per settled bet (B), {mem['cycles']} cycles",
            f"{mem['bytes_per_bet']:.0f}",
            "-",
            "-",
            "<= 1024 B",
            mem["bytes_per_bet"] <= 1024,
        ),
        (
            f"durable: RSS growth per bet (B), {durable_base}-{durable_mem['cycles']}",
            f"{durable_bytes:.0f}",
            "-",
            "-",
            "<= 250 B",
            durable_bytes <= 250,
        ),
    ]
    print(f"{'measure':46} {'sandbox':>10} {'bare':>10} {'ratio':>6}  target")
    for name, mine, theirs, r, target, ok in rows:
        print(f"{name:46} {mine:>10} {theirs:>10} {r:>6}  {target} {'met' if ok else 'MISSED'}")
    print(
        f"\nwrk: -t1 -c{args.connections}, {args.seconds:g} s, best of {args.rounds}; non-2xx: sandbox "
        f"{sandbox['non_2xx']}, bare {bare['non_2xx']}; memory: {mem['settled']} bets settled, RSS "
        f"{mem['rss_before_kib']} -> {mem['rss_after_kib']} KiB, audit ok: {mem['audit_ok']}; durable: "
        f"{durable_mem['settled']} settled, RSS {durable_mem['rss_before_kib']} -> {durable_mem['rss_kib_at']} KiB, "
        f"audit ok: {durable_mem['audit_ok']}; non-2xx durable {durable['non_2xx']}"
    )
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
