"""smki: the Great Britain Smart Metering Key Infrastructure (SEC Section L)."""

__version__ = "0.1.0"
