"""Keep garbage-collection pauses short in a long-running server.

The wallet only grows: every bet and ledger entry lives until reset. CPython's full collections re-scan all of
them, so their pause grows with it (about 200 ms at 100 000 settled bets on a 2-vCPU machine). Ten times a second
the pacer collects what is young (a pause of a few ms) and then freezes the survivors, which full collections no
longer scan.

Freezing keeps whatever is alive at that tick, not only the wallet. Every connection open at a tick is frozen with
it, and a closed asyncio transport is a reference cycle (its bound read callback), so a connection that closes
after a tick (one held by a fault, a slow client, any keep-alive one) leaves a few frozen objects that nothing
would ever collect: growth without bound under endless load. So every REFREEZE_SECONDS the pacer unfreezes
everything, runs one full collection, which frees them, and freezes the survivors again. That is one full pause, so
it is rare: once a minute, and never more than 1 % of the time as the wallet grows (the period stretches to 100
times the last pause), where CPython would run one each time the heap grew by a quarter. The frozen garbage is then
bounded by what one period of connections leaves. Garbage without cycles is freed by reference counting at once,
frozen or not.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

INTERVAL_SECONDS = 0.1
REFREEZE_SECONDS = 60.0
MAX_FULL_SHARE = 0.01  # of the time spent in the pacer's full collections


@dataclass(frozen=True, slots=True)
class GcPacing:
    interval_seconds: float = INTERVAL_SECONDS  # collect the young, freeze the survivors
    refreeze_seconds: float = REFREEZE_SECONDS  # unfreeze, collect everything, freeze again
    max_full_share: float = MAX_FULL_SHARE  # the refreeze period stretches to keep its pauses under this share


@dataclass(slots=True)
class PacerStats:
    full_collections: int = 0
    frozen_after_full: int = 0  # gc.get_freeze_count() after the latest full collection
    last_full_pause: float = 0.0  # seconds


PACER_STATS = web.AppKey("gc_pacer_stats", PacerStats)


def install(app: web.Application, pacing: GcPacing = GcPacing()) -> None:
    """Run the pacer while the application serves; its counters are in app[PACER_STATS]."""
    stats = app[PACER_STATS] = PacerStats()

    async def pace(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_pace(pacing, stats))
        yield
        task.cancel()
        gc.unfreeze()

    app.cleanup_ctx.append(pace)


async def _pace(pacing: GcPacing, stats: PacerStats) -> None:
    loop = asyncio.get_running_loop()
    refreeze_at = loop.time() + pacing.refreeze_seconds
    while True:
        await asyncio.sleep(pacing.interval_seconds)
        if loop.time() >= refreeze_at:
            started = time.perf_counter()
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            pause = time.perf_counter() - started
            stats.full_collections += 1
            stats.frozen_after_full = gc.get_freeze_count()
            stats.last_full_pause = pause
            refreeze_at = loop.time() + max(pacing.refreeze_seconds, pause / pacing.max_full_share)
        else:
            gc.collect()
            gc.freeze()
