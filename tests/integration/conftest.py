"""Integration fixtures: real CLI, real databases, real key stores."""

from tests.integration.cli_support import ready, smki

__all__ = ["ready", "smki"]
