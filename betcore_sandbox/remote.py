"""The admin API of a running sandbox, from another process: every command line command that talks to one.

Standard library only, so a command using it starts fast. The sandbox is found at `--sandbox URL`, else at
$BETCORE_SANDBOX_URL, else at 127.0.0.1 on BETCORE_SANDBOX_PORT (else 8080); the admin token comes from
`--admin-token` where a command still has it, else BETCORE_SANDBOX_ADMIN_TOKEN.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import DEFAULT_PORT, env_name


class RemoteError(Exception):
    """The sandbox could not be reached, or refused the request; str() says which and why. `status` is the HTTP
    status of a refusal, None when no sandbox answered (or something else did); `problem` what the sandbox said."""

    def __init__(
        self, message: str, status: int | None = None, problem: str | None = None, *, unreachable: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem if problem is not None else message
        self.unreachable = unreachable  # nothing answered at all: every command exits 1 for it


def local_url(env: Mapping[str, str] = os.environ) -> str:
    """This machine's sandbox, on the port the environment configures."""
    return f"http://127.0.0.1:{env.get(env_name('port')) or DEFAULT_PORT}"


PROVIDER_PATHS = ("/betongames-mediator-service/api/v1", "/v1")  # the provider API under the root, as served


def sandbox_url(given: str | None, env: Mapping[str, str] = os.environ, *, flag: str = "--sandbox") -> str:
    """The sandbox's root URL, without a trailing slash: `given` (the option `flag`, as the user typed it), else
    $BETCORE_SANDBOX_URL, else this machine on BETCORE_SANDBOX_PORT (else 8080). The provider API URL the start-up
    banner prints (the root followed by /v1 or /betongames-mediator-service/api/v1) is taken as its root.
    RemoteError, naming `flag` or the variable, when it is no such URL: checked before any call, so that a typo
    reads as one rather than as a connection error."""
    source, url = flag, given
    if url is None and env.get(env_name("url")):
        source, url = env_name("url"), env[env_name("url")]
    if url is None:
        port = env.get(env_name("port")) or str(DEFAULT_PORT)
        if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            raise RemoteError(f"{env_name('port')} must be a port number (1-65535), got {port!r}")
        return f"http://127.0.0.1:{port}"
    wrong = (
        f"{source} must be the sandbox's URL, http(s)://host:port (its provider API URL, ending in /v1, is taken "
        f"too), got {url!r}"
    )
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises when not a port number
    except ValueError:
        raise RemoteError(wrong) from None
    path = parts.path.rstrip("/")
    for suffix in PROVIDER_PATHS:
        if path == suffix:
            path = ""
            break
    if parts.scheme not in ("http", "https") or not parts.hostname or path or parts.query or parts.fragment:
        raise RemoteError(wrong)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class AdminClient:
    """`base_url` is the sandbox's root (http://host:port); `token` the admin bearer token, if it has one."""

    base_url: str
    token: str | None = None
    timeout: float | None = 30.0
    hint: str = ""  # said after "cannot reach": how to point at another sandbox, when none was named
    token_env: str = env_name("admin_token")  # the variable the token comes from: a 401 says to set it

    @classmethod
    def from_options(
        cls,
        url: str | None,
        token: str | None = None,
        env: Mapping[str, str] = os.environ,
        *,
        timeout: float | None = 30.0,
        flag: str = "--sandbox",
        token_env: str | None = None,
    ) -> AdminClient:
        """From command-line options, each falling back to the environment: `url` as given with the option `flag`,
        `token` the admin token, else the variable `token_env` (default BETCORE_SANDBOX_ADMIN_TOKEN); RemoteError
        for an unusable URL, naming `flag`."""
        named = url is not None or bool(env.get(env_name("url")))
        hint = "" if named else f" (set {env_name('port')} or {env_name('url')}, or pass {flag} URL)"
        variable = token_env or env_name("admin_token")
        return cls(sandbox_url(url, env, flag=flag), token or env.get(variable) or None, timeout, hint, variable)

    def open(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str | None] | None = None,
        *,
        data: bytes | None = None,
    ) -> http.client.HTTPResponse:
        """The open answer of `method` on an admin route, to read or stream (the caller closes it).

        `path` is the route after /__admin; `query` its parameters (None values left out); `body` is sent as JSON,
        `data` as it is. RemoteError unless the sandbox answers 2xx: a refusal (`status` set), no answer
        (`unreachable`), or a body JSON cannot carry (NaN, infinity: refused here, before anything is sent)."""
        url = f"{self.base_url}/__admin{path}"
        given = {k: v for k, v in (query or {}).items() if v is not None}
        if given:
            url += "?" + urllib.parse.urlencode(given)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if data is None and body is not None:
            try:
                data = json.dumps(body, allow_nan=False).encode()
            except ValueError:
                raise RemoteError(f"not sent: {body!r} holds a number JSON cannot carry (NaN or infinity)") from None
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=self.timeout)
            return response
        except urllib.error.HTTPError as error:
            problem = _problem(error.read())
            if error.code == 401:  # what to do about it, rather than the header the API wants
                problem = self._token_problem()
                raise RemoteError(problem, error.code, problem) from None
            raise RemoteError(f"{method} {url}: HTTP {error.code}: {problem}", error.code, problem) from None
        except (OSError, urllib.error.URLError) as error:
            reason = _os_reason(error)
            raise RemoteError(
                f"cannot reach the sandbox at {self.base_url}: {reason}{self.hint}", unreachable=True
            ) from None
        except (ValueError, http.client.HTTPException) as error:  # a URL it cannot send, an answer not HTTP
            said = repr(str(error))[:200]  # one line, whatever the other end sent
            raise RemoteError(f"{method} {url}: {type(error).__name__} {said}") from None

    def _token_problem(self) -> str:
        name = self.token_env
        if self.token is None:
            unset = "is unset" if name == env_name("admin_token") else "(the variable --token-env names) is unset"
            return f"the sandbox at {self.base_url} requires its admin token: {name} {unset}; set it to that token"
        return f"the sandbox at {self.base_url} refused the admin token: set {name} to the token it was started with"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str | None] | None = None,
        *,
        data: bytes | None = None,
    ) -> tuple[bytes, str]:
        """(answer bytes, content type) of an admin route (`path` after /__admin); RemoteError unless 2xx."""
        with self.open(method, path, body, query, data=data) as response:
            try:
                return response.read(), response.headers.get_content_type()
            except (OSError, http.client.HTTPException) as error:  # it went away mid-answer
                raise RemoteError(f"{method} {self.base_url}/__admin{path}: the answer broke off ({error})") from None

    def result(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str | None] | None = None,
        *,
        kind: type = dict,
        keys: tuple[str, ...] = (),
        data: bytes | None = None,
    ) -> tuple[Any, bytes]:
        """(the decoded answer, its bytes): a JSON `kind` (with `keys`, for an object), else RemoteError saying
        this is not a sandbox's answer."""
        raw, _ = self.call(method, path, body, query, data=data)
        try:
            found = json.loads(raw)
        except ValueError:
            found = None
        if not isinstance(found, kind) or (isinstance(found, dict) and not all(key in found for key in keys)):
            raise RemoteError(
                f"{self.base_url} is not a betcore-sandbox: its answer to {method} /__admin{path} is not one"
            )
        return found, raw


def _os_reason(error: BaseException) -> str:
    """Why a connection failed, in words: urllib wraps the OS error in its own."""
    reason = getattr(error, "reason", error)
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason)


def _problem(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["error"])
    except (ValueError, KeyError, TypeError):
        return raw[:200].decode("utf-8", "replace")


__all__ = ["AdminClient", "RemoteError", "local_url", "sandbox_url"]
