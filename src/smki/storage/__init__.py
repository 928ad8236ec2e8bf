"""Persistence (R-X-2): the only package that speaks SQL. SQLite by default, PostgreSQL by URL."""
