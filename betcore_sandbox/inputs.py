"""Every JSON input of the admin side as a typed structure: fixture files and state exports (one format), fault
rules (one type per kind), runtime settings and the admin request bodies.

`read()` turns decoded JSON into one of them, or raises InputError naming the JSON path and the problem in words.
Money arrives as a JSON number or a decimal string and becomes an exact Decimal; rules that span fields or
records (a currency's precision, references between records, the bet life cycle) are checked by the modules
that own them. The same types give the published JSON Schemas.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import msgspec

from .limits import (
    MAX_BALANCE_DIGITS,
    MAX_CLOCK_MS,
    MAX_FAULT_RULES,
    MAX_FIELD_NAME,
    MAX_READ_TIMEOUT_MS,
    MAX_URL_LENGTH,
)
from .money import json_type, parse_amount
from .text import shown

T = TypeVar("T")


class InputError(ValueError):
    """Input that does not fit its type; `path` is a JSON path ($.players[0].balance)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# -- value types -------------------------------------------------------------------------------------------------


class Money(Decimal):
    """A non-negative amount: a JSON number or a decimal string, read exactly (never through a binary float)."""

    __slots__ = ()


class Balance(Decimal):
    """A non-negative balance or running total: like Money, with room for what wins add up to."""

    __slots__ = ()


class SignedMoney(Decimal):
    """An amount that may be negative (a ledger entry's effect on a balance)."""

    __slots__ = ()


class Instant(float):
    """An ISO 8601 timestamp with a UTC offset, as epoch seconds; it must name a date in the years 1 to 9999."""

    __slots__ = ()


class WebUrl(str):
    """An absolute http(s) URL (a provider's base URL, a game's frame or image). Stored as a plain str (str(url)):
    JSON encoders know only that."""

    __slots__ = ()


class BaseUrl(WebUrl):
    """A provider's base URL: `/v1/...` is appended to it."""

    __slots__ = ()


Id = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**62)]


def parse_instant(value: object) -> Instant:
    if not isinstance(value, str):
        raise TypeError(f"must be an ISO 8601 timestamp with a UTC offset, not {json_type(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"is not an ISO 8601 timestamp: {shown(value)}") from None
    if moment.tzinfo is None:
        raise ValueError(f"needs a UTC offset, e.g. {shown(str(value) + 'Z')}")
    try:  # in UTC it must still be a date between the years 1 and 9999, or nothing could write it back
        seconds = moment.astimezone(UTC).timestamp()
        datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        raise ValueError(f"is out of range: {shown(value)}") from None
    return Instant(seconds)


def parse_web_url(value: object) -> WebUrl:
    """An absolute http or https URL with a host that can be looked up, at most 2048 characters."""
    if not isinstance(value, str):
        raise TypeError(f"must be an absolute http(s) URL, not {json_type(value)}")
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    wrong = ValueError(f"must be an absolute http(s) URL, got {shown(value)}")
    if not value.isprintable() or " " in value:
        raise wrong
    try:  # an unclosed [IPv6], a port out of range, or a host name no resolver takes (empty or long labels)
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises when out of range
        if host:
            host.encode("idna")  # what the HTTP client does with it
    except ValueError:  # UnicodeError too
        raise wrong from None
    if parts.scheme not in ("http", "https") or not host:
        raise wrong
    return WebUrl(value)


def parse_base_url(value: object) -> BaseUrl:
    """A provider's base URL: an absolute http(s) URL (see parse_web_url) that paths can be appended to, so
    without a query or a fragment."""
    url = parse_web_url(value)
    parts = urlsplit(url)
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValueError(f"must be a base URL without a query or a fragment, got {shown(url)}")
    return BaseUrl(url)


def _decode_hook(kind: type, value: object) -> object:
    if kind is WebUrl:
        return parse_web_url(value)
    if kind is BaseUrl:
        return parse_base_url(value)
    if kind is Money:
        return Money(parse_amount(value))
    if kind is Balance:
        return Balance(parse_amount(value, integer_digits=MAX_BALANCE_DIGITS))
    if kind is SignedMoney:
        negative = (isinstance(value, str) and value.startswith("-")) or (
            isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value < 0
        )
        if negative:
            magnitude = value[1:] if isinstance(value, str) else -value  # type: ignore[operator]
            return SignedMoney(-parse_amount(magnitude, integer_digits=MAX_BALANCE_DIGITS))
        return SignedMoney(parse_amount(value, integer_digits=MAX_BALANCE_DIGITS))
    if kind is Instant:
        return parse_instant(value)
    if kind is Number:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise TypeError(f"must be a number, not {json_type(value)}")
        number = Number(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return number
    raise NotImplementedError(kind)


def schema_hook(kind: type) -> dict[str, Any]:
    """JSON Schema of the value types (for msgspec.json.schema)."""
    decimal = r"^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
    if kind in (Money, Balance):
        return {
            "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": decimal}],
            "description": "an exact amount: a JSON number or a decimal string",
        }
    if kind is SignedMoney:
        return {"anyOf": [{"type": "number"}, {"type": "string", "pattern": "^-?" + decimal[1:]}]}
    if kind is Instant:
        return {"type": "string", "format": "date-time"}
    if kind is Number:
        return {"type": "number"}
    if kind is WebUrl or kind is BaseUrl:
        return {"type": "string", "format": "uri", "pattern": "^https?://"}
    raise NotImplementedError(kind)


def json_schema(kind: Any) -> dict[str, Any]:
    """The JSON Schema of an input type, value types included."""
    return msgspec.json.schema(kind, schema_hook=schema_hook)


# -- fixture files and state exports (one format) --------------------------------------------------------------


class Struct(msgspec.Struct, forbid_unknown_fields=True, rename="camel", omit_defaults=True):
    pass


class CounterpartyIn(Struct):
    id: Id
    secret: Id
    name: str = ""
    provider_url: BaseUrl | None = None  # the provider's base URL: the sandbox calls its Games and Launch there


class PlayerIn(Struct):
    id: Id
    currency: Id
    balance: Balance
    blocked: bool = False
    opening_balance: Balance | None = None  # an export's: the balance before the first ledger entry


class SessionIn(Struct):
    id: Id
    player_id: Id
    counterparty_id: Id | None = None
    expires_at: Instant | None = None
    min_bet: Money | None = None
    max_bet: Money | None = None
    status: Literal["active", "expired", "closed"] = "active"
    demo: bool = False  # opened by a demo-mode Launch
    launch_failed: bool = False  # its Launch got no valid answer from the provider


class BetIn(Struct):
    bet_id: Id
    counterparty_id: Id
    session_id: Id
    player_id: Id
    kind: Literal["pay-in", "pay-in-out", "pay-out"]
    status: Literal["open", "settled", "refunded"]
    stake: Money
    win: Balance | None = None  # every win of the bet added up
    win_odd: Money | None = None
    game_round_id: str | None = None
    created_at: Instant | None = None  # shown in exports; the ledger's first entry is the truth
    history: list[Any] = []  # derived from the ledger: an export shows it, a load ignores it
    transactions: list[Any] = []


class LedgerEntryIn(Struct):
    transaction_id: Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9][0-9]{0,17})$")]  # canonical: one per number
    type: Literal["bet", "win", "refund", "reversal", "adjustment"]
    amount: SignedMoney
    balance_after: SignedMoney
    player_id: Id
    time: Instant
    session_id: Id | None = None
    bet_id: Id | None = None
    counterparty_id: Id | None = None
    request_id: str | None = None
    # Absent in exports made before entries carried it: then a win's round is its bet's.
    game_round_id: str | msgspec.UnsetType | None = msgspec.UNSET


class TombstoneIn(Struct):
    bet_id: Id
    counterparty_id: Id
    session_id: Id
    time: Instant


class FixtureIn(Struct):
    """A fixture file. An export of the whole state (GET /__admin/state) is one too: it adds bets, the ledger,
    tombstones and the transaction counter, and players' opening balances."""

    counterparties: list[CounterpartyIn]
    currencies: dict[str, Any] | None = None  # code -> decimal places, checked with its path by fixtures
    players: list[PlayerIn] = []
    sessions: list[SessionIn] = []
    response_codes: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    bets: list[BetIn] = []
    ledger: list[LedgerEntryIn] = []
    tombstones: list[TombstoneIn] = []
    last_transaction_id: Count = 0
    # Applied at start-up and on every reset; each arms at least one rule, so no more than the rule limit.
    scenarios: Annotated[list[FixtureScenario], msgspec.Meta(max_length=MAX_FAULT_RULES)] = []
    # Armed at start-up and on every reset, before the scenarios' rules.
    faults: Annotated[list[FaultIn], msgspec.Meta(max_length=MAX_FAULT_RULES)] = []
    # An editor's pointer to the fixture schema (schemas/fixture.schema.json): accepted and ignored.
    schema: str | msgspec.UnsetType = msgspec.field(default=msgspec.UNSET, name="$schema")


# -- admin request bodies ---------------------------------------------------------------------------------------------


class Number(float):
    """A JSON number (any notation) as a float: durations, probabilities."""

    __slots__ = ()


class PlayerCreate(Struct, kw_only=True):
    id: Id | None = None
    currency: Id
    # Defaults of the value types by factory: a JSON Schema's `default` can only hold plain JSON values.
    balance: Money = msgspec.field(default_factory=lambda: Money(0))
    blocked: bool = False


class PlayerPatch(Struct, kw_only=True):
    balance: Money | None = None
    blocked: bool | None = None


class SessionCreate(Struct, kw_only=True):
    """With `playerId`, or with `currency` (+ `balance`) to create the player too."""

    id: Id | None = None
    player_id: Id | None = None
    currency: Id | None = None
    balance: Money | None = None
    counterparty_id: Id | None = None
    ttl_seconds: Number | None = None
    min_bet: Money | None = None
    max_bet: Money | None = None


class SessionPatch(Struct, kw_only=True):
    status: Literal["active", "expired", "closed"] | None = None
    ttl_seconds: Number | None = None
    min_bet: Money | None = None
    max_bet: Money | None = None


GameId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class GamesQuery(Struct, kw_only=True):
    """GET /__admin/games: whose games, from where (the counterparty's providerUrl unless given)."""

    counterparty_id: Id | None = None
    provider_url: BaseUrl | None = None
    sign: bool = True


class LaunchCreate(Struct, kw_only=True):
    """POST /__admin/launches: a session (for `playerId`, or a new player from `currency` + `balance`) and the
    Launch call that hands it to the provider."""

    game_id: GameId
    counterparty_id: Id | None = None
    provider_url: BaseUrl | None = None
    player_id: Id | None = None
    currency: Id | None = None
    balance: Money | None = None
    language: Annotated[str, msgspec.Meta(min_length=1, max_length=35)] = "en"
    min_bet: Money | None = None
    max_bet: Money | None = None
    game_mode: Literal["real", "demo"] = "real"
    session_id: Id | None = None
    ttl_seconds: Number | None = None
    sign: bool = True


class ClockChange(Struct, kw_only=True):
    """POST /__admin/clock: exactly one of them (checked by the clock's admin operation)."""

    advance_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_CLOCK_MS)] | None = None
    set_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_CLOCK_MS)] | None = None
    mode: Literal["real"] | None = None


Endpoint = Literal["*", "balance", "pay-in", "pay-out", "pay-in-out", "refund"]
Filter = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)] | int


class FaultBase(Struct, kw_only=True, tag_field="kind"):
    """What every fault rule has: which requests (filters), when (phase, times, skip, probability), how long."""

    endpoint: Endpoint = "*"
    session_id: Filter | None = None
    player_id: Filter | None = None
    bet_id: Filter | None = None
    phase: Literal["before", "after"] = "before"
    times: Annotated[int, msgspec.Meta(ge=1)] | None = 1  # null: until removed
    skip: Count = 0
    probability: Number = msgspec.field(default_factory=lambda: Number(1.0))
    seed: int | None = None
    ttl_seconds: Number | None = None


class HttpErrorFault(FaultBase, tag="http_error"):
    # Only statuses a client reads as a failed answer: 1xx, 204 or 304 would not be an error at all.
    status: Annotated[int, msgspec.Meta(ge=400, le=599)] = 500


class ResponseCodeFault(FaultBase, tag="response_code"):
    response_code: Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)] | None = None  # None: internal_error


class InsufficientFundsFault(FaultBase, tag="insufficient_funds"):
    pass


class DelayFault(FaultBase, tag="delay"):
    delay_ms: Annotated[int, msgspec.Meta(ge=0, le=3_600_000)]


class TimeoutFault(FaultBase, tag="timeout"):
    delay_ms: Annotated[int, msgspec.Meta(ge=0, le=3_600_000)] = 30_000


class ConnectionResetFault(FaultBase, tag="connection_reset"):
    pass


class EmptyResponseFault(FaultBase, tag="empty_response"):
    pass


class MalformedBodyFault(FaultBase, tag="malformed_body"):
    pass


FaultIn = (
    HttpErrorFault
    | ResponseCodeFault
    | InsufficientFundsFault
    | DelayFault
    | TimeoutFault
    | ConnectionResetFault
    | EmptyResponseFault
    | MalformedBodyFault
)


# -- runtime settings ----------------------------------------------------------------------------------------------

DuplicateMode = Literal["code", "replay"]
Strictness = Literal["reject", "accept"]  # the strict choice first
Repeat = Literal["conflict", "additional"]


ToleranceMs = Annotated[int, msgspec.Meta(ge=0, le=7 * 24 * 3600 * 1000)]
JournalLimit = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
JournalBytes = Annotated[int, msgspec.Meta(ge=1024 * 1024, le=4 * 1024**3)]  # at least a few whole 64 KiB requests
ReadTimeoutMs = Annotated[int, msgspec.Meta(ge=1, le=MAX_READ_TIMEOUT_MS)]
# A JSON field name of the provider's Games or Launch: printable, no control characters.
FieldName = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_FIELD_NAME, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")]


class DuplicateModes(Struct, kw_only=True):
    """duplicateResponse per endpoint; an endpoint left out keeps the mode it has."""

    pay_in: DuplicateMode | msgspec.UnsetType = msgspec.field(default=msgspec.UNSET, name="pay-in")
    pay_in_out: DuplicateMode | msgspec.UnsetType = msgspec.field(default=msgspec.UNSET, name="pay-in-out")
    pay_out: DuplicateMode | msgspec.UnsetType = msgspec.field(default=msgspec.UNSET, name="pay-out")
    refund: DuplicateMode | msgspec.UnsetType = msgspec.UNSET


class SettingsPatch(Struct, kw_only=True):
    """A change to the runtime settings: every field optional, unknown names refused. What the admin API's PATCH,
    a fixture's `settings`, the plugin marker and the environment give (snake_case names are made camelCase by
    settings.validate before this type reads them)."""

    timestamp_tolerance_ms: ToleranceMs | msgspec.UnsetType = msgspec.UNSET
    reject_replayed_request_ids: bool | msgspec.UnsetType = msgspec.UNSET
    # One mode for every endpoint, or an object per endpoint.
    duplicate_response: DuplicateMode | DuplicateModes | msgspec.UnsetType = msgspec.UNSET
    # true and false: the first release's switch (true showed the diagnostics, as "hints" does).
    explain_signatures: Literal["hints", "full", "off"] | bool | msgspec.UnsetType = msgspec.UNSET
    journal_limit: JournalLimit | msgspec.UnsetType = msgspec.UNSET
    journal_max_bytes: JournalBytes | msgspec.UnsetType = msgspec.UNSET
    body_read_timeout_ms: ReadTimeoutMs | msgspec.UnsetType = msgspec.UNSET
    amount_notation: Literal["plain", "any"] | msgspec.UnsetType = msgspec.UNSET
    zero_stake: Strictness | msgspec.UnsetType = msgspec.UNSET
    pay_out_without_bet: Strictness | msgspec.UnsetType = msgspec.UNSET
    pay_out_after_pay_in_out: Repeat | msgspec.UnsetType = msgspec.UNSET
    additional_pay_outs: Repeat | msgspec.UnsetType = msgspec.UNSET
    # Games and Launch: how long a call to the provider may take, the spellings the public docs do not show, and
    # the balance of the player a demo launch creates.
    partner_timeout_ms: ReadTimeoutMs | msgspec.UnsetType = msgspec.UNSET
    player_id_field: FieldName | msgspec.UnsetType = msgspec.UNSET
    game_name_field: FieldName | msgspec.UnsetType = msgspec.UNSET
    demo_balance: Money | msgspec.UnsetType = msgspec.UNSET


class ScenarioOptions(Struct, kw_only=True):
    """How to apply a named scenario: which requests its faults hit, the chaos seed, how long a timeout holds."""

    session_id: Id | None = None
    player_id: Id | None = None
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | None = None
    delay_ms: Annotated[int, msgspec.Meta(ge=0, le=3_600_000)] | None = None


class FixtureScenario(ScenarioOptions, kw_only=True):
    """A scenario a fixture applies: its name and options."""

    name: Id


# -- reading -----------------------------------------------------------------------------------------------------------

_AT = re.compile(r"^(?P<message>.*?)(?: - at (?:`key` in )?`(?P<path>[^`]*)`)?$", re.S)
_NAMES = {
    "str": "a string",
    "int": "an integer",
    "bool": "true or false",
    "float": "a number",
    "decimal": "a number",
    "array": "an array",
    "object": "an object",
    "null": "null",
    "Money": "an amount (a number or a decimal string)",
    "Balance": "an amount (a number or a decimal string)",
    "SignedMoney": "an amount",
    "Instant": "an ISO 8601 timestamp",
    "WebUrl": "an absolute http(s) URL",
    "NumberOutOfRange": "a number out of range",
    "BaseUrl": "an absolute http(s) URL",
}


def read(value: object, kind: type[T] | Any, *, path: str = "$", snake: bool = False) -> T:
    """The value as `kind`, or InputError naming the path and the problem.

    snake: the caller wrote the names in snake_case (the Python API's keywords), so the error names fields that
    way too (delay_ms, not delayMs)."""
    try:
        result: T = msgspec.convert(value, kind, dec_hook=_decode_hook, str_keys=True)
        return result
    except msgspec.ValidationError as error:
        where, message = _describe(str(error), kind, value, snake)
        if snake:
            where = re.sub(r"\.[a-z]\w*", lambda name: snake_name(name[0]), where)
        raise InputError(path + where[1:], message) from None


def snake_name(name: str) -> str:
    """delay_ms for delayMs: a camelCase name as Python keywords write it."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda upper: "_" + upper[1].lower(), name)


def unknown_name(noun: str, given: str, known: list[str]) -> str:
    """The message for a name nothing knows: the close one when there is one (difflib, ignoring case and
    underscores), then every known name. noun: field, setting, endpoint."""
    plain = {re.sub(r"[_-]", "", name).lower(): name for name in known}
    close = difflib.get_close_matches(re.sub(r"[_-]", "", given).lower(), list(plain), n=1, cutoff=0.6)
    guess = f", did you mean {plain[close[0]]}?" if close else ""
    return f"unknown {noun}{guess} (known: {', '.join(known)})" if known else f"unknown {noun}"


def _describe(text: str, kind: Any, value: object = None, snake: bool = False) -> tuple[str, str]:
    """msgspec's message in the words of the rest of the sandbox: (path, problem). value: the input that failed,
    to tell which kind of a tagged union it meant."""
    match = _AT.match(text)
    assert match is not None
    message, path = match["message"], match["path"] or "$"
    if found := re.fullmatch(r"Object missing required field `(\w+)`", message):
        tags = _choices(kind, f"{path}.{found[1]}")
        return f"{path}.{found[1]}", f"is required (one of {', '.join(tags)})" if tags else "is required"
    if found := re.fullmatch(r"Object contains unknown field `(.*)`", message):
        known = _field_names(kind, path, value)
        if snake:
            known = [snake_name(name) for name in known]
        return f"{path}.{found[1]}", unknown_name("field", found[1], known)
    if found := re.fullmatch(r"Expected `([\w |]+)`, got `(\w+)`", message):
        wanted = _wanted(kind, path) or " or ".join(_NAMES.get(name, name) for name in found[1].split(" | "))
        return path, f"must be {wanted}, not {_NAMES.get(found[2], found[2])}"
    if bounds := _int_bounds(kind, path):
        return path, f"must be an integer from {bounds[0]} to {bounds[1]}"
    if found := re.fullmatch(r"Expected `\w+` >= (-?\d+)", message):
        return path, f"must be at least {found[1]}"
    if found := re.fullmatch(r"Expected `\w+` <= (-?\d+)", message):
        return path, f"must be at most {found[1]}"
    if re.fullmatch(r"Expected `str` of length >= 1", message):
        return path, "must be a non-empty string"
    if found := re.fullmatch(r"Expected `str` of length <= (\d+)", message):
        return path, f"must be at most {found[1]} characters"
    if found := re.fullmatch(r"Expected `array` of length <= (\d+)", message):
        return path, f"must have at most {found[1]} items"
    if re.fullmatch(r"Expected `str` matching regex .*", message):
        return path, "is not in the expected form"
    if re.fullmatch(r"Invalid (enum )?value .*", message):
        values = _choices(kind, path)
        return path, f"must be one of {', '.join(values)}" if values else message[0].lower() + message[1:]
    return path, message[0].lower() + message[1:]


def _resolve(kind: Any, path: str) -> msgspec.inspect.Type | None:
    """The type at a JSON path inside `kind` (indexes and keys are skipped over)."""
    info: msgspec.inspect.Type | None = msgspec.inspect.type_info(kind)
    for part in re.findall(r"\.([^.\[]+)|\[[^\]]*\]", path):
        info = _unwrap(info)
        if part == "":  # an index or a key
            info = getattr(info, "item_type", None) or getattr(info, "value_type", None)
        else:
            structs = (
                [info]
                if isinstance(info, msgspec.inspect.StructType)
                else [t for t in getattr(info, "types", ()) if isinstance(t, msgspec.inspect.StructType)]
            )
            info = next((f.type for st in structs for f in st.fields if f.encode_name == part), None)
            if info is None:
                return None
    return _unwrap(info)


def _unwrap(info: msgspec.inspect.Type | None) -> msgspec.inspect.Type | None:
    if isinstance(info, msgspec.inspect.UnionType):
        rest = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        if len(rest) == 1:
            return rest[0]
    return info


def _choices(kind: Any, path: str) -> list[str]:
    info = _resolve(kind, path)
    if isinstance(info, msgspec.inspect.LiteralType):
        return [str(v) for v in info.values]
    if literals := _literals(info):  # a choice of words, or something else (true or false, an object)
        return [str(v) for literal in literals for v in literal.values]
    if info is not None:  # a field of its own type (delayMs), not the tag of a union
        return []
    parent = _resolve(kind, path.rsplit(".", 1)[0]) if "." in path else _unwrap(msgspec.inspect.type_info(kind))
    if isinstance(parent, msgspec.inspect.UnionType):  # a tagged union: the tags
        return [str(t.tag) for t in parent.types if isinstance(t, msgspec.inspect.StructType) and t.tag is not None]
    return []


def _literals(info: msgspec.inspect.Type | None) -> list[msgspec.inspect.LiteralType]:
    members = info.types if isinstance(info, msgspec.inspect.UnionType) else ()
    return [t for t in members if isinstance(t, msgspec.inspect.LiteralType)]


def _wanted(kind: Any, path: str) -> str:
    """What a union with a choice of words accepts, in words ("one of code, replay, or an object"); "" if the
    type at the path is no such union."""
    info = _resolve(kind, path)
    if not _literals(info):
        return ""
    assert isinstance(info, msgspec.inspect.UnionType)
    words = [str(v) for literal in _literals(info) for v in literal.values]
    others = [
        "true or false" if isinstance(t, msgspec.inspect.BoolType) else "an object"
        for t in info.types
        if isinstance(t, (msgspec.inspect.BoolType, msgspec.inspect.StructType, msgspec.inspect.DictType))
    ]
    return f"one of {', '.join(words)}" + "".join(f", or {other}" for other in others)


def _int_bounds(kind: Any, path: str) -> tuple[int, int] | None:
    """(minimum, maximum) of a bounded integer at the path, when both are numbers a person would write."""
    info = _resolve(kind, path)
    if isinstance(info, msgspec.inspect.IntType) and info.ge is not None and info.le is not None and info.le < 2**53:
        return info.ge, info.le
    return None


def _field_names(kind: Any, path: str, value: object) -> list[str]:
    """The fields the object at the path may have. For a tagged union (a fault rule), those of the kind the
    object names: its tag first, then what only that kind has (delayMs), then what every kind has."""
    info = _resolve(kind, path)
    if isinstance(info, msgspec.inspect.UnionType):  # a word or an object, or one of several kinds of object
        structs = [t for t in info.types if isinstance(t, msgspec.inspect.StructType)]
        given = _at(value, path)
        tag = given.get(structs[0].tag_field) if structs and structs[0].tag_field and isinstance(given, dict) else None
        info = next((t for t in structs if t.tag is not None and t.tag == tag), structs[0] if structs else None)
        if isinstance(info, msgspec.inspect.StructType) and info.tag_field is not None:
            shared = set.intersection(*({f.encode_name for f in t.fields} for t in structs))
            own = [f.encode_name for f in info.fields if f.encode_name not in shared]
            return [info.tag_field, *own, *(f.encode_name for f in info.fields if f.encode_name in shared)]
    if isinstance(info, msgspec.inspect.StructType):
        return [f.encode_name for f in info.fields]
    return []


def _at(value: object, path: str) -> object:
    """The part of a decoded input at a JSON path of msgspec's ($.faults[0]); None where the path cannot be
    followed (a key msgspec writes as [...])."""
    for name, index in re.findall(r"\.([^.\[]+)|\[([^\]]*)\]", path):
        if name and isinstance(value, dict):
            value = value.get(name)
        elif index.isdigit() and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value
