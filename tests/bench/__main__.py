"""Entry point: ``python -m tests.bench`` (``make bench``).

Spawned workers re-import this module as ``__mp_main__``; the guard keeps them from running
the benchmarks themselves.
"""

from __future__ import annotations

if __name__ == "__main__":
    from tests.bench.run import main

    raise SystemExit(main())
