"""The burner program: a UDP server on 127.0.0.1 whose requests cost CPU time, with a bounded backlog."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest


@pytest.fixture
def burner(tmp_path: Path):
    """A burner started the way a Pod starts it: HOSTNAME is the Pod's name."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOSTNAME": "web-abcde"}
    process = subprocess.Popen([sys.executable, "-m", "fromscratch.autoscaling.burner",
                                "--port-dir", str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "web-abcde").exists():
            assert process.poll() is None and time.monotonic() < deadline, "the burner did not start"
            time.sleep(0.02)
        yield process, int((tmp_path / "web-abcde").read_text()), tmp_path
    finally:
        process.kill()
        process.wait()


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _send(port: int, payload: bytes, count: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(count):
            sock.sendto(payload, ("127.0.0.1", port))


def _wait_idle(pid: int, timeout: float = 10.0) -> float:
    """CPU seconds used once the burner has been idle for 0.3 s."""
    deadline = time.monotonic() + timeout
    used = _cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = _cpu_seconds(pid)
        if now - used < 0.01:
            return now
        used = now
    raise AssertionError("the burner never went idle")


def test_burner_announces_its_port_in_a_file_named_after_the_pod_and_in_its_log(burner):
    process, port, _ = burner
    assert 0 < port < 65536
    line = process.stdout.readline()
    assert f"127.0.0.1:{port}/udp" in line and "web-abcde" in line


def test_each_request_costs_its_milliseconds_of_cpu_time(burner):
    process, port, _ = burner
    before = _wait_idle(process.pid)
    _send(port, b"20", 15)  # 300 ms of work, within the 400 ms backlog
    used = _wait_idle(process.pid) - before
    assert 0.25 <= used <= 0.45, used


def test_work_beyond_the_backlog_is_dropped(burner):
    process, port, _ = burner
    before = _wait_idle(process.pid)
    _send(port, b"100", 50)  # 5 s of work asked at once; at most 400 ms is kept
    used = _wait_idle(process.pid) - before
    assert used < 0.7, used


def test_a_datagram_that_is_not_a_positive_number_is_not_a_request(burner):
    process, port, _ = burner
    before = _wait_idle(process.pid)
    for junk in (b"hello", b"-", b"nan", b"inf", b"0"):
        _send(port, junk, 3)
    _send(port, b"-1000", 1)  # must not eat the next request's cost
    _send(port, b"100", 2)
    used = _wait_idle(process.pid) - before
    assert 0.15 <= used <= 0.3, used
    assert process.poll() is None


def test_sigterm_withdraws_the_port_file_and_exits_zero(burner):
    process, _, port_dir = burner
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0
    assert not (port_dir / "web-abcde").exists()


def test_a_missing_port_directory_is_an_error_that_names_it(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "fromscratch.autoscaling.burner", "--port-dir",
                           str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=30,
                          env={"PATH": os.environ.get("PATH", ""), "HOSTNAME": "x"})
    assert done.returncode == 2 and "nowhere is not a directory" in done.stderr
