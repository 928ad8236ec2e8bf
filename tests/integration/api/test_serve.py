"""``smki serve``: clear errors before uvicorn starts; a real multi-worker server after.

The ``--workers`` tests look at the processes and sockets in ``/proc`` (Linux only, like
``SO_REUSEPORT``): the workers are the supervisor's children that hold a socket listening on
the port, and the worker that answered a connection is the one holding its server side.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from smki.cli.serve_workers import START_UP_ENV
from tests.integration.cli_support import Smki

_LISTEN = "0A"
_ESTABLISHED = "01"


def test_home_not_initialised(smki: Smki, tmp_path: Path) -> None:
    outcome = smki("serve", "--home", str(tmp_path / "nowhere"))
    assert outcome.exit_code == 5
    assert "error: not-initialised:" in outcome.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_two_workers_serve_the_home(ready: Smki) -> None:
    outcome = ready("serve", *ready.h, extra_env={"SMKI_KEY_PASSPHRASE": ""})
    assert outcome.exit_code == 6
    assert "error: missing-passphrase:" in outcome.stderr

    port = _free_port()
    command = ["serve", *ready.h, "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "smki.cli.main", *command],
        env={**os.environ, **ready.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        ready_answer = None
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    ready_answer = client.get("/readyz")
                    if ready_answer.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            assert ready_answer is not None, "the server did not start"
            assert ready_answer.json() == {"status": "ready", "environment": "test"}
            assert "/smki/v1/certificates" in client.get("/openapi.json").json()["paths"]
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    lines = [json.loads(line) for line in stdout.decode().splitlines() if line.startswith("{")]
    assert any(line["endpoint"] == "/readyz" and line["status"] == 200 for line in lines)


def test_a_port_taken_is_cannot_listen(ready: Smki) -> None:
    with socket.socket() as taken:  # neither SO_REUSEADDR nor SO_REUSEPORT
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = ["serve", *ready.h, "--port", str(port), "--workers", "2"]
        started = time.monotonic()
        outcome = subprocess.run(
            [sys.executable, "-m", "smki.cli.main", *command],
            env={**os.environ, **ready.env},
            capture_output=True,
            timeout=60,
            check=False,
        )
        elapsed = time.monotonic() - started
    stderr = outcome.stderr.decode()
    assert outcome.returncode == 5, stderr
    assert "error: cannot-listen:" in stderr
    assert "Started server process" not in stderr  # no worker was started
    assert elapsed < 20


def test_both_workers_listen_and_answer(ready: Smki, tmp_path: Path) -> None:
    port = _free_port()
    with _serving(ready, port, tmp_path) as process:
        workers = _wait_for_workers(process.pid, port, lambda found: len(found) == 2)
        _wait_all_ready(port)
        # Two listening sockets, the workers': the supervisor's reservation does not listen.
        assert len(_tcp_inodes(port, _LISTEN)) == 2
        assert not _tcp_inodes(port, _LISTEN) & _socket_inodes(process.pid)
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(16)]
        try:
            for connection in connections:
                connection.request("GET", "/readyz")
                answer = connection.getresponse()
                assert answer.status == 200
                answer.read()
            # Kept alive: each connection's server side is still held by the worker that
            # accepted it. All 16 on one worker has a chance of 2 in 65536.
            answered = {
                _holder(port, connection.sock.getsockname()[1], workers)
                for connection in connections
            }
        finally:
            for connection in connections:
                connection.close()
        assert answered == workers
    stdout = (tmp_path / "serve.out").read_text()
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert sum(line["endpoint"] == "/readyz" and line["status"] == 200 for line in lines) >= 17


def test_a_dead_worker_is_replaced(ready: Smki, tmp_path: Path) -> None:
    port = _free_port()
    with _serving(ready, port, tmp_path, {START_UP_ENV: "1"}) as process:
        first = _wait_for_workers(process.pid, port, lambda found: len(found) == 2)
        time.sleep(1.5)  # both past their start-up
        victim = min(first)
        orphans = _descendants(victim)  # its signing pool
        os.kill(victim, signal.SIGKILL)
        after = _wait_for_workers(
            process.pid, port, lambda found: len(found) == 2 and victim not in found
        )
        assert first - after == {victim}
        assert len(after - first) == 1
        _wait_gone(orphans)
        # New connections, whichever worker they reach, are answered.
        _wait_all_ready(port)
        everything = _descendants(process.pid)
        assert after <= everything
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert f"worker {victim} died" in (tmp_path / "serve.err").read_text()
    _wait_gone(everything)


def test_workers_stop_when_their_supervisor_is_killed(ready: Smki, tmp_path: Path) -> None:
    """SIGKILL leaves the supervisor no chance to stop its workers: they stop themselves
    (PR_SET_PDEATHSIG), so no worker goes on serving the port beside the next service."""
    port = _free_port()
    with _serving(ready, port, tmp_path) as process:
        workers = _wait_for_workers(process.pid, port, lambda found: len(found) == 2)
        everything = _descendants(process.pid)
        process.kill()
        process.wait(timeout=10)
        _wait_gone(workers | everything, seconds=60)
    assert not _tcp_inodes(port, _LISTEN)


@contextmanager
def _serving(
    ready: Smki, port: int, tmp_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``smki serve --workers 2`` answering /readyz, its output in serve.out and serve.err;
    stopped (SIGTERM, then SIGKILL) if still running at the end."""
    command = ["serve", *ready.h, "--port", str(port), "--workers", "2"]
    with (tmp_path / "serve.out").open("wb") as out, (tmp_path / "serve.err").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "smki.cli.main", *command],
            env={**os.environ, **ready.env, **(extra_env or {})},
            stdout=out,
            stderr=err,
        )
        try:
            _wait_ready(process, port)
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_all_ready(port: int) -> None:
    """Until 8 new connections in a row are answered 200 by /readyz: a worker says 503
    not-ready until its signing pool has started, and connections reach either worker."""
    deadline = time.monotonic() + 30
    answered: list[int] = []
    while answered[-8:] != [200] * 8:
        assert time.monotonic() < deadline, f"not ready: {answered[-8:]}"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            answered.append(client.get("/readyz").status_code)
        assert answered[-1] in (200, 503)


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise AssertionError(f"the server did not start (exit status {process.poll()})")


def _wait_for_workers(
    supervisor: int, port: int, done: Callable[[set[int]], bool], seconds: float = 30
) -> set[int]:
    """The supervisor's children listening on ``port``, once ``done`` accepts them."""
    deadline = time.monotonic() + seconds
    while True:
        listening = _tcp_inodes(port, _LISTEN)
        found = {pid for pid in _children(supervisor) if _socket_inodes(pid) & listening}
        if done(found):
            return found
        assert time.monotonic() < deadline, f"workers listening on {port}: {found}"
        time.sleep(0.1)


def _holder(port: int, client_port: int, workers: set[int]) -> int:
    """The worker holding the server side of the connection from ``client_port``."""
    inodes = _tcp_inodes(port, _ESTABLISHED, remote_port=client_port)
    holders = [pid for pid in workers if _socket_inodes(pid) & inodes]
    assert len(holders) == 1, f"connection from port {client_port} held by {holders}"
    return holders[0]


def _tcp_inodes(port: int, state: str, remote_port: int | None = None) -> set[int]:
    """Inodes of the TCP sockets on local ``port`` in ``state`` (from /proc/net/tcp*)."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local, remote, row_state, inode = fields[1], fields[2], fields[3], fields[9]
            if int(local.rsplit(":", 1)[1], 16) != port or row_state != state:
                continue
            if remote_port is None or int(remote.rsplit(":", 1)[1], 16) == remote_port:
                inodes.add(int(inode))
    return inodes


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # gone
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def _children(parent: int) -> set[int]:
    children: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            children.add(int(entry.name))
    return children


def _descendants(ancestor: int) -> set[int]:
    found: set[int] = set()
    parents = {ancestor}
    while parents:
        children = set().union(*(_children(parent) for parent in parents)) - found
        found |= children
        parents = children
    return found


def _wait_gone(pids: set[int], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.1)
    assert not [pid for pid in pids if _running(pid)], "processes left running"


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
