"""Alembic migrations (R-X-2), run programmatically by ``smki.storage.migrate``."""
