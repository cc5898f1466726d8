"""Provider request bodies: raw JSON bytes into a validated BetRequest, or InvalidRequest naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import jsontext
from .commands import Command, PayIn, PayInOut, PayOut, Refund
from .errors import InvalidRequest
from .limits import MAX_ID_LENGTH
from .money import AmountError, json_type, parse_amount, uses_exponent
from .settings import Settings
from .text import shown

FIELDS: dict[str, tuple[str, ...]] = {
    "pay-in": ("betId", "betAmount", "gameRoundId", "sessionId"),
    "pay-out": ("betId", "winAmount", "gameRoundId", "sessionId", "winOdd"),
    "pay-in-out": ("betId", "betAmount", "winAmount", "gameRoundId", "sessionId", "winOdd"),
    "refund": ("betId", "gameRoundId", "sessionId"),
}


@dataclass(slots=True)
class BetRequest:
    """A validated provider body: the command it asks for, and what the journal notes about it."""

    command: Command
    unknown_fields: tuple[str, ...] = ()
    warnings: list[str] | None = None  # lenient rules that let this body through

    @property
    def bet_id(self) -> str:
        return self.command.bet_id


def decode_json(raw: bytes) -> Any:
    try:
        return jsontext.decode(raw)
    except jsontext.JsonError as exc:
        raise InvalidRequest(f"body {exc}") from None


def parse_bet_request(endpoint: str, raw: bytes, path_session_id: str, settings: Settings | None = None) -> BetRequest:
    settings = settings or Settings()
    data = decode_json(raw)
    if not isinstance(data, dict):
        raise InvalidRequest(f"body must be a JSON object, not {json_type(data)}")
    try:
        jsontext.refuse_duplicate_keys(raw, data)
    except jsontext.JsonError as exc:
        raise InvalidRequest(f"body {exc}") from None
    known = FIELDS[endpoint]
    body_session = _optional_id(data, "sessionId")
    if body_session is not None and body_session != path_session_id:
        raise InvalidRequest(
            f"sessionId {shown(body_session)} in the body does not match {shown(path_session_id)} in the path"
        )
    warnings: list[str] = []
    bet_id = _bet_id(data)
    game_round_id = _optional_id(data, "gameRoundId")
    command: Command
    if endpoint == "pay-in":
        command = PayIn(bet_id, _stake(data, settings, warnings), game_round_id)
    elif endpoint == "pay-out":
        command = PayOut(
            bet_id, _amount(data, "winAmount", settings, warnings), game_round_id, _win_odd(data, settings, warnings)
        )
    elif endpoint == "pay-in-out":
        command = PayInOut(
            bet_id,
            _stake(data, settings, warnings),
            _amount(data, "winAmount", settings, warnings),
            game_round_id,
            _win_odd(data, settings, warnings),
        )
    else:
        command = Refund(bet_id, game_round_id)
    return BetRequest(command, tuple(key for key in data if key not in known), warnings or None)


def _stake(data: dict[str, Any], settings: Settings, warnings: list[str]) -> Decimal:
    amount = _amount(data, "betAmount", settings, warnings)
    if not amount:
        if settings.zeroStake == "reject":
            raise InvalidRequest("betAmount must be greater than 0 (setting zeroStake is reject)")
        warnings.append("zeroStake: betAmount is 0: accepted as a normal bet because zeroStake is accept")
    return amount


def _win_odd(data: dict[str, Any], settings: Settings, warnings: list[str]) -> Decimal | None:
    return None if data.get("winOdd") is None else _amount(data, "winOdd", settings, warnings)


def _bet_id(data: dict[str, Any]) -> str:
    if "betId" not in data or data["betId"] is None:
        raise InvalidRequest("betId is required")
    bet_id = _id_text(data["betId"], "betId")
    if not bet_id:
        raise InvalidRequest("betId must not be empty")
    return bet_id


def _optional_id(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return None if value is None else _id_text(value, name)


def _id_text(value: Any, name: str) -> str:
    """A string id; a JSON number stands for its decimal text."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidRequest(f"{name} must be a string, not {json_type(value)}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise InvalidRequest(f"{name} must be a string, not {shown(value)}")
    text = value if isinstance(value, str) else str(value) if isinstance(value, int) else format(value, "f")
    if len(text) > MAX_ID_LENGTH:
        raise InvalidRequest(f"{name} is longer than {MAX_ID_LENGTH} characters")
    return text


def _amount(data: dict[str, Any], name: str, settings: Settings, warnings: list[str]) -> Decimal:
    if name not in data:
        raise InvalidRequest(f"{name} is required")
    value = data[name]
    try:
        amount = parse_amount(value, settings.amountNotation)
    except AmountError as exc:
        hint = (
            " (setting amountNotation is plain)" if settings.amountNotation == "plain" and uses_exponent(value) else ""
        )
        raise InvalidRequest(f"{name} {exc}{hint}") from None
    if uses_exponent(value):
        warnings.append(
            f"amountNotation: {name} {shown(value)} is in exponent notation: read exactly as "
            f"{amount:f} because amountNotation is any"
        )
    return amount
