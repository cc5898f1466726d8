"""betcore-sandbox: a stateful local stand-in for the BETCORE aggregator's wallet API."""

__version__ = "0.1.0"
