"""Run the docs' signing snippets and the Postman collection with the tools providers use (PHP, Node.js, Java, Go,
newman), against a real sandbox process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ..conftest import REPO

SNIPPETS = REPO / "docs" / "signing"
NEWMAN = REPO / ".ci" / "node" / "node_modules" / ".bin" / "newman"

# language: (the command before the snippet's arguments, the tool it needs, the Debian package that provides it)
LANGUAGES: dict[str, tuple[list[str], str, str]] = {
    # -I -S: no site-packages, so the snippet cannot lean on betcore_sandbox
    "python": ([sys.executable, "-I", "-S", str(SNIPPETS / "sign.py")], sys.executable, "python3"),
    "node": (["node", str(SNIPPETS / "sign.js")], "node", "nodejs"),
    "php": (["php", str(SNIPPETS / "sign.php")], "php", "php-cli"),
    "go": (["go", "run", str(SNIPPETS / "sign.go")], "go", "golang"),
    "java": (["java", str(SNIPPETS / "Sign.java")], "javac", "default-jdk-headless"),
}


def require(tool: str, package: str) -> None:
    """Fail in CI (.ci/run installs the tool), skip on a laptop without it."""
    if shutil.which(tool) is None and not Path(tool).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is needed in CI (apt-get install {package})")
        pytest.skip(f"{tool} is not installed (apt-get install {package})")


def tool_env(scratch: Path) -> dict[str, str]:
    """Go builds in a scratch cache with this machine's toolchain only: nothing is downloaded."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETCORE_SANDBOX_")},
        "GOCACHE": str(scratch / "go-cache"),
        "GOPATH": str(scratch / "go-path"),
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
        "GOFLAGS": "",
    }


def run(command: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}/__admin{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text, parse_float=Decimal) if text else None


def admin_balance(url: str, session_id: str = "session-eur") -> Decimal:
    return Decimal(admin(url, "GET", f"/sessions/{session_id}")["balance"])
