"""Provider request bodies: raw JSON bytes into a validated BetRequest, or InvalidRequest naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import jsontext
from .errors import InvalidRequest
from .money import AmountError, json_type, parse_amount, shown, uses_exponent
from .settings import Settings

MAX_ID_LENGTH = 128

FIELDS: dict[str, tuple[str, ...]] = {
    "pay-in": ("betId", "betAmount", "gameRoundId", "sessionId"),
    "pay-out": ("betId", "winAmount", "gameRoundId", "sessionId", "winOdd"),
    "pay-in-out": ("betId", "betAmount", "winAmount", "gameRoundId", "sessionId", "winOdd"),
    "refund": ("betId", "gameRoundId", "sessionId"),
}


@dataclass(slots=True)
class BetRequest:
    bet_id: str
    bet_amount: Decimal | None = None
    win_amount: Decimal | None = None
    win_odd: Decimal | None = None
    game_round_id: str | None = None
    unknown_fields: tuple[str, ...] = ()
    warnings: list[str] | None = None  # lenient rules that let this body through


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
    request = BetRequest(
        bet_id=_bet_id(data),
        game_round_id=_optional_id(data, "gameRoundId"),
        unknown_fields=tuple(key for key in data if key not in known),
    )
    if "betAmount" in known:
        request.bet_amount = _amount(data, "betAmount", settings, request)
        if not request.bet_amount:
            if settings.zeroStake == "reject":
                raise InvalidRequest("betAmount must be greater than 0 (setting zeroStake is reject)")
            _warn(request, "zeroStake", "betAmount is 0: accepted as a normal bet because zeroStake is accept")
    if "winAmount" in known:
        request.win_amount = _amount(data, "winAmount", settings, request)
    if "winOdd" in known and data.get("winOdd") is not None:
        request.win_odd = _amount(data, "winOdd", settings, request)
    return request


def _warn(request: BetRequest, setting: str, message: str) -> None:
    if request.warnings is None:
        request.warnings = []
    request.warnings.append(f"{setting}: {message}")


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


def _amount(data: dict[str, Any], name: str, settings: Settings, request: BetRequest) -> Decimal:
    if name not in data:
        raise InvalidRequest(f"{name} is required")
    value = data[name]
    try:
        amount = parse_amount(value, settings.amountNotation)
    except AmountError as exc:
        hint = " (setting amountNotation is plain)" if settings.amountNotation == "plain" and uses_exponent(value) else ""
        raise InvalidRequest(f"{name} {exc}{hint}") from None
    if uses_exponent(value):
        _warn(request, "amountNotation", f"{name} {shown(value)} is in exponent notation: read exactly as "
              f"{amount:f} because amountNotation is any")
    return amount
