"""Provider request bodies: raw JSON bytes into a validated command, or InvalidRequest naming the field.

Each endpoint's body is a typed structure (PayInBody, PayOutBody, PayInOutBody, RefundBody) decoded straight from the
bytes. Its ids and amounts are two wire types read by one hook, so they keep what the contract lets clients send:
an id may be a JSON number standing for its decimal text; an amount is a JSON number or a decimal string, read
exactly (`jsontext`'s numbers), with the settings deciding about exponent notation and a zero stake. Unknown
fields are accepted and reported; a key given twice is refused. Hand-written here: only the rules that depend on
the settings or on something outside the body (the session id in the path).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET

from . import jsontext
from .commands import Command, PayIn, PayInOut, PayOut, Refund
from .errors import InvalidRequest
from .limits import MAX_ID_LENGTH
from .money import AmountError, json_number, json_type, parse_amount, uses_exponent
from .settings import Settings
from .text import shown

__all__ = [
    "FIELDS",
    "BetRequest",
    "PayInBody",
    "PayInOutBody",
    "PayOutBody",
    "RefundBody",
    "WireAmount",
    "WireId",
    "claimed_bet_id",
    "decode_json",
    "parse_bet_request",
]


# -- wire types ------------------------------------------------------------------------------------------------------


class WireId:
    """An id as the provider sent it: a string, or a JSON number standing for its decimal text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class WireAmount:
    """An amount as the provider sent it (a JSON number as an exact Decimal, or a string), read by _amount."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def _wire(kind: type, value: Any) -> object:
    """The decode hook: an error raised here reads after the field's name ("betId must be a string, not …")."""
    if kind is WireId:
        if type(value) is str:  # the usual case first
            if len(value) > MAX_ID_LENGTH:
                raise ValueError(f"is longer than {MAX_ID_LENGTH} characters")
            return WireId(value)
        if value is None:  # only betId is typed without None: for the others null is "not given"
            raise ValueError("is required")
        return WireId(_id_text(value))
    if kind is WireAmount:
        return WireAmount(value)
    raise NotImplementedError(kind)


def _id_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise TypeError(f"must be a string, not {json_type(value)}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise TypeError(f"must be a string, not {shown(value)}")
    text = str(value) if isinstance(value, int) else format(value, "f")
    if len(text) > MAX_ID_LENGTH:
        raise ValueError(f"is longer than {MAX_ID_LENGTH} characters")
    return text


# -- the bodies --------------------------------------------------------------------------------------------------------


class Body(msgspec.Struct, rename="camel", kw_only=True):
    """What every bet body has. Unknown fields are not an error (they are reported); absent and null differ only
    where the contract says so."""

    bet_id: WireId
    game_round_id: WireId | msgspec.UnsetType | None = msgspec.UNSET
    session_id: WireId | msgspec.UnsetType | None = msgspec.UNSET


class PayInBody(Body, kw_only=True):
    bet_amount: WireAmount


class PayOutBody(Body, kw_only=True):
    win_amount: WireAmount
    win_odd: WireAmount | msgspec.UnsetType | None = msgspec.UNSET


class PayInOutBody(Body, kw_only=True):
    bet_amount: WireAmount
    win_amount: WireAmount
    win_odd: WireAmount | msgspec.UnsetType | None = msgspec.UNSET


class RefundBody(Body, kw_only=True):
    pass


BodyType = PayInBody | PayOutBody | PayInOutBody | RefundBody
BODIES: dict[str, type[BodyType]] = {
    "pay-in": PayInBody,
    "pay-out": PayOutBody,
    "pay-in-out": PayInOutBody,
    "refund": RefundBody,
}
FIELDS: dict[str, tuple[str, ...]] = {
    endpoint: tuple(f.encode_name for f in msgspec.structs.fields(body)) for endpoint, body in BODIES.items()
}
_DECODERS = {
    endpoint: msgspec.json.Decoder(body, dec_hook=_wire, float_hook=json_number) for endpoint, body in BODIES.items()
}


class BetRequest(msgspec.Struct):
    """A validated provider body: the command it asks for, and what the journal notes about it."""

    command: Command
    unknown_fields: tuple[str, ...] = ()
    warnings: list[str] | None = None  # lenient rules that let this body through

    @property
    def bet_id(self) -> str:
        return self.command.bet_id


class _Claimed(msgspec.Struct):
    bet_id: Any = msgspec.field(default=None, name="betId")


def claimed_bet_id(raw: bytes) -> str | None:
    """The betId a body names, read without trusting it (raw: a body that was refused before it was parsed, e.g.
    for its signature, cut to the journal's bound): a string or an integer, cut to the id length; else None."""
    try:
        claimed = msgspec.json.decode(raw, type=_Claimed).bet_id
    except (msgspec.DecodeError, ValueError):  # not JSON, not an object, or cut off in the middle
        return None
    if isinstance(claimed, bool) or not isinstance(claimed, (str, int)):
        return None
    return str(claimed)[:MAX_ID_LENGTH]


def decode_json(raw: bytes) -> Any:
    try:
        return jsontext.decode(raw)
    except jsontext.JsonError as exc:
        raise InvalidRequest(f"body {exc}") from None


def parse_bet_request(endpoint: str, raw: bytes, path_session_id: str, settings: Settings | None = None) -> BetRequest:
    """The body of a bet request as its command.

    endpoint: pay-in, pay-out, pay-in-out or refund. raw: the body's bytes. path_session_id: the session the path
    names, which a sessionId in the body must match. settings: what amountNotation and zeroStake allow (defaults
    when None)."""
    settings = settings or Settings()
    body, unknown = _decode(endpoint, raw)
    session = body.session_id
    if session and session.text != path_session_id:
        raise InvalidRequest(
            f"sessionId {shown(session.text)} in the body does not match {shown(path_session_id)} in the path"
        )
    bet_id = body.bet_id.text
    if not bet_id:
        raise InvalidRequest("betId must not be empty")
    game_round_id = body.game_round_id.text if body.game_round_id else None
    warnings: list[str] = []
    command: Command
    if isinstance(body, PayInBody):
        command = PayIn(bet_id, _stake(body.bet_amount, settings, warnings), game_round_id)
    elif isinstance(body, PayOutBody):
        win = _amount(body.win_amount, "winAmount", settings, warnings)
        command = PayOut(bet_id, win, game_round_id, _win_odd(body.win_odd, settings, warnings))
    elif isinstance(body, PayInOutBody):
        stake = _stake(body.bet_amount, settings, warnings)
        win = _amount(body.win_amount, "winAmount", settings, warnings)
        command = PayInOut(bet_id, stake, win, game_round_id, _win_odd(body.win_odd, settings, warnings))
    else:
        command = Refund(bet_id, game_round_id)
    return BetRequest(command, unknown, warnings or None)


def _decode(endpoint: str, raw: bytes) -> tuple[BodyType, tuple[str, ...]]:
    """The typed body and the names of its unknown fields; InvalidRequest for bytes that are not such a body."""
    try:
        body: BodyType = _DECODERS[endpoint].decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return _reread(endpoint, raw)  # to say what is wrong in the contract's words
    # Every key of a JSON object is followed by a colon. When the body has exactly as many colons as known fields
    # present, there is no other key anywhere: no unknown field, no key given twice, nothing nested.
    if raw.count(b":") == len(FIELDS[endpoint]) - msgspec.structs.astuple(body).count(UNSET):
        return body, ()
    # Something else is there: an unknown field, a key given twice, or a colon inside a string. The typed decode
    # skipped the values of unknown fields unread, so the body is read whole, as any JSON input is: text that is
    # not UTF-8 and numbers out of range are refused wherever they stand.
    data = decode_json(raw)
    _refuse_duplicate_keys(raw, data)
    known = FIELDS[endpoint]
    return body, tuple([key for key in data if key not in known])


def _reread(endpoint: str, raw: bytes) -> tuple[BodyType, tuple[str, ...]]:
    """A body that is not what the endpoint takes, read as plain JSON first: its first problem, in order (not
    JSON, not an object, a key given twice, then a field)."""
    data = decode_json(raw)
    if not isinstance(data, dict):
        raise InvalidRequest(f"body must be a JSON object, not {json_type(data)}")
    _refuse_duplicate_keys(raw, data)
    try:
        body: BodyType = msgspec.convert(data, BODIES[endpoint], dec_hook=_wire)
    except msgspec.ValidationError as error:
        raise InvalidRequest(_field_problem(str(error))) from None
    known = FIELDS[endpoint]
    return body, tuple([key for key in data if key not in known])


def _refuse_duplicate_keys(raw: bytes, data: dict[str, Any]) -> None:
    try:
        jsontext.refuse_duplicate_keys(raw, data)
    except jsontext.JsonError as exc:
        raise InvalidRequest(f"body {exc}") from None


def _field_problem(text: str) -> str:
    """msgspec's words for a bad field as the provider API says it: "betId is required", "betId must be …"."""
    message, _, where = text.partition(" - at `$.")
    if message.startswith("Object missing required field `"):
        return f"{message.removeprefix('Object missing required field `').rstrip('`')} is required"
    return f"{where.rstrip('`')} {message}" if where else f"body {message[0].lower()}{message[1:]}"


def _stake(wire: WireAmount, settings: Settings, warnings: list[str]) -> Decimal:
    amount = _amount(wire, "betAmount", settings, warnings)
    if not amount:
        if settings.zeroStake == "reject":
            raise InvalidRequest("betAmount must be greater than 0 (setting zeroStake is reject)")
        warnings.append("zeroStake: betAmount is 0: accepted as a normal bet because zeroStake is accept")
    return amount


def _win_odd(wire: WireAmount | msgspec.UnsetType | None, settings: Settings, warnings: list[str]) -> Decimal | None:
    return _amount(wire, "winOdd", settings, warnings) if wire else None


def _amount(wire: WireAmount, name: str, settings: Settings, warnings: list[str]) -> Decimal:
    """The one conversion of a wire amount: exact, and as lenient about notation as the settings allow."""
    value = wire.value
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
