"""Entities as camelCase dicts: the shapes of the admin API and of the state export. Amounts stay Decimal."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from .journal import JournalEntry
from .ledger import UNKNOWN_ROUND, Ledger, LedgerEntry
from .money import from_minor
from .text import printable, printable_bytes
from .wallet import Bet, Player, Session, Tombstone, Wallet, WalletCopy, steps_of

T = TypeVar("T")
CHUNK = 1000  # items per piece of a streamed JSON array
_encoder = msgspec.json.Encoder()


def plain(data: Any) -> Any:
    """Amounts as exact decimal strings without exponents ("0.00000042", never "4.2E-7")."""
    if isinstance(data, Decimal):
        return format(data, "f")
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [plain(value) for value in data]
    return data


def encode(data: Any) -> bytes:
    """A view as admin JSON."""
    return _encoder.encode(plain(data))


def json_array(items: Iterable[T], view: Callable[[T], Any], chunk: int = CHUNK) -> Iterator[bytes]:
    """A JSON array of views, in pieces of `chunk` items."""
    yield b"["
    separator = b""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, chunk)):
        yield separator + encode([view(item) for item in batch])[1:-1]
        separator = b","
    yield b"]"


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


class Views:
    """Records as the admin API and the export show them: camelCase, amounts as Decimal in their currency's
    decimals (minor units inside)."""

    def __init__(self, currencies: Mapping[str, int], players: Mapping[str, Player], ledger: Ledger) -> None:
        self.currencies = currencies
        self.players = players
        self.ledger = ledger

    @classmethod
    def of(cls, source: Wallet | WalletCopy) -> Views:
        if isinstance(source, WalletCopy):
            return cls(source.currencies, {p.id: p for p in source.players}, source.ledger)
        return cls(source.currencies, source.players, source.ledger)

    def _scale(self, player_id: str) -> int:
        return self.currencies[self.players[player_id].currency]

    def player(self, p: Player, *, opening: bool = False) -> dict[str, Any]:
        scale = self.currencies[p.currency]
        view = {"id": p.id, "currency": p.currency, "balance": from_minor(p.balance, scale), "blocked": p.blocked}
        if opening:
            view["openingBalance"] = from_minor(p.opening_balance, scale)
        return view

    def session(self, s: Session, now: float, *, with_balance: bool = True) -> dict[str, Any]:
        player = self.players[s.player_id]
        scale = self.currencies[player.currency]
        view: dict[str, Any] = {
            "id": s.id,
            "playerId": s.player_id,
            "counterpartyId": s.counterparty_id,
            "status": s.status_at(now) if with_balance else s.status,
            "expiresAt": iso(s.expires_at),
            "minBet": _decimal(s.min_bet, scale),
            "maxBet": _decimal(s.max_bet, scale),
            "demo": s.demo,
            "launchFailed": s.launch_failed,
        }
        if with_balance:
            view["balance"] = from_minor(player.balance, scale)
            view["currency"] = player.currency
        return view

    def entry(self, e: LedgerEntry) -> dict[str, Any]:
        scale = self._scale(e.player_id)
        view = {
            "transactionId": str(e.transaction_id),
            "type": e.type,
            "amount": from_minor(e.amount, scale),
            "balanceAfter": from_minor(e.balance_after, scale),
            "playerId": e.player_id,
            "sessionId": e.session_id,
            "betId": e.bet_id,
            "counterpartyId": e.counterparty_id,
            "requestId": e.request_id,
            "gameRoundId": e.game_round_id,
            "time": iso(e.time),
        }
        if e.game_round_id == UNKNOWN_ROUND:
            del view["gameRoundId"]  # exported as it came: without one
        return view

    def bet(self, b: Bet, *, with_entries: bool = True) -> dict[str, Any]:
        scale = self._scale(b.player_id)
        entries = [self.ledger[row] for row in b.entries]
        view = {
            "betId": b.bet_id,
            "counterpartyId": b.counterparty_id,
            "sessionId": b.session_id,
            "playerId": b.player_id,
            "kind": b.kind,
            "status": b.status,
            "stake": from_minor(b.stake, scale),
            "win": _decimal(b.win, scale),
            "winOdd": b.win_odd,
            "gameRoundId": b.game_round_id,
            "createdAt": iso(entries[0].time if entries else None),
            "history": [
                {
                    "operation": step.operation,
                    "transactionId": str(step.entry.transaction_id),
                    "balance": from_minor(step.entry.balance_after, scale),
                }
                for step in steps_of(b, entries)
            ],
        }
        if with_entries:
            view["transactions"] = [self.entry(e) for e in entries]
        return view


def _decimal(units: int | None, scale: int) -> Decimal | None:
    return None if units is None else from_minor(units, scale)


def tombstone(t: Tombstone) -> dict[str, Any]:
    return {"betId": t.bet_id, "counterpartyId": t.counterparty_id, "sessionId": t.session_id, "time": iso(t.time)}


def request(e: JournalEntry) -> dict[str, Any]:
    signature: dict[str, Any] = {"verdict": e.signature}
    if e.signature_error:
        signature["error"] = printable(e.signature_error)
    if e.signature_debug:
        signature["debug"] = e.signature_debug
    view: dict[str, Any] = {
        "id": e.id,
        "time": iso(e.time),
        "method": printable(e.method),
        "path": printable(e.path),
        "endpoint": e.endpoint,
        "sessionId": None if e.session_id is None else printable(e.session_id),
        "betId": e.bet_id,
        "counterpartyId": e.counterparty_id,
        # As sent: the sender's spelling of each name, in order, duplicates included.
        "headers": [[_text(name), _text(value)] for name, value in e.headers],
        "body": _text(e.body),
        "signature": signature,
        "unknownFields": list(e.unknown_fields),
        "warnings": list(e.warnings or ()),
        "response": None if e.status is None else {"status": e.status, "body": _text(e.response)},
        "fault": e.fault,
        "durationMs": e.duration_ms,
        "error": e.error,
        "direction": e.direction,
        "reason": reason(e),
    }
    if e.url is not None:
        view["url"] = printable(e.url)
    if e.direction == "incoming":
        view["receivedAt"] = iso(e.arrived)
    if e.sandbox_time is not None:
        view["sandboxTime"] = iso(e.sandbox_time)
    if e.truncated:
        view["truncated"] = {"bodySize": e.body_size, "headersSize": e.headers_size, "responseSize": e.response_size}
    return view


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else printable_bytes(raw)


def request_summary(entry: JournalEntry) -> dict[str, Any]:
    """What a feed row shows: the journal view's fields without headers, bodies and diagnostics, and the `reason`
    of the outcome (the signature's error, a failure inside the sandbox, else the answer's message)."""
    answer = answer_of(entry.response)
    return {
        "id": entry.id,
        "time": iso(entry.time),
        "method": printable(entry.method),
        "path": printable(entry.path),
        "endpoint": entry.endpoint,
        "sessionId": None if entry.session_id is None else printable(entry.session_id),
        "betId": entry.bet_id,
        "counterpartyId": entry.counterparty_id,
        "status": entry.status,
        "code": answer.code if isinstance(answer.code, int) and not isinstance(answer.code, bool) else None,
        "fault": entry.fault,
        "signature": entry.signature,
        "durationMs": entry.duration_ms,
        "error": entry.error,
        "warnings": list(entry.warnings or ()),
        "direction": entry.direction,
        "url": None if entry.url is None else printable(entry.url),
        "sandboxTime": None if entry.sandbox_time is None else iso(entry.sandbox_time),
        "receivedAt": iso(entry.arrived) if entry.direction == "incoming" else None,
        "reason": reason(entry, answer),
    }


class Answer(msgspec.Struct):
    """Only the code and message of an answer: the decoder skips everything else."""

    code: Any = msgspec.field(default=None, name="_responseCode")
    message: Any = None


def answer_of(raw: bytes | None) -> Answer:
    """The answer's `_responseCode` and message; empty when there was no answer or it was not JSON (a
    malformed-body fault)."""
    if not raw:
        return Answer()
    try:
        return msgspec.json.decode(raw, type=Answer)
    except msgspec.DecodeError:
        return Answer()


def reason(entry: JournalEntry, answer: Answer | None = None) -> str | None:
    """Why a request ended as it did: the signature's error, a failure inside the sandbox, the reason the sandbox
    recorded (a path that is no endpoint), else the answer's message (a validation error, an injected fault, an
    already processed bet), else the fault that dropped, cut or delayed the answer. One rule for the feed, the
    journal view, the command line and the pytest report."""
    answer = answer_of(entry.response) if answer is None else answer
    if entry.signature_error:
        return printable(entry.signature_error)
    if entry.error:
        return printable(entry.error.strip().splitlines()[-1])  # a traceback's last line names the exception
    if entry.reason:
        return printable(entry.reason)
    if isinstance(answer.message, str) and answer.message:
        return printable(answer.message)
    if entry.fault:  # it dropped, cut or delayed the answer, which then says nothing of it
        return f"injected fault {entry.fault.get('id')} ({entry.fault.get('kind')}, {entry.fault.get('phase')})"
    return None
