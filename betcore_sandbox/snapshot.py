"""The whole state as JSON — the fixture format plus bets, ledger and tombstones — and back, exactly.

An export is a fixture: `--fixtures` and `PUT /__admin/state` both accept it and restore everything in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import audit as money_audit
from . import jsontext, views
from .errors import AdminInputError
from .fixtures import Fixture, FixtureError, parse_fixture
from .settings import Settings
from .state import SandboxState
from .views import Views
from .wallet import Counterparty, Wallet, WalletCopy


def export_state(state: SandboxState) -> dict[str, Any]:
    """The whole state now, as one dict (amounts as Decimal)."""
    copy = state.wallet.consistent_copy()
    shown = Views.of(copy)
    return {
        **_head(state, copy, shown),
        "bets": [shown.bet(b, with_entries=False) for b in copy.bets],
        "ledger": [shown.entry(e) for e in copy.entries()],
        "tombstones": [views.tombstone(t) for t in copy.tombstones],
        "lastTransactionId": copy.last_transaction_id,
    }


def export_chunks(state: SandboxState) -> Iterator[bytes]:
    """The same export as JSON text in pieces, from one consistent copy: a server writes each piece and serves
    other requests in between, and never holds the whole text in memory."""
    copy = state.wallet.consistent_copy()
    shown = Views.of(copy)
    head = views.encode(_head(state, copy, shown))
    yield head[:-1] + b',"bets":'
    yield from views.json_array(copy.bets, lambda b: shown.bet(b, with_entries=False))
    yield b',"ledger":'
    yield from views.json_array(copy.entries(), shown.entry)
    yield b',"tombstones":'
    yield from views.json_array(copy.tombstones, views.tombstone)
    yield b',"lastTransactionId":%d}' % copy.last_transaction_id


def _head(state: SandboxState, copy: WalletCopy, shown: Views) -> dict[str, Any]:
    return {
        "counterparties": [_counterparty(c) for c in copy.counterparties],
        "currencies": copy.currencies,
        "players": [shown.player(p, opening=True) for p in copy.players],
        "sessions": [shown.session(s, copy.now, with_balance=False) for s in copy.sessions],
        "responseCodes": state.codes.overrides(),
        "settings": state.settings.as_dict(),
    }


def _counterparty(c: Counterparty) -> dict[str, Any]:
    view = {"id": c.id, "secret": c.secret, "name": c.name}
    if c.provider_url is not None:
        view["providerUrl"] = c.provider_url
    return view


def import_state(state: SandboxState, data: Any) -> dict[str, Any]:
    """Replace the running state with an export, all or nothing (see prepare_import); a summary of it."""
    return install(state, prepare_import(data, state.wallet.clock))


def prepare_import(data: Any, clock: Callable[[], float]) -> tuple[Fixture, Wallet]:
    """Check an export on a wallet of its own — every reference, every amount against its currency, every bet
    against its ledger entries (the money audit). It touches nothing shared, so a server may run it apart from
    its loop; only a consistent state is then installed."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = jsontext.decode_document(bytes(data), bom=True)  # a file saved by an editor, too
        except jsontext.JsonError as exc:
            raise AdminInputError(f"body {exc}") from None
    if not isinstance(data, Mapping):
        raise AdminInputError("$: the state must be a JSON object")
    try:
        fixture = parse_fixture(data, "state")
        candidate = Wallet(clock, Settings(**fixture.settings))
        money_audit.load_checked(candidate, fixture)
    except FixtureError as exc:
        raise AdminInputError(str(exc).removeprefix("state: ")) from None
    return fixture, candidate


def install(state: SandboxState, prepared: tuple[Fixture, Wallet]) -> dict[str, Any]:
    """Swap a checked import in (one synchronous step: no request sees half of it)."""
    fixture, candidate = prepared
    state.wallet.replace_with(candidate)  # first: in durable mode it may fail, and then nothing has changed
    state.settings.replace_with(Settings(**fixture.settings))
    state.codes.reset(fixture.response_codes)
    state.journal.resize(state.settings.journalLimit, state.settings.journalMaxBytes)
    if fixture.faults or fixture.scenarios:  # they replace the rules, so importing twice never doubles them
        state.faults.clear()
        state.scenarios.clear()
        state.arm(fixture)
    return {
        "status": "imported",
        "players": len(candidate.players),
        "sessions": len(candidate.sessions),
        "bets": len(candidate.bets),
        "transactions": len(candidate.ledger),
        "lastTransactionId": candidate.last_transaction_id,
    }
