"""Domain errors. Each names the response code it stands for; the web layer maps that name to a number."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


class SandboxError(Exception):
    code_name = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        balance: Decimal | None = None,
        currency: str | None = None,
        debug: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.balance = balance
        self.currency = currency
        self.debug = debug


class InvalidRequest(SandboxError):
    code_name = "invalid_request"


class SessionNotFound(SandboxError):
    code_name = "session_not_found"


class InsufficientFunds(SandboxError):
    code_name = "insufficient_funds"


class BetNotFound(SandboxError):
    code_name = "bet_not_found"


class BetConflict(SandboxError):
    code_name = "bet_conflict"


class LimitExceeded(SandboxError):
    code_name = "limit_exceeded"


class Unauthorized(SandboxError):
    code_name = "unauthorized"


class NotFound(LookupError):
    """An admin lookup of an id that does not exist."""


class AdminInputError(ValueError):
    """Bad admin input; the message names the field."""
