"""pytest plugin: a fresh sandbox per test, for sync and async test suites.

Fixtures (function-scoped):
  betcore_sandbox          a running Sandbox, configured by
                           @pytest.mark.betcore_sandbox(fixtures=..., clock=..., settings=..., **settings)
  betcore_sandbox_factory  start more sandboxes: factory(fixtures=None, clock=None, settings=None, **settings)
                           -> Sandbox (settings: a dict and/or keywords, camelCase or snake_case)

At teardown, a test that passed is failed if a sandbox hit an unexpected internal error.

A failing test's report gets a "betcore-sandbox" section: the last requests each of its sandboxes received, one
line each (ini `betcore_sandbox_report = true|false` and `betcore_sandbox_report_lines = 20`, or
`--betcore-sandbox-report` / `--no-betcore-sandbox-report` and `--betcore-sandbox-report-lines=N`).

While a test's sandbox runs, the logger `betcore_sandbox.requests` logs each provider request at INFO (unless its
level was set otherwise), so `caplog` and live logging (`log_cli`) show them.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = ["MARKER", "SandboxFactory", "betcore_sandbox", "betcore_sandbox_factory"]

MARKER = "betcore_sandbox"
REPORT_LINES = 20  # how many of the last requests a failing test's report shows, by default
_outcome_key = pytest.StashKey[dict[str, pytest.TestReport]]()
_sandboxes_key = pytest.StashKey[list["Sandbox"]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The report switches, on the command line and in the ini file. parser: pytest's option parser."""
    group = parser.getgroup("betcore-sandbox")
    group.addoption(
        "--betcore-sandbox-report",
        action="store_true",
        default=None,
        dest="betcore_sandbox_report",
        help="on a failing test, report the last requests its sandboxes received (the default)",
    )
    group.addoption(
        "--no-betcore-sandbox-report",
        action="store_false",
        dest="betcore_sandbox_report",
        help="no report section of the sandbox's requests",
    )
    group.addoption(
        "--betcore-sandbox-report-lines",
        type=int,
        default=None,
        metavar="N",
        help=f"how many of the last requests the report shows (default {REPORT_LINES})",
    )
    parser.addini(
        "betcore_sandbox_report",
        type="bool",
        default=True,
        help="on a failing test, report the last requests its sandboxes received",
    )
    parser.addini(
        "betcore_sandbox_report_lines",
        type="string",
        default=str(REPORT_LINES),
        help="how many of the last requests the report shows",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so `--strict-markers` knows it, and check the report settings before any test runs (a
    bad one found only when a test fails would hide that failure). config: the pytest configuration."""
    _report_lines(config)
    config.addinivalue_line(
        "markers",
        f"{MARKER}(fixtures=None, clock=None, **settings): configure the betcore_sandbox fixture for this test "
        "(a fixture file path, relative to the test file, or a dict; the sandbox clock's start time, an ISO 8601 "
        "string, a datetime or epoch ms; and runtime settings, as keywords or a settings= dict, camelCase or "
        "snake_case)",
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item (item: the test; call: its phase), so teardown can tell whether the
    test passed before failing it for a sandbox's internal error; on a failed call, add the section of what the
    test's sandboxes received."""
    sandboxes = item.stash.get(_sandboxes_key, None)
    if call.when == "call" and sandboxes and _failed(call):
        text = _report_section(item.config, sandboxes)
        if text:
            item.add_report_section("call", "betcore-sandbox", text)  # read into the report made next
    report = yield
    item.stash.setdefault(_outcome_key, {})[report.when] = report
    if call.when == "teardown" and sandboxes is not None:
        del item.stash[_sandboxes_key]  # the item lives as long as the session: let go of the stopped sandboxes
    return report


def _failed(call: pytest.CallInfo[None]) -> bool:
    excinfo = call.excinfo
    return excinfo is not None and not excinfo.errisinstance(pytest.skip.Exception)


def _report_lines(config: pytest.Config) -> int:
    """How many requests a failing test's report shows: the option, else the ini value (UsageError if not a number)."""
    lines: int | None = config.getoption("betcore_sandbox_report_lines")
    if lines is not None:
        return lines
    given = config.getini("betcore_sandbox_report_lines")
    try:
        return int(given)
    except ValueError:
        raise pytest.UsageError(f"betcore_sandbox_report_lines must be a number, not {given!r}") from None


def _report_section(config: pytest.Config, sandboxes: list[Sandbox]) -> str:
    """What the sandboxes received, the newest `lines` requests of each; empty when switched off."""
    from .request_lines import describe_all

    enabled = config.getoption("betcore_sandbox_report")
    if enabled is None:
        enabled = config.getini("betcore_sandbox_report")
    lines = _report_lines(config)
    if not enabled or lines <= 0:
        return ""
    blocks = []
    for sandbox in sandboxes:
        try:  # only the newest `lines` are read: a long test's journal may hold thousands
            total = sandbox.request_count()
            entries = sandbox.requests(limit=lines)
        except Exception as exc:  # a report must not turn a test's failure into pytest's internal error
            blocks.append(f"sandbox {sandbox.base_url}: its journal could not be read: {exc!r}")
            continue
        blocks.append(f"sandbox {sandbox.base_url}: " + describe_all(entries, max(total, len(entries))))
    return "\n\n".join(blocks)


def _start(request: pytest.FixtureRequest, fixtures: Any = None, clock: Any = None, **settings: Any) -> Sandbox:
    from .sandbox import Sandbox

    if isinstance(fixtures, (str, Path)) and not Path(fixtures).is_absolute():
        beside_test = Path(request.node.path).parent / fixtures
        fixtures = beside_test if beside_test.exists() else Path(fixtures)
    sandbox = Sandbox(fixtures, clock=clock, **settings).start()
    request.node.stash.setdefault(_sandboxes_key, []).append(sandbox)
    return sandbox


class _RequestLines:
    """The request logger at INFO while a test's sandboxes run, so caplog and live logging get every line; a level
    the test suite set itself is left alone."""

    def __init__(self) -> None:
        from .logs import REQUESTS

        self._logger = REQUESTS
        self._set = REQUESTS.level == logging.NOTSET
        if self._set:
            REQUESTS.setLevel(logging.INFO)

    def restore(self) -> None:
        if self._set:
            self._logger.setLevel(logging.NOTSET)


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
    argument); clock, the sandbox clock's start time; settings, runtime settings in camelCase or snake_case, as
    keywords or as a `settings=` dict. A bad setting fails the test's setup with its path ($.zeroStake: ...)."""
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        options.setdefault("fixtures", marker.args[0])
    lines = _RequestLines()
    try:
        sandbox = _start(request, **options)
        yield sandbox
        _stop_and_check(request, [sandbox])
    finally:
        lines.restore()


class SandboxFactory(Protocol):
    """What the `betcore_sandbox_factory` fixture gives: call it for another running sandbox."""

    def __call__(self, fixtures: Any = None, clock: Any = None, **settings: Any) -> Sandbox:
        """fixtures: a fixture file (relative to the test file), a dict in fixture format, or None for the default;
        clock: start the sandbox clock at this time (ISO 8601 string with a UTC offset, aware datetime or epoch ms),
        virtual and running on; settings: runtime settings in camelCase or snake_case, as keywords or as a
        `settings=` dict. The sandbox is stopped after the test."""
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

    lines = _RequestLines()
    try:
        yield factory
        _stop_and_check(request, started)
    finally:
        lines.restore()
