"""``smki serve`` in a child process for the benchmarks, on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

_READY_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _all_ready(url: str, log_path: Path, workers: int) -> bool:
    """Every worker has started (its line in the log) and new connections, whichever worker
    they reach, find it ready (its signing pool started): measured requests never queue
    behind a worker still starting."""
    started = log_path.read_bytes().count(b"Application startup complete")
    if started < workers:
        return False
    # New connections spread over the workers' sockets by their source ports.
    return all(httpx.get(f"{url}/readyz", timeout=1).status_code == 200 for _ in range(4 * workers))


@contextmanager
def serving(
    home: Path,
    passphrase: str,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """The base URL of a ready ``smki serve``; terminated (then killed) on exit."""
    port = free_port()
    child_env = {**os.environ, "SMKI_KEY_PASSPHRASE": passphrase, **(env or {})}
    command = [sys.executable, "-m", "smki.cli.main", "serve", "--home", str(home)]
    command += ["--port", str(port), "--workers", str(workers)]
    # A file, not a pipe: a pipe nobody reads would stall a chatty server once it fills.
    log_path = home / "serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(command, env=child_env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _READY_SECONDS
        while True:
            if process.poll() is not None:
                tail = log_path.read_bytes()[-2000:].decode(errors="replace")
                raise RuntimeError(f"smki serve exited: {tail}")
            try:
                if _all_ready(url, log_path, workers):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("smki serve did not become ready")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
