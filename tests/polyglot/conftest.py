"""What the polyglot tests share: a sandbox process per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..process import SandboxProcess


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """A sandbox process with the default fixture, for the module's tests."""
    sandbox = SandboxProcess("--port", "0")
    try:
        yield sandbox.wait_listening()
    finally:
        sandbox.stop()
