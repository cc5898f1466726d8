"""betcore-sandbox: a stateful local stand-in for the BETCORE aggregator's wallet API."""

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Sandbox", "__version__"]

if TYPE_CHECKING:
    from .sandbox import Sandbox


def __getattr__(name: str):
    # Imported on first use, so `healthcheck` and `sign` never load the server stack.
    if name == "Sandbox":
        from .sandbox import Sandbox

        return Sandbox
    raise AttributeError(f"module 'betcore_sandbox' has no attribute {name!r}")
