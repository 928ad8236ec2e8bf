"""The CLI edge's one table from errors to exit statuses and messages (STYLE.md).

0 success; 1 unexpected failure; 2 bad input (nothing changed); 3 not found; 4 conflict with
the current state; 5 configuration; 6 key store; 7 storage; 8 integrity check failed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer

from smki.errors import SmkiError

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("smki.cli")


def report(error: SmkiError) -> int:
    rid = f" ({error.rid})" if error.rid else ""
    print(f"error: {error.code}: {error.detail}{rid}", file=sys.stderr)
    return error.exit_status


def cli_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn smki errors into a one-line message on stderr and the table's exit status;
    anything else is logged (with its traceback, never its data) and exits 1."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except SmkiError as error:
            raise typer.Exit(report(error)) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception:
            log.exception("unexpected failure in %s", command.__name__)
            print("error: internal: unexpected failure; see the log", file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper
