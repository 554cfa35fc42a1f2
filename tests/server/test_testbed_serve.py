"""`python -m comfytui.testbed serve` stops its ComfyUI when it is killed, not only on Ctrl-C — even by SIGKILL."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from comfytui.testbed import free_port

pytestmark = pytest.mark.server


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/queue", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_the_test_bed_stops_the_server(sig: signal.Signals) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "comfytui.testbed", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not _answers(url):
            assert proc.poll() is None and time.monotonic() < deadline, "the test bed did not start"
            time.sleep(0.2)
        proc.send_signal(sig)  # SIGKILL runs no handler: the parent-death signal must do it
        proc.wait(30)
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) != 0:
                    break  # nobody listens on the port any more
            assert time.monotonic() < deadline, "ComfyUI outlived the test bed"
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
