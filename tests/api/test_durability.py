"""SQLite durability: kill -9 the server in the middle of a write loop; nothing acknowledged is lost."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kubernetes import client, config

TOKEN = "durability-test-token"


def start_server(db: Path, kubeconfig: Path) -> tuple[subprocess.Popen, client.CoreV1Api]:
    process = subprocess.Popen(
        [sys.executable, "-m", "fromscratch", "apiserver", "--store", f"sqlite:{db}",
         "--kubeconfig", str(kubeconfig), "--admin-token", TOKEN],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if re.search(r"kubeconfig: ", line):
            api = config.new_client_from_config(config_file=str(kubeconfig))
            return process, client.CoreV1Api(api)
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"the API server did not start: {process.stderr.read()}")


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill(tmp_path):
    db, kubeconfig = tmp_path / "state.db", tmp_path / "kubeconfig"
    process, core = start_server(db, kubeconfig)
    acknowledged: list[str] = []
    stop = threading.Event()

    def write_loop() -> None:
        i = 0
        while not stop.is_set():
            name = f"cm-{i}"
            try:
                core.create_namespaced_config_map("default", {"metadata": {"name": name},
                                                              "data": {"i": str(i)}})
            except Exception:
                return  # the server is gone: this write was never acknowledged
            acknowledged.append(name)
            i += 1

    writer = threading.Thread(target=write_loop)
    try:
        writer.start()
        while len(acknowledged) < 1000 and writer.is_alive():
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)  # no chance to flush or close anything
        process.wait(timeout=10)
        stop.set()
        writer.join(timeout=60)
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
    assert len(acknowledged) >= 1000

    process, core = start_server(db, kubeconfig)
    try:
        stored = {c.metadata.name: c for c in core.list_namespaced_config_map("default").items}
        missing = [name for name in acknowledged if name not in stored]
        assert missing == []
        # resourceVersions keep increasing after the restart
        last = max(int(c.metadata.resource_version) for c in stored.values())
        fresh = core.create_namespaced_config_map("default", {"metadata": {"name": "after"}})
        assert int(fresh.metadata.resource_version) > last
    finally:
        process.terminate()
        process.wait(timeout=10)
