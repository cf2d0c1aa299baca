"""`registry serve`: stopping the command stops the dashboard server and frees its port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_serve_stops_the_dashboard_and_frees_its_port(tmp_path, stop):
    port = _free_port()
    serve = subprocess.Popen([sys.executable, "-m", "registry_cli", "serve", "--db", str(tmp_path / "r.duckdb"),
                              "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        while not _listening(port):
            assert serve.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.2)
        children = psutil.Process(serve.pid).children(recursive=True)
        assert children
        serve.send_signal(stop)
        assert serve.wait(timeout=30) == 0
        assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children)
        assert not _listening(port)
    finally:
        for process in [*children, psutil.Process(serve.pid)] if serve.poll() is None else children:
            if process.is_running():
                process.kill()
