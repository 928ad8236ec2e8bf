"""``smki serve --workers N``: N worker processes, each listening on a socket of its own.

uvicorn's own workers share one listening socket and race to accept on it, so connections
opened together (a relying party's pool, a load balancer's) land unevenly: one worker may hold
two thirds of them, and its queue sets everyone's latency tail (measured on the repository
look-ups: p99 2.2 times p50 with a shared socket, against 1.15 with one worker). Here every
worker binds the port itself with ``SO_REUSEPORT``, and the kernel spreads new connections over
the workers' sockets by their addresses (R-REP-4, R-PERF-1).

The supervisor binds the port first, without listening, so that a port already taken is a
one-line error before any worker starts, and holds it until the end. Each worker leads a process
group of its own, shared by its signing pool. A worker that dies while serving is started
again, once what it left in its group is killed (a pool orphaned by a SIGKILL would wait for
work forever); one that dies during its start-up stops the service, since its siblings would
die the same way. ``SMKI_WORKER_STARTUP_SECONDS`` sets how long a start-up lasts (default 20).
SIGINT or SIGTERM stops every worker gracefully (uvicorn finishes the requests in flight and
runs the shutdown), then the supervisor exits 0. A supervisor that dies without that chance
(SIGKILL) takes its workers with it: each asked the kernel for SIGTERM when its parent dies.
A dead worker is reaped only after its group has been killed, so that the group's id cannot
meanwhile pass to an unrelated process.

Linux only, like ``SO_REUSEPORT``'s load spreading.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any, Final

import uvicorn

from smki.errors import ConfigError

log = logging.getLogger("smki.serve")

#: A worker that dies sooner than this after it started failed its start-up.
START_UP_SECONDS: Final = 20.0
#: Overrides ``START_UP_SECONDS``.
START_UP_ENV: Final = "SMKI_WORKER_STARTUP_SECONDS"
#: How long stopping workers get to finish what they are doing before they are killed.
STOP_SECONDS: Final = 30.0


@dataclass(frozen=True)
class WorkerSettings:
    """What each worker needs to build its uvicorn server (all picklable)."""

    factory: str
    host: str
    port: int
    log_config: dict[str, Any]
    supervisor: int = 0  # the supervisor's pid, set by serve_workers


def reusable_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` that other sockets of ours may bind as well."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", code="cannot-listen"
        ) from None
    return sock


def start_up_seconds() -> float:
    """``SMKI_WORKER_STARTUP_SECONDS`` (a positive number of seconds) or ``START_UP_SECONDS``."""
    text = os.environ.get(START_UP_ENV, "").strip()
    if not text:
        return START_UP_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ConfigError(f"{START_UP_ENV} must be a positive number of seconds", code="bad-option")
    return seconds


_PR_SET_PDEATHSIG: Final = 1  # from <linux/prctl.h>


def _stop_with(supervisor: int) -> None:
    """SIGTERM this worker when its supervisor dies, however it dies (SIGKILL, a closed
    terminal): a worker left behind would go on serving the port beside the next service."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("worker %s will not stop with its supervisor", os.getpid())
    if os.getppid() != supervisor:  # it died before the request took effect
        raise SystemExit(0)


def _work(settings: WorkerSettings) -> None:
    # A process group of its own: a terminal's Ctrl-C reaches the supervisor alone, which
    # passes it on once (a second signal would make uvicorn skip the graceful shutdown).
    os.setpgid(0, 0)
    _stop_with(settings.supervisor)
    sock = reusable_socket(settings.host, settings.port)
    config = uvicorn.Config(
        settings.factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        access_log=False,
        log_config=settings.log_config,
        log_level="info",
    )
    uvicorn.Server(config).run(sockets=[sock])


class _Supervisor:
    def __init__(self, settings: WorkerSettings, count: int, start_up: float) -> None:
        self._settings = settings
        self._count = count
        self._start_up = start_up
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[tuple[multiprocessing.process.BaseProcess, float]] = []
        self._stop_signal: int | None = None

    def run(self) -> int:
        previous = {
            number: signal.signal(number, self._on_signal)
            for number in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self._workers = [self._start() for _ in range(self._count)]
            status = self._watch()
        finally:
            self._stop()
            for number, handler in previous.items():
                signal.signal(number, handler)
        return status

    def _on_signal(self, number: int, _frame: FrameType | None) -> None:
        self._stop_signal = number

    def _start(self) -> tuple[multiprocessing.process.BaseProcess, float]:
        process = self._context.Process(target=_work, args=(self._settings,), daemon=False)
        process.start()
        return process, time.monotonic()

    def _watch(self) -> int:
        while self._stop_signal is None:
            sentinels = [process.sentinel for process, _ in self._workers]
            multiprocessing.connection.wait(sentinels, timeout=0.5)
            for index, (process, started) in enumerate(self._workers):
                if self._stop_signal is not None or not _exited(process):
                    continue
                _end(process)
                if time.monotonic() - started < self._start_up:
                    log.error("a worker failed to start (exit status %s)", process.exitcode)
                    return 1
                log.warning(
                    "worker %s died (exit status %s); starting another",
                    process.pid,
                    process.exitcode,
                )
                self._workers[index] = self._start()
        return 0

    def _stop(self) -> None:
        for process, _ in self._workers:
            if not _exited(process) and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process, _ in self._workers:
            left = max(0.0, deadline - time.monotonic())
            if not multiprocessing.connection.wait([process.sentinel], timeout=left):
                log.warning("worker %s did not stop in time; killing it", process.pid)
                process.kill()
            _end(process)


def _exited(process: multiprocessing.process.BaseProcess) -> bool:
    """Whether the worker has exited, without reaping it: until it is reaped its pid, and so
    its process group's id, cannot be taken by another process."""
    return bool(multiprocessing.connection.wait([process.sentinel], timeout=0))


def _end(process: multiprocessing.process.BaseProcess) -> None:
    """Kill what an exited (or killed) worker left in its group, then reap it."""
    multiprocessing.connection.wait([process.sentinel])
    _kill_group(process)
    process.join()


def _kill_group(worker: multiprocessing.process.BaseProcess) -> None:
    """Kill what a dead, not yet reaped, worker left in its process group (its signing pool,
    if the worker could not close it); nothing if the group is empty."""
    if worker.pid is None:
        return
    with contextlib.suppress(OSError):  # no such group left
        os.killpg(worker.pid, signal.SIGKILL)


def serve_workers(settings: WorkerSettings, count: int) -> int:
    """Run ``count`` workers until SIGINT or SIGTERM; the exit status for the CLI."""
    start_up = start_up_seconds()
    reservation = reusable_socket(settings.host, settings.port)
    try:
        port = int(reservation.getsockname()[1])
        bound = WorkerSettings(
            settings.factory, settings.host, port, settings.log_config, supervisor=os.getpid()
        )
        log.info("%d workers, each listening on %s:%d", count, settings.host, port)
        return _Supervisor(bound, count, start_up).run()
    finally:
        reservation.close()
