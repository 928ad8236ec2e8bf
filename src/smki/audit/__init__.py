"""Tamper-evident audit log (R-X-1): the hash chain and its verifier."""
