"""Named crash points for the crash-safety tests (R-CA-4, R-X-1).

``SMKI_FAILPOINT=<name>`` makes the process kill itself with SIGKILL when it reaches that
point, exactly as a power cut would; tests use it to prove that every step either happens
whole or not at all. Unset (always, in production), ``hit`` is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

FAILPOINT_ENV = "SMKI_FAILPOINT"


def hit(name: str) -> None:
    if os.environ.get(FAILPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
