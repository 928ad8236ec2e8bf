"""Shared fixtures: stores on SQLite and PostgreSQL, key stores on files and SoftHSM2."""

pytest_plugins = ["tests.fixtures.stores", "tests.fixtures.keystores"]
