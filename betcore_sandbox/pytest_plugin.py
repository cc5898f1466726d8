"""pytest plugin: a fresh sandbox per test, for sync and async test suites.

Fixtures (function-scoped):
  betcore_sandbox          a running Sandbox, configured by
                           @pytest.mark.betcore_sandbox(fixtures=..., clock=..., **settings)
  betcore_sandbox_factory  start more sandboxes: factory(fixtures=None, clock=None, **settings) -> Sandbox

At teardown, a test that passed is failed if a sandbox hit an unexpected internal error.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = ["MARKER", "SandboxFactory", "betcore_sandbox", "betcore_sandbox_factory"]

MARKER = "betcore_sandbox"
_outcome_key = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so `--strict-markers` knows it. config: the pytest configuration."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(fixtures=None, clock=None, **settings): configure the betcore_sandbox fixture for this test "
        "(a fixture file path, relative to the test file, or a dict; the sandbox clock's start time, an ISO 8601 "
        "string, a datetime or epoch ms; and runtime settings)",
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item (item: the test; call: its phase), so teardown can tell whether the
    test passed before failing it for a sandbox's internal error."""
    report = yield
    item.stash.setdefault(_outcome_key, {})[report.when] = report
    return report


def _start(request: pytest.FixtureRequest, fixtures: Any = None, clock: Any = None, **settings: Any) -> Sandbox:
    from .sandbox import Sandbox

    if isinstance(fixtures, (str, Path)) and not Path(fixtures).is_absolute():
        beside_test = Path(request.node.path).parent / fixtures
        fixtures = beside_test if beside_test.exists() else Path(fixtures)
    return Sandbox(fixtures, clock=clock, **settings).start()


def _stop_and_check(request: pytest.FixtureRequest, sandboxes: list[Sandbox]) -> None:
    errors = []
    for sandbox in sandboxes:
        errors += sandbox.internal_errors
        sandbox.stop()
    reports = request.node.stash.get(_outcome_key, {})
    passed = all(r.passed for r in reports.values()) and "call" in reports
    if errors and passed:
        pytest.fail(
            f"the betcore sandbox had {len(errors)} unexpected internal error(s):\n" + "\n".join(errors),
            pytrace=False,
        )


@pytest.fixture
def betcore_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A running sandbox with fresh state on 127.0.0.1 and a free port, stopped after the test.

    Configured by the test's `@pytest.mark.betcore_sandbox(fixtures=None, clock=None, **settings)`: fixtures, a
    fixture file (relative to the test file) or a dict in fixture format (also the marker's first positional
    argument); clock, the sandbox clock's start time; settings, runtime settings in camelCase or snake_case. A bad
    setting fails the test's setup with its path ($.zeroStake: ...)."""
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        options.setdefault("fixtures", marker.args[0])
    sandbox = _start(request, **options)
    yield sandbox
    _stop_and_check(request, [sandbox])


class SandboxFactory(Protocol):
    """What the `betcore_sandbox_factory` fixture gives: call it for another running sandbox."""

    def __call__(self, fixtures: Any = None, clock: Any = None, **settings: Any) -> Sandbox:
        """fixtures: a fixture file (relative to the test file), a dict in fixture format, or None for the default;
        clock: start the sandbox clock at this time (ISO 8601 string with a UTC offset, aware datetime or epoch ms),
        virtual and running on; settings: runtime settings in camelCase or snake_case. The sandbox is stopped after
        the test."""
        ...


@pytest.fixture
def betcore_sandbox_factory(request: pytest.FixtureRequest) -> Iterator[SandboxFactory]:
    """Start as many sandboxes as the test needs: factory(fixtures=None, clock=None, **settings), with the
    parameters of `SandboxFactory.__call__`. All stop after the test."""
    started: list[Sandbox] = []

    def factory(fixtures: Any = None, clock: Any = None, **settings: Any) -> Sandbox:
        sandbox = _start(request, fixtures, clock, **settings)
        started.append(sandbox)
        return sandbox

    yield factory
    _stop_and_check(request, started)
