"""Keep garbage-collection pauses short in a long-running server.

The wallet only grows: every bet and ledger entry lives until reset. CPython's full collections re-scan all of
them, so with a few hundred thousand bets a single pause reaches tens of milliseconds. Ten times a second the pacer
collects what is young (a pause of a few ms) and then freezes the survivors, which full collections no longer scan. Garbage
is still freed by reference counting, and cycles are collected before anything is frozen.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

from aiohttp import web

INTERVAL_SECONDS = 0.1


async def gc_pacer(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_pace())
    yield
    task.cancel()
    gc.unfreeze()


async def _pace() -> None:
    while True:
        await asyncio.sleep(INTERVAL_SECONDS)
        gc.collect()
        gc.freeze()
