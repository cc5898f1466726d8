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
from urllib.parse import quote

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


def games_request(base_url: str, counterparty_id: str, secret: str, *, sign: bool = True) -> OutgoingRequest:
    path = "/v1/games"
    return OutgoingRequest(GAMES, "GET", endpoint_url(base_url, path), path, _headers(counterparty_id, secret, sign))


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
    path = f"/v1/games/{quote(game_id, safe='')}/launch"
    body = _encoder.encode(fields)
    headers = _headers(counterparty_id, secret, sign, "POST", body)
    headers["Content-Type"] = "application/json"
    return OutgoingRequest(
        LAUNCH, "POST", endpoint_url(base_url, path), path, headers, body, session_id=fields.get("sessionId")
    )


def _headers(counterparty_id: str, secret: str, sign: bool, method: str = "GET", body: bytes = b"") -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if sign:
        headers.update(signed_headers(secret, counterparty_id, method, body))
    else:  # identified, but without a signature: to see whether the provider insists on one
        headers["X-Counterparty-Id"] = counterparty_id
    return headers


# -- answers -----------------------------------------------------------------------------------------------------------


def answer_object(answer: Answer) -> tuple[dict[str, Any] | None, str | None]:
    """The answer's JSON object with `_responseCode` 1, or why not."""
    if answer.error is not None:
        return None, answer.error
    raw = answer.body or b""
    try:
        data = jsontext.decode(raw)
    except jsontext.JsonError as exc:
        return None, f"the answer (HTTP {answer.status}) is not JSON: the body {exc}"
    if not isinstance(data, dict):
        return None, f"the answer (HTTP {answer.status}) is not a JSON object"
    code = data.get("_responseCode")
    if code != 1 or isinstance(code, bool):
        message = data.get("message")
        said = f" ({shown(message, 200)})" if isinstance(message, str) else ""
        return None, f"_responseCode is {shown(code)}, not 1 (HTTP {answer.status}){said}"
    return data, None


def read_games(answer: Answer, name_field: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The valid games of a Games answer, in the sandbox's spelling, and a problem per bad game or field."""
    data, failure = answer_object(answer)
    if data is None:
        return [], [str(failure)]
    listed = data.get("games")
    if not isinstance(listed, list):
        return [], [f"games must be an array, got {shown(listed)}"]
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
        return {}, [f"must be an object, got {shown(given)}"]
    problems: list[str] = []
    game: dict[str, Any] = {}
    for key, spelled in (("gameId", "gameId"), ("gameName", name_field), ("gameCategory", "gameCategory")):
        value = given.get(spelled)
        if not isinstance(value, str) or not value.strip():
            missing = "is missing" if spelled not in given else f"must be a non-empty string, got {shown(value)}"
            problems.append(f"{spelled} {missing}")
        game[key] = value
    odd = given.get("maxOdd")
    if odd is not None and (isinstance(odd, bool) or not isinstance(odd, (int, Decimal)) or odd <= 0):
        problems.append(f"maxOdd must be a positive number, got {shown(odd)}")
    game["maxOdd"] = odd
    image = given.get("lobbyImgUrl")
    if image is not None:
        try:
            parse_web_url(image)
        except (TypeError, ValueError) as exc:
            problems.append(f"lobbyImgUrl {exc}")
    game["lobbyImgUrl"] = image
    return game, problems


def read_launch(answer: Answer) -> tuple[str | None, list[str]]:
    """The frameUri of a Launch answer, or the problems that make the launch a failure."""
    data, failure = answer_object(answer)
    if data is None:
        return None, [str(failure)]
    frame = data.get("frameUri")
    if frame is None:
        return None, ["frameUri is missing"]
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
