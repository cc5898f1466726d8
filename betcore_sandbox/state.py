"""Everything a running sandbox knows, one object per concern, reset in place to the start-up state."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .audit import load_checked
from .clock import Clock
from .codes import ResponseCodes
from .faults import FaultBook
from .fixtures import Fixture
from .inputs import ScenarioOptions
from .journal import Journal
from .logs import RequestLog
from .partner import LaunchBook
from .request_ids import SeenRequestIds
from .scenarios import AppliedScenario, prepare
from .settings import DEFAULT_DUPLICATE_RESPONSE, Settings, validate
from .wallet import Wallet, WalletCopy

if TYPE_CHECKING:
    from .store import Store

MAX_INTERNAL_ERRORS = 100


class SandboxState:
    def __init__(
        self,
        fixture: Fixture,
        settings: Mapping[str, Any] | None = None,
        *,
        clock_ms: int | None = None,
        store: Store | None = None,
        merge: bool = False,
    ) -> None:
        """clock_ms: start the sandbox clock at this time (epoch ms, virtual); None for wall time.
        `store`: durable mode, the wallet kept in that database: a new one is seeded with the fixture, an existing
        one is resumed (and with `merge` the fixture's new players and sessions are added to it)."""
        self.fixture = fixture
        self.store = store
        self.clock = Clock(clock_ms)  # the one time source: wallet, faults, request ids, timestamp window
        # Start-up settings: defaults < the fixture's "settings" < explicit overrides (a partial duplicateResponse
        # object of the overrides changes only the endpoints it names).
        base = fixture.settings.get("duplicateResponse", DEFAULT_DUPLICATE_RESPONSE)
        self.startup_settings = Settings(**{**fixture.settings, **validate(settings or {}, base=base)})
        self.settings = Settings()
        self.codes = ResponseCodes()
        self.wallet = Wallet(self.clock.now, self.settings)
        self.seen_request_ids = SeenRequestIds()
        self.journal = Journal()
        self.faults = FaultBook(self.clock.now)
        self.launches = LaunchBook()  # the Launch calls made to providers, newest kept
        self.internal_errors: list[str] = []  # the newest MAX_INTERNAL_ERRORS; every one is also logged
        self.request_log = RequestLog()  # one per sandbox: what it logs of each provider request
        self.scenarios: list[AppliedScenario] = []  # applied since the last reset, for the conformance report
        if store is None or store.new:
            load_checked(self.wallet, fixture)  # an export with a ledger that does not add up stops here
        else:
            load_checked(Wallet(self.clock.now, self.settings), fixture)  # checked all the same: reset goes back to it
        if store is not None:
            store.attach(self.wallet, fixture if merge else None)
        self._reset_runtime()
        if store is not None:  # after the start-up clock: a resumed sandbox's clock carries on where it was
            store.keep_clock(self.clock, self.wallet)

    def close(self) -> None:
        """Let go of the database, if any (its last changes are on disk already)."""
        if self.store is not None:
            self.store.close()

    async def written(self) -> None:
        """Durable: wait until the wallet's changes so far are in the database (StorageFailed when they could not
        be written: then the wallet is as the file says). In memory: at once."""
        if self.store is not None and (failure := await self.store.settled()) is not None:
            raise failure

    async def consistent_copy(self) -> WalletCopy:
        """The wallet as it is now (Wallet.consistent_copy). Durable: the bets are read from a snapshot of the
        file in a worker thread, so a long read does not hold up the requests the loop serves meanwhile."""
        if self.store is None:
            return self.wallet.consistent_copy()
        read_bets = self.store.pinned_bets()  # the same moment as the copy: nothing changes in between
        copy = self.wallet.consistent_copy(with_bets=False)
        return dataclasses.replace(copy, bets=await asyncio.get_running_loop().run_in_executor(None, read_bets))

    def record_internal_error(self, text: str) -> None:
        self.internal_errors.append(text)
        del self.internal_errors[:-MAX_INTERNAL_ERRORS]

    def reset(self) -> None:
        """Back to the loaded fixture, the start-up settings and the start-up clock; journal, faults and seen ids
        cleared. Durable: the database is replaced with the fixture's state first (when that fails, nothing
        changes)."""
        self.wallet.load(self.fixture)
        self._reset_runtime()

    def _reset_runtime(self) -> None:
        self.clock.restart()
        self.settings.replace_with(self.startup_settings)
        self.codes.reset(self.fixture.response_codes)
        self.seen_request_ids.clear()
        self.journal.reset()
        self.journal.resize(self.settings.journalLimit, self.settings.journalMaxBytes)
        self.faults.reset()
        self.launches.reset()
        self.internal_errors.clear()
        self.scenarios.clear()
        self.arm(self.fixture)

    def arm(self, fixture: Fixture) -> None:
        """Add a fixture's fault rules, then its scenarios' (as at start-up and on every reset)."""
        for rule in fixture.faults:
            self.faults.add(rule)
        for given in fixture.scenarios:
            self.apply_scenario(given.name, given)

    def apply_scenario(self, name: str, options: ScenarioOptions) -> AppliedScenario:
        """Add the named scenario's fault rules (NotFound for an unknown name) and remember it for the report."""
        found, options, rules = prepare(name, options)
        self.faults.make_room(len(rules))  # all of its rules or none
        fault_ids = [self.faults.add(rule).id for rule in rules]
        applied = AppliedScenario(found, options, tuple(fault_ids), time.time())
        self.scenarios.append(applied)
        return applied
