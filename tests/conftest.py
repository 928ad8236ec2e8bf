"""Shared fixtures: stores on SQLite and PostgreSQL, key stores on files and SoftHSM2."""

import os

pytest_plugins = ["tests.fixtures.stores", "tests.fixtures.keystores"]

# Servers started by tests keep no CRL schedule of their own (R-REP-5): a list reissued in the
# background would change the audit counts that tests compare. test_crl_schedule turns it on.
os.environ["SMKI_CRL_SCHEDULE"] = "off"
