"""The admin API of a running sandbox, from another process (the command line's `scenario` and `report`).

Standard library only, so a command using it starts fast. The sandbox is found at `--sandbox URL`, else at
127.0.0.1 on BETCORE_SANDBOX_PORT (else 8080); the admin token comes from `--admin-token`, else
BETCORE_SANDBOX_ADMIN_TOKEN.
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
    """The sandbox could not be reached, or refused the request; str() says which and why."""


def local_url(env: Mapping[str, str] = os.environ) -> str:
    """This machine's sandbox, on the port the environment configures."""
    return f"http://127.0.0.1:{env.get(env_name('port')) or DEFAULT_PORT}"


@dataclass(frozen=True, slots=True)
class AdminClient:
    """`base_url` is the sandbox's root (http://host:port); `token` the admin bearer token, if it has one."""

    base_url: str
    token: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_options(cls, url: str | None, token: str | None, env: Mapping[str, str] = os.environ) -> AdminClient:
        """From command-line options, each falling back to the environment."""
        return cls((url or local_url(env)).rstrip("/"), token or env.get(env_name("admin_token")) or None)

    def call(
        self, method: str, path: str, body: Any = None, query: Mapping[str, str | None] | None = None
    ) -> tuple[bytes, str]:
        """(answer bytes, content type) of an admin route (`path` after /__admin); RemoteError unless 2xx."""
        url = f"{self.base_url}/__admin{path}"
        given = {k: v for k, v in (query or {}).items() if v is not None}
        if given:
            url += "?" + urllib.parse.urlencode(given)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            raise RemoteError(f"{method} {url}: HTTP {error.code}: {_problem(error.read())}") from None
        except (OSError, urllib.error.URLError) as error:
            raise RemoteError(f"{method} {url}: no sandbox answered ({error})") from None
        except (ValueError, http.client.HTTPException) as error:  # a URL it cannot send, an answer not HTTP
            said = repr(str(error))[:200]  # one line, whatever the other end sent
            raise RemoteError(f"{method} {url}: {type(error).__name__} {said}") from None

    def result(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str | None] | None = None,
        *,
        kind: type = dict,
        keys: tuple[str, ...] = (),
    ) -> tuple[Any, bytes]:
        """(the decoded answer, its bytes): a JSON `kind` (with `keys`, for an object), else RemoteError saying
        this is not a sandbox's answer."""
        raw, _ = self.call(method, path, body, query)
        try:
            found = json.loads(raw)
        except ValueError:
            found = None
        if not isinstance(found, kind) or (isinstance(found, dict) and not all(key in found for key in keys)):
            raise RemoteError(
                f"{self.base_url} is not a betcore-sandbox: its answer to {method} /__admin{path} is not one"
            )
        return found, raw


def _problem(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["error"])
    except (ValueError, KeyError, TypeError):
        return raw[:200].decode("utf-8", "replace")


__all__ = ["AdminClient", "RemoteError", "local_url"]
