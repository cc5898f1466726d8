"""Admin operations on a running sandbox, shared by the HTTP admin API and the Python `Sandbox` API.

Inputs are decoded JSON values, checked against their types in `inputs` here, at the admin edge; outputs are
views with Decimal amounts. AdminInputError names a bad field; NotFound an unknown id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from . import audit as money_audit
from . import report, report_formats, scenarios, snapshot, views
from .clock import ClockError
from .errors import AdminInputError, NotFound
from .inputs import (
    ClockChange,
    InputError,
    PlayerCreate,
    PlayerPatch,
    ScenarioOptions,
    SessionCreate,
    SessionPatch,
    read,
)
from .ledger import LedgerEntry
from .settings import SettingError
from .state import SandboxState
from .views import Views
from .wallet import OPEN, REFUNDED, SETTLED, Bet, Session, Wallet

BET_STATUSES = (OPEN, SETTLED, REFUNDED)
JOURNAL_CHUNK = 16  # journal entries per streamed piece: one may hold a 64 KiB body and its answer
T = TypeVar("T")


def body_as(body: Any, kind: type[T]) -> T:
    """An admin body as its type; AdminInputError names the field (without the leading `$.`)."""
    try:
        return read(body, kind)
    except InputError as problem:
        where = problem.path.removeprefix("$.") if problem.path != "$" else "body"
        raise AdminInputError(f"{where}: {problem.message}") from None


def reset(state: SandboxState) -> None:
    state.reset()


def export_state(state: SandboxState) -> dict[str, Any]:
    return snapshot.export_state(state)


def import_state(state: SandboxState, body: Any) -> dict[str, Any]:
    return snapshot.import_state(state, body)


# -- players ---------------------------------------------------------------------------------------


def players(state: SandboxState) -> list[dict[str, Any]]:
    shown = Views.of(state.wallet)
    return [shown.player(p) for p in state.wallet.players.values()]


def player(state: SandboxState, player_id: str) -> dict[str, Any]:
    return Views.of(state.wallet).player(state.wallet.player(player_id))


def create_player(state: SandboxState, body: Any) -> dict[str, Any]:
    given = body_as(body, PlayerCreate)
    created = state.wallet.create_player(given.id, given.currency, given.balance, given.blocked)
    return Views.of(state.wallet).player(created)


def update_player(state: SandboxState, player_id: str, body: Any) -> dict[str, Any]:
    given = body_as(body, PlayerPatch)
    updated = state.wallet.update_player(player_id, balance=given.balance, blocked=given.blocked)
    return Views.of(state.wallet).player(updated)


# -- sessions --------------------------------------------------------------------------------------


def sessions(state: SandboxState) -> list[dict[str, Any]]:
    wallet = state.wallet
    shown, now = Views.of(wallet), wallet.clock()
    return [shown.session(s, now) for s in wallet.sessions.values()]


def session(state: SandboxState, session_id: str) -> dict[str, Any]:
    return _session_view(state, state.wallet.session(session_id))


def create_session(state: SandboxState, body: Any) -> dict[str, Any]:
    """With `playerId`, or with an inline `currency` + `balance` that creates the player too."""
    given = body_as(body, SessionCreate)
    if given.player_id is not None and (given.currency is not None or given.balance is not None):
        raise AdminInputError("playerId: give either playerId or currency + balance, not both")
    created = state.wallet.open_session(
        given.id,
        given.player_id,
        given.counterparty_id,
        currency=given.currency,
        balance=given.balance,
        ttl_seconds=given.ttl_seconds,
        min_bet=given.min_bet,
        max_bet=given.max_bet,
    )
    return _session_view(state, created)


def update_session(state: SandboxState, session_id: str, body: Any) -> dict[str, Any]:
    given = body_as(body, SessionPatch)
    updated = state.wallet.update_session(
        session_id, status=given.status, ttl_seconds=given.ttl_seconds, min_bet=given.min_bet, max_bet=given.max_bet
    )
    return _session_view(state, updated)


def delete_session(state: SandboxState, session_id: str) -> None:
    state.wallet.delete_session(session_id)


def _session_view(state: SandboxState, s: Session) -> dict[str, Any]:
    return Views.of(state.wallet).session(s, state.wallet.clock())


# -- bets, transactions, requests ------------------------------------------------------------------


def bets(
    state: SandboxState, *, session_id: str | None = None, player_id: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    shown = Views.of(state.wallet)
    return [shown.bet(b) for b in _bets(state.wallet.bets.values(), session_id, player_id, status)]


def bets_json(
    state: SandboxState, *, session_id: str | None = None, player_id: str | None = None, status: str | None = None
) -> Iterator[bytes]:
    """The bets as a JSON array in pieces, from a consistent copy (for streaming to a client)."""
    copy = state.wallet.consistent_copy()
    return views.json_array(_bets(copy.bets, session_id, player_id, status), Views.of(copy).bet)


def _bets(found: Iterable[Bet], session_id: str | None, player_id: str | None, status: str | None) -> Iterator[Bet]:
    if status is not None and status not in BET_STATUSES:  # checked before the first bet is asked for
        raise AdminInputError(f"status: must be one of {', '.join(BET_STATUSES)}")
    return (
        b
        for b in found
        if (session_id is None or b.session_id == session_id)
        and (player_id is None or b.player_id == player_id)
        and (status is None or b.status == status)
    )


def bet(state: SandboxState, bet_id: str, counterparty_id: str | None = None) -> dict[str, Any]:
    wallet = state.wallet
    # one lookup per counterparty, not a scan of every bet (in durable mode bets are read from the file)
    counterparties = list(wallet.counterparties) if counterparty_id is None else [counterparty_id]
    found = [b for cp in counterparties if (b := wallet.bets.get((cp, bet_id))) is not None]
    if not found:
        raise NotFound(f"no bet {bet_id!r}")
    if len(found) > 1:
        raise AdminInputError(f"counterpartyId: bet {bet_id!r} exists for several counterparties, name one")
    return Views.of(state.wallet).bet(found[0])


def transactions(
    state: SandboxState, *, player_id: str | None = None, session_id: str | None = None, bet_id: str | None = None
) -> list[dict[str, Any]]:
    shown = Views.of(state.wallet)
    return [shown.entry(e) for e in _entries(state.wallet.ledger.entries(), player_id, session_id, bet_id)]


def transactions_json(
    state: SandboxState, *, player_id: str | None = None, session_id: str | None = None, bet_id: str | None = None
) -> Iterator[bytes]:
    """The ledger as a JSON array in pieces, from a consistent copy (for streaming to a client)."""
    copy = state.wallet.consistent_copy()
    return views.json_array(_entries(copy.entries(), player_id, session_id, bet_id), Views.of(copy).entry)


def _entries(
    found: Iterable[LedgerEntry], player_id: str | None, session_id: str | None, bet_id: str | None
) -> Iterator[LedgerEntry]:
    return (
        e
        for e in found
        if (player_id is None or e.player_id == player_id)
        and (session_id is None or e.session_id == session_id)
        and (bet_id is None or e.bet_id == bet_id)
    )


def requests(
    state: SandboxState,
    *,
    endpoint: str | None = None,
    session_id: str | None = None,
    bet_id: str | None = None,
    limit: Any = None,
) -> list[dict[str, Any]]:
    found = state.journal.find(endpoint=endpoint, session_id=session_id, bet_id=bet_id, limit=_limit(limit))
    return [views.request(e) for e in found]


def requests_json(
    state: SandboxState,
    *,
    endpoint: str | None = None,
    session_id: str | None = None,
    bet_id: str | None = None,
    limit: Any = None,
) -> Iterator[bytes]:
    """The journal as a JSON array in pieces (for streaming to a client)."""
    found = state.journal.find(endpoint=endpoint, session_id=session_id, bet_id=bet_id, limit=_limit(limit))
    return views.json_array(found, views.request, JOURNAL_CHUNK)


def _limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, str) and not (limit.isascii() and limit.isdigit() and len(limit) <= 9):
        raise AdminInputError("limit: must be a positive integer")
    try:
        number = int(limit)
    except (TypeError, ValueError):
        raise AdminInputError("limit: must be a positive integer") from None
    if number < 1:
        raise AdminInputError("limit: must be a positive integer")
    return number


def request(state: SandboxState, entry_id: str) -> dict[str, Any]:
    """One journal entry by its id, while the journal still keeps it."""
    found = state.journal.get(int(entry_id)) if entry_id.isdigit() and len(entry_id) < 20 else None
    if found is None:
        raise NotFound(f"no journal entry {entry_id!r} (it may have been pushed out: see journalLimit)")
    return views.request(found)


def clear_requests(state: SandboxState) -> None:
    state.journal.clear()


# -- faults, audit, settings -----------------------------------------------------------------------


def faults(state: SandboxState) -> list[dict[str, Any]]:
    return [rule.view() for rule in state.faults.rules()]


def fault(state: SandboxState, fault_id: str) -> dict[str, Any]:
    return state.faults.get(fault_id).view()


def add_fault(state: SandboxState, body: Any) -> dict[str, Any]:
    return state.faults.add(body).view()


def remove_fault(state: SandboxState, fault_id: str) -> None:
    state.faults.remove(fault_id)


def clear_faults(state: SandboxState) -> None:
    state.faults.clear()


def audit(state: SandboxState) -> dict[str, Any]:
    return money_audit.audit(state.wallet)


def settings(state: SandboxState) -> dict[str, Any]:
    return state.settings.as_dict()


def update_settings(state: SandboxState, body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise AdminInputError("settings must be a JSON object")
    try:
        state.settings.update(body)
    except SettingError as exc:
        raise AdminInputError(str(exc)) from None
    state.journal.resize(state.settings.journalLimit, state.settings.journalMaxBytes)
    return state.settings.as_dict()


# -- the clock -------------------------------------------------------------------------------------


def clock(state: SandboxState) -> dict[str, Any]:
    return state.clock.view()


def change_clock(state: SandboxState, body: Any) -> dict[str, Any]:
    """Exactly one of advanceMs (forward), setMs (any time not before the latest booking), mode "real"."""
    given = body_as(body, ClockChange)
    given_fields = (("advanceMs", given.advance_ms), ("setMs", given.set_ms), ("mode", given.mode))
    chosen = [name for name, value in given_fields if value is not None]
    if len(chosen) != 1:
        raise AdminInputError(
            "body: give exactly one of advanceMs, setMs or mode" + (f", not {' and '.join(chosen)}" if chosen else "")
        )
    try:
        if given.advance_ms is not None:
            state.clock.advance(given.advance_ms)
        elif given.set_ms is not None:
            state.clock.set(given.set_ms, not_before=latest_booking(state.wallet))
        else:
            state.clock.real(not_before=latest_booking(state.wallet))
    except ClockError as exc:
        raise AdminInputError(str(exc)) from None
    return state.clock.view()


def latest_booking(wallet: Wallet) -> float | None:
    """The time of the newest ledger entry or tombstone (epoch seconds), None when nothing is booked."""
    return wallet.latest_booking()


# -- scenarios and the conformance report ----------------------------------------------------------

MAX_GRACE_SECONDS = 10 * 365 * 24 * 3600
_GRACE_TEXT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


def scenario_list() -> list[dict[str, Any]]:
    """The named scenarios: name, description, and the checks each exercises."""
    return [s.view() for s in scenarios.SCENARIOS.values()]


def apply_scenario(state: SandboxState, name: str, body: Any) -> dict[str, Any]:
    """Add a named scenario's fault rules; `body` holds its options (sessionId, playerId, seed, delayMs)."""
    scenarios.scenario(name)  # an unknown name is 404 before the body is judged
    return state.apply_scenario(name, body_as(body, ScenarioOptions)).view()


def report_inputs(state: SandboxState, form: str | None = None, grace_seconds: Any = None) -> tuple[str, report.Inputs]:
    """The checked format (default json) and what the report judges, taken now; `render_report` does the rest
    and touches nothing live, so a server may run it in a worker thread."""
    form = form or "json"
    if form not in report_formats.FORMATS:
        raise AdminInputError(f"format: must be one of {', '.join(report_formats.FORMATS)}")
    return form, report.inputs_of(state, _grace(grace_seconds))


def render_report(given: report.Inputs, form: str) -> tuple[bytes, str]:
    """The report in one of report_formats.FORMATS: (bytes, content type)."""
    data = report.judged(given)
    rendered = views.encode(data) if form == "json" else report_formats.render(data, form)
    return rendered, report_formats.CONTENT_TYPES[form]


def _grace(value: Any) -> float | None:
    if value is None:
        return None
    # Query text is plain decimal notation only (float() would also take "1_0", "inf", "-0" or full-width digits).
    if isinstance(value, bool) or not (
        isinstance(value, (int, float)) or (isinstance(value, str) and _GRACE_TEXT.fullmatch(value))
    ):
        raise AdminInputError("graceSeconds: must be a number of seconds, like 60 or 0.5")
    number = float(value)
    if not 0 <= number <= MAX_GRACE_SECONDS:
        raise AdminInputError(f"graceSeconds: must be from 0 to {MAX_GRACE_SECONDS}")
    return number
