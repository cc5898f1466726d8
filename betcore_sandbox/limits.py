"""Every fixed limit of the sandbox, in one place (docs/provider-api.md lists them). Limits that a user
may change at run time are settings (settings.py)."""

from __future__ import annotations

MAX_PROVIDER_BODY = 64 * 1024  # bytes of a provider request body
MAX_ADMIN_BODY = 64 * 1024 * 1024  # bytes of an admin request body (a state import can be large)
DEFAULT_HEADER_TIMEOUT = 10.0  # seconds for a request head to arrive, from its first byte
SHUTDOWN_GRACE_SECONDS = 3.0  # what in-flight requests get on SIGTERM / SIGINT
LINGER_SECONDS = 1.0  # how long an unread request body is drained after an error answer before closing

MAX_NUMBER_TEXT = 100  # characters of one JSON number or amount string
MAX_EXPONENT = 100  # |exponent| of a number written with one
MAX_INTEGER_DIGITS = 12  # of an amount in a request
MAX_BALANCE_DIGITS = 30  # of a balance or a running total in an export: wins add up past 12 digits
MAX_SCALE = 18  # decimal places of a currency
MAX_URL_LENGTH = 2048  # of a provider URL, a frameUri, a lobby image URL
MAX_PARTNER_ANSWER = 1024 * 1024  # bytes of a provider's Games or Launch answer that the sandbox reads
MAX_ID_LENGTH = 128  # characters of a betId or gameRoundId
MAX_TIMESTAMP_DIGITS = 16  # of X-Timestamp: epoch milliseconds have 13 until the year 2286

MAX_TTL_SECONDS = 10 * 365 * 24 * 3600  # of a session or a fault rule: every expiry stays a valid date
MAX_DELAY_MS = 3_600_000  # of a delay or timeout fault
MAX_FAULT_RULES = 10_000  # fault rules that can still fire, at once (a fixture's `faults` included)
KEPT_FINISHED_FAULT_RULES = 1_000  # used-up or expired rules still listed; older ones are dropped

UNTRUSTED_BODY_BYTES = 1024  # what the journal keeps of an unauthenticated request's body
UNTRUSTED_HEADER_BYTES = 256  # ... of each of its header names and values
UNTRUSTED_HEADERS = 32  # ... of its headers

MAX_CLOCK_MS = 221_845_392_000_000  # 9000-01-01T00:00:00Z: the latest sandbox time; a 10-year TTL still fits
MAX_READ_TIMEOUT_MS = 600_000  # of bodyReadTimeoutMs and partnerTimeoutMs
MAX_FIELD_NAME = 64  # of a setting naming a JSON field of the provider's Games or Launch
