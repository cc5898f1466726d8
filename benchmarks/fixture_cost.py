"""Cost of the per-test fixture: start + stop of one Sandbox, next to a bare aiohttp server.

Both run the same way (own thread, own event loop, an ephemeral port on 127.0.0.1), interleaved in one run,
so the ratio holds on a noisy machine where absolute numbers do not.

    python -m benchmarks.fixture_cost [--cycles 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import threading
import time
import urllib.request

from aiohttp import web

from betcore_sandbox import Sandbox


class BareServer:
    """The baseline: an aiohttp app with one route, in its own thread and loop, like Sandbox."""

    def start(self) -> BareServer:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait()
        return self

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/health", lambda request: web.json_response({"status": "healthy"}))
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        self.port = runner.addresses[0][1]
        ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


def measure(cycles: int, probe: bool) -> tuple[list[float], list[float]]:
    """Interleaved start+stop timings (ms) of a Sandbox and of the bare server."""
    sandbox_ms, bare_ms = [], []
    for _ in range(cycles):
        for make, sink, path in ((Sandbox, sandbox_ms, "/__admin/health"), (BareServer, bare_ms, "/health")):
            gc.collect()
            started = time.perf_counter()
            server = make().start()
            if probe:  # prove it serves, outside the timing
                pause = time.perf_counter()
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5).read()
                started += time.perf_counter() - pause
            server.stop()
            sink.append((time.perf_counter() - started) * 1000)
    return sandbox_ms, bare_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--target-ms", type=float, default=20.0)
    parser.add_argument("--max-ratio", type=float, help="judge by the ratio to the bare server instead (for tests)")
    args = parser.parse_args(argv)
    measure(5, probe=True)  # warm-up: imports, first sockets
    sandbox_ms, bare_ms = measure(args.cycles, probe=True)
    sandbox, bare = statistics.median(sandbox_ms), statistics.median(bare_ms)
    p90 = lambda xs: statistics.quantiles(xs, n=10)[-1]  # noqa: E731
    print(f"start+stop over {args.cycles} cycles (ms)   median    p90")
    print(f"  Sandbox                                {sandbox:7.2f} {p90(sandbox_ms):6.2f}")
    print(f"  bare aiohttp server                    {bare:7.2f} {p90(bare_ms):6.2f}")
    print(f"  ratio Sandbox / bare                   {sandbox / bare:7.2f}")
    if args.max_ratio is not None:  # a busy machine slows both alike: the ratio holds where times do not
        met = sandbox / bare <= args.max_ratio
        print(f"  target ratio <= {args.max_ratio:g}: {'met' if met else 'MISSED'}")
    else:
        met = sandbox <= args.target_ms
        print(f"  target median <= {args.target_ms:g} ms: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
