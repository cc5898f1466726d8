"""Provider request bodies: raw JSON bytes into a validated BetRequest, or InvalidRequest naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from .errors import InvalidRequest
from .money import AmountError, json_type, parse_amount

MAX_ID_LENGTH = 128

FIELDS: dict[str, tuple[str, ...]] = {
    "pay-in": ("betId", "betAmount", "gameRoundId", "sessionId"),
    "pay-out": ("betId", "winAmount", "gameRoundId", "sessionId", "winOdd"),
    "pay-in-out": ("betId", "betAmount", "winAmount", "gameRoundId", "sessionId", "winOdd"),
    "refund": ("betId", "gameRoundId", "sessionId"),
}

# JSON floats become exact Decimals straight from their text: never a binary float.
_decoder = msgspec.json.Decoder(float_hook=Decimal)


@dataclass(slots=True)
class BetRequest:
    bet_id: str
    bet_amount: Decimal | None = None
    win_amount: Decimal | None = None
    win_odd: Decimal | None = None
    game_round_id: str | None = None
    unknown_fields: tuple[str, ...] = ()


def decode_json(raw: bytes) -> Any:
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidRequest("body is not valid UTF-8") from None


def parse_bet_request(endpoint: str, raw: bytes, path_session_id: str) -> BetRequest:
    data = decode_json(raw)
    if not isinstance(data, dict):
        raise InvalidRequest(f"body must be a JSON object, not {json_type(data)}")
    known = FIELDS[endpoint]
    body_session = _optional_id(data, "sessionId")
    if body_session is not None and body_session != path_session_id:
        raise InvalidRequest(
            f"sessionId {body_session!r} in the body does not match {path_session_id!r} in the path"
        )
    request = BetRequest(
        bet_id=_bet_id(data),
        game_round_id=_optional_id(data, "gameRoundId"),
        unknown_fields=tuple(key for key in data if key not in known),
    )
    if "betAmount" in known:
        request.bet_amount = _amount(data, "betAmount", positive=True)
    if "winAmount" in known:
        request.win_amount = _amount(data, "winAmount")
    if "winOdd" in known and data.get("winOdd") is not None:
        request.win_odd = _amount(data, "winOdd")
    return request


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
    text = value if isinstance(value, str) else str(value) if isinstance(value, int) else format(value, "f")
    if len(text) > MAX_ID_LENGTH:
        raise InvalidRequest(f"{name} is longer than {MAX_ID_LENGTH} characters")
    return text


def _amount(data: dict[str, Any], name: str, *, positive: bool = False) -> Decimal:
    if name not in data:
        raise InvalidRequest(f"{name} is required")
    try:
        amount = parse_amount(data[name])
    except AmountError as exc:
        raise InvalidRequest(f"{name} {exc}") from None
    if positive and not amount:
        raise InvalidRequest(f"{name} must be greater than 0")
    return amount
