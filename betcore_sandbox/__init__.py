"""betcore-sandbox: a stateful local stand-in for the BETCORE aggregator's wallet API.

from betcore_sandbox import Sandbox

with Sandbox() as sandbox:          # a running sandbox on 127.0.0.1 and a free port
    sandbox.url                     # the provider API base, .../v1
    sandbox.signed_headers("GET")   # what your game server sends
    sandbox.audit()                 # typed records, money as Decimal
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "AppliedScenario",
    "AuditReport",
    "BetRecord",
    "ClockInfo",
    "ConformanceCheck",
    "ConformanceReport",
    "FaultInfo",
    "Finding",
    "Game",
    "GamesResult",
    "HistoryStep",
    "JournalEntry",
    "LaunchResult",
    "OpenBet",
    "PlayerInfo",
    "Sandbox",
    "SandboxFactory",
    "ScenarioInfo",
    "SessionInfo",
    "Settings",
    "Transaction",
    "__version__",
]

if TYPE_CHECKING:
    from .pytest_plugin import SandboxFactory
    from .records import (
        AppliedScenario,
        AuditReport,
        BetRecord,
        ClockInfo,
        ConformanceCheck,
        ConformanceReport,
        FaultInfo,
        Finding,
        Game,
        GamesResult,
        HistoryStep,
        JournalEntry,
        LaunchResult,
        OpenBet,
        PlayerInfo,
        ScenarioInfo,
        SessionInfo,
        Transaction,
    )
    from .sandbox import Sandbox
    from .settings import Settings

_LAZY = {
    "Sandbox": "sandbox",
    "SandboxFactory": "pytest_plugin",
    "Settings": "settings",
    **dict.fromkeys(
        (
            "AppliedScenario",
            "AuditReport",
            "BetRecord",
            "ClockInfo",
            "FaultInfo",
            "Game",
            "GamesResult",
            "ConformanceCheck",
            "ConformanceReport",
            "Finding",
            "HistoryStep",
            "JournalEntry",
            "LaunchResult",
            "OpenBet",
            "PlayerInfo",
            "ScenarioInfo",
            "SessionInfo",
            "Transaction",
        ),
        "records",
    ),
}


def __getattr__(name: str) -> Any:
    # Imported on first use, so `healthcheck` and `sign` never load the server stack.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'betcore_sandbox' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
