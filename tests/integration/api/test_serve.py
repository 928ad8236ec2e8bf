"""``smki serve``: clear errors before uvicorn starts; a real multi-worker server after."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integration.cli_support import Smki


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
                    break
                except httpx.TransportError:
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
