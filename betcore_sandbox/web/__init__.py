"""The HTTP layer: parse, call the domain, wrap the answer. No wallet rule lives here."""
