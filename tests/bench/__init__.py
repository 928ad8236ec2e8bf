"""Throughput and latency figures for smki (``make bench``): printed, never asserted.

Run from the repository root with ``python -m tests.bench`` (``--help`` for the knobs). Worker
processes are started with ``spawn`` and import this package, so the repository root must be on
``sys.path``, which ``-m`` from the root guarantees.
"""
