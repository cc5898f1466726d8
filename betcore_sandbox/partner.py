"""The PARTNER API that a provider hosts and the aggregator calls: Games and Launch.

What the sandbox sends (`games_request`, `launch_request`: signed with the X-Sign recipe of the wallet API and the
counterparty's secret unless told not to) and what makes an answer valid (`read_games`, `read_launch`), each
problem in words that name the game and the field. No HTTP here: `web/outgoing.py` carries the requests.
"""

from __future__ import annotations

import copy
import itertools
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec

from . import jsontext
from .inputs import parse_web_url
from .signing import signed_headers
from .text import clip, printable_bytes, shown

GAMES = "games"
LAUNCH = "launch"
MAX_GAME_PROBLEMS = 100  # problems listed for one Games answer; a count says how many more there were
MAX_LAUNCHES = 1000  # launches GET /__admin/launches keeps, the newest
SHOWN_BODY = 16 * 1024  # characters of an answer's body shown in a Games or Launch result (the journal keeps more)
SNIPPET = 80  # characters of a body quoted in a problem
NAME_FIELDS = ("gameName", "name", "title", "displayName")  # spellings a game's name is found under: for a hint

_encoder = msgspec.json.Encoder(decimal_format="number")  # minBet/maxBet go out as exact JSON numbers


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """One call to a provider: everything needed to send it and to journal it."""

    endpoint: str  # games | launch
    method: str
    url: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    session_id: str | None = None


@dataclass(slots=True)
class Answer:
    """What came back. `error` says why there is no usable answer (unreachable, timeout, too large)."""

    status: int | None = None
    body: bytes | None = None
    error: str | None = None
    duration_ms: float = 0.0


class LaunchBook:
    """The newest launches, as their results show them."""

    def __init__(self) -> None:
        self._launches: deque[dict[str, Any]] = deque(maxlen=MAX_LAUNCHES)
        self._ids = itertools.count(1)

    def add(self, launch: dict[str, Any]) -> dict[str, Any]:
        """Keep the launch under a new id; the launch with its id (a copy: what the caller does with it stays
        out of the book)."""
        launch["id"] = f"launch-{next(self._ids)}"
        self._launches.append(copy.deepcopy(launch))
        return launch

    def all(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self._launches))

    def reset(self) -> None:
        self._launches.clear()
        self._ids = itertools.count(1)


def endpoint_url(base_url: str, path: str) -> str:
    """The provider's base URL with `/v1/...` appended."""
    return base_url.rstrip("/") + path


def _called_path(url: str) -> str:
    """The path of the URL called, as the journal shows it: the base URL's own path included."""
    return urlsplit(url).path


def games_request(base_url: str, counterparty_id: str, secret: str, *, sign: bool = True) -> OutgoingRequest:
    url = endpoint_url(base_url, "/v1/games")
    return OutgoingRequest(GAMES, "GET", url, _called_path(url), _headers(counterparty_id, secret, sign))


def launch_request(
    base_url: str,
    counterparty_id: str,
    secret: str,
    game_id: str,
    fields: dict[str, Any],
    *,
    sign: bool = True,
) -> OutgoingRequest:
    """POST /v1/games/{gameId}/launch with the given fields (amounts as Decimal, sent as JSON numbers)."""
    url = endpoint_url(base_url, f"/v1/games/{quote(game_id, safe='')}/launch")
    body = _encoder.encode(fields)
    headers = _headers(counterparty_id, secret, sign, "POST", body)
    headers["Content-Type"] = "application/json"
    return OutgoingRequest(LAUNCH, "POST", url, _called_path(url), headers, body, session_id=fields.get("sessionId"))


def _headers(counterparty_id: str, secret: str, sign: bool, method: str = "GET", body: bytes = b"") -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if sign:
        headers.update(signed_headers(secret, counterparty_id, method, body))
    else:  # everything but the signature: the provider's refusal then shows that it insists on X-Sign itself
        unsigned = signed_headers(secret, counterparty_id, method, body)
        del unsigned["X-Sign"]
        headers.update(unsigned)
    return headers


# -- answers -----------------------------------------------------------------------------------------------------------


def answer_object(answer: Answer) -> tuple[dict[str, Any] | None, str | None]:
    """The answer's JSON object with `_responseCode` 1 in a 2xx answer, or why not.

    A non-2xx answer fails whatever its body says: the aggregator does not use an error answer (a frameUri in a
    500 is not a game to embed)."""
    if answer.error is not None:
        return None, answer.error
    raw = answer.body or b""
    if answer.status is None or not 200 <= answer.status < 300:
        return None, f"the answer is HTTP {answer.status}, not 2xx: {_error_detail(raw)}"
    try:
        data = jsontext.decode(raw)
    except jsontext.JsonError as exc:
        snippet = "" if not raw.strip() else f" ({body_snippet(raw)})"
        return None, f"the answer (HTTP {answer.status}) is not JSON: the body {exc}{snippet}"
    if not isinstance(data, dict):
        return None, f"the answer (HTTP {answer.status}) is not a JSON object"
    if "_responseCode" not in data:
        return None, f"_responseCode is missing (HTTP {answer.status})"
    code = data["_responseCode"]
    if code != 1 or isinstance(code, bool):
        message = data.get("message")
        said = f" ({shown(message, 200)})" if isinstance(message, str) else ""
        return None, f"_responseCode is {given_value(code)}, not 1 (HTTP {answer.status}){said}"
    return data, None


def _error_detail(raw: bytes) -> str:
    """What an error answer says: its code and message when it is the API's JSON, else the start of its body."""
    try:
        data = jsontext.decode(raw)
    except jsontext.JsonError:
        data = None
    if not isinstance(data, dict) or "_responseCode" not in data:
        return body_snippet(raw)
    message = data.get("message")
    said = f" ({shown(message, 200)})" if isinstance(message, str) else ""
    return f"_responseCode {given_value(data['_responseCode'])}{said}"


def body_snippet(raw: bytes) -> str:
    """The start of a body, on one line, for a problem: enough to recognise an error page."""
    text = " ".join(printable_bytes(raw[: SNIPPET * 4]).split())
    return f"body {clip(text, SNIPPET)}" if text else "the body is empty"


def given_value(value: Any, limit: int = 40) -> str:
    """A value the provider sent, in JSON's spelling (true, null, [1, 2]); strings and numbers as `shown` has them."""
    if isinstance(value, (str, Decimal)) or (isinstance(value, int) and not isinstance(value, bool)):
        return shown(value, limit)
    try:
        return clip(_encoder.encode(value).decode(), limit)
    except (TypeError, ValueError, OverflowError):  # not JSON-born: a Python spelling beats none
        return shown(value, limit)


def base_url_hint(base_url: str, problems: list[str]) -> list[str]:
    """The problems, and a hint when a failed call went to a base URL that already ends in /v1."""
    if problems and urlsplit(base_url).path.rstrip("/").endswith("/v1"):
        return [*problems, "providerUrl is the base URL, without /v1: the sandbox appends /v1/... itself"]
    return problems


def read_games(answer: Answer, name_field: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The valid games of a Games answer, in the sandbox's spelling, and a problem per bad game or field."""
    data, failure = answer_object(answer)
    if data is None:
        return [], [str(failure)]
    listed = data.get("games")
    if not isinstance(listed, list):
        return [], [f"games must be an array, got {given_value(listed)}"]
    games: list[dict[str, Any]] = []
    problems: list[str] = []
    more = 0  # problems past MAX_GAME_PROBLEMS: counted, not worded (a hostile list can hold a million)
    seen: set[str] = set()
    for number, given in enumerate(listed, 1):
        game, wrong = _game(given, name_field)
        if not wrong and game["gameId"] in seen:
            wrong = [f"gameId {shown(game['gameId'])} is listed twice"]
        if wrong:
            room = MAX_GAME_PROBLEMS - len(problems)
            if room < len(wrong):
                more += len(wrong) - max(room, 0)
                wrong = wrong[: max(room, 0)]
            if wrong:
                label = f"game {number}"
                if isinstance(given, dict) and isinstance(given.get("gameId"), str):
                    label += f" ({shown(given['gameId'])})"
                problems += [f"{label}: {problem}" for problem in wrong]
            continue
        seen.add(game["gameId"])
        games.append(game)
    if more:
        problems.append(f"... and {more} more problems")
    return games, problems


def _game(given: Any, name_field: str) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(given, dict):
        return {}, [f"must be an object, got {given_value(given)}"]
    problems: list[str] = []
    game: dict[str, Any] = {}
    for key, spelled in (("gameId", "gameId"), ("gameName", name_field), ("gameCategory", "gameCategory")):
        value = given.get(spelled)
        if not isinstance(value, str) or not value.strip():
            missing = "is missing" if spelled not in given else f"must be a non-empty string, got {given_value(value)}"
            if key == "gameName" and spelled not in given:
                missing += _name_hint(given, name_field)
            problems.append(f"{spelled} {missing}")
        game[key] = value
    odd = given.get("maxOdd")
    if odd is not None and (isinstance(odd, bool) or not isinstance(odd, (int, Decimal)) or odd <= 0):
        problems.append(f"maxOdd must be a positive number, got {given_value(odd)}")
    game["maxOdd"] = odd
    image = given.get("lobbyImgUrl")
    if image is not None:
        try:
            parse_web_url(image)
        except (TypeError, ValueError) as exc:
            problems.append(f"lobbyImgUrl {exc}")
    game["lobbyImgUrl"] = image
    return game, problems


def _name_hint(given: dict[str, Any], name_field: str) -> str:
    """Where the name may be instead: the setting gameNameField says which field holds it."""
    other = next((f for f in NAME_FIELDS if f != name_field and isinstance(given.get(f), str)), None)
    if other is None:
        return " (the setting gameNameField names the field that holds the game's name)"
    return f" (this game has {shown(other)}: if that is the name, set the setting gameNameField to {shown(other)})"


def read_launch(answer: Answer) -> tuple[str | None, list[str]]:
    """The frameUri of a Launch answer, or the problems that make the launch a failure."""
    data, failure = answer_object(answer)
    if data is None:
        return None, [str(failure)]
    if "frameUri" not in data:
        return None, ["frameUri is missing"]
    frame = data["frameUri"]
    try:
        return str(parse_web_url(frame)), []
    except (TypeError, ValueError) as exc:
        return None, [f"frameUri {exc}"]


# -- how a call is shown -----------------------------------------------------------------------------------------------


def exchange_view(request: OutgoingRequest, answer: Answer) -> dict[str, Any]:
    """The request as sent and the answer as received, for a Games or Launch result."""
    shown_request = {
        "method": request.method,
        "url": request.url,
        "headers": dict(request.headers),
        "body": request.body.decode(),
    }
    response: dict[str, Any] | None = None
    if answer.status is not None:
        body = printable_bytes(answer.body or b"")
        response = {
            "status": answer.status,
            "body": clip(body, SHOWN_BODY),
            "durationMs": answer.duration_ms,
        }
    return {"request": shown_request, "response": response}
