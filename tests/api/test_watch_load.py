"""Watch under load: 50 concurrent watchers, 10,000 objects created, updated and deleted.

Every watcher must see every event, in resourceVersion order, none lost.  The
server runs in its own process (as kube-apiserver would); the writes go
through its HTTP API from a few writer threads, the watchers read raw HTTP
streams, exactly as client-go's reflectors do.
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

WATCHERS = 50
OBJECTS = 10_000
WRITERS = 4
TOKEN = "watch-load-token"


def start_server(tmp_path: Path) -> tuple[subprocess.Popen, int, ssl.SSLContext]:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "fromscratch", "apiserver", "--admin-token", TOKEN,
         "--kubeconfig", str(kubeconfig), "--history", "40000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    match = re.search(r"https://127\.0\.0\.1:(\d+)", line)
    assert match, f"the server did not start: {line!r}"
    process.stdout.readline()  # the kubeconfig line: written by now
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    import base64

    context = ssl.create_default_context(
        cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    return process, int(match.group(1)), context


def connect(port: int, context: ssl.SSLContext) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=120)


HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def call(conn: http.client.HTTPSConnection, method: str, path: str, body=None) -> dict:
    headers = dict(HEADERS)
    if method == "PATCH":
        headers["Content-Type"] = "application/merge-patch+json"
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    response = conn.getresponse()
    data = json.loads(response.read())
    assert response.status < 300, data
    return data


@pytest.mark.slow
def test_fifty_watchers_see_every_event_in_order(tmp_path):
    process, port, context = start_server(tmp_path)
    base = "/api/v1/namespaces/default/configmaps"
    try:
        start_rv = call(connect(port, context), "GET", base)["metadata"]["resourceVersion"]
        received: list[list[tuple[str, int]]] = [[] for _ in range(WATCHERS)]
        ready = threading.Barrier(WATCHERS + 1)

        def watch(index: int) -> None:
            conn = connect(port, context)
            conn.request("GET", f"{base}?watch=true&resourceVersion={start_rv}"
                                f"&timeoutSeconds=600", headers=HEADERS)
            response = conn.getresponse()
            ready.wait()
            events, pending = received[index], b""
            while len(events) < 3 * OBJECTS:
                data = response.read1(1 << 16)  # whatever has arrived, without waiting for more
                if not data:
                    break
                *lines, pending = (pending + data).split(b"\n")
                for line in lines:
                    event = json.loads(line)
                    rv = int(event["object"]["metadata"]["resourceVersion"])
                    events.append((event["type"], rv))
            conn.close()

        def write(writer: int) -> None:
            conn = connect(port, context)
            names = [f"w{writer}-{i}" for i in range(writer, OBJECTS, WRITERS)]
            for name in names:
                call(conn, "POST", base, {"metadata": {"name": name}, "data": {"v": "1"}})
            for name in names:
                call(conn, "PATCH", f"{base}/{name}", {"data": {"v": "2"}})
            for name in names:
                call(conn, "DELETE", f"{base}/{name}")
            conn.close()

        with ThreadPoolExecutor(WATCHERS) as watchers:
            futures = [watchers.submit(watch, i) for i in range(WATCHERS)]
            ready.wait()
            started = time.monotonic()
            with ThreadPoolExecutor(WRITERS) as writers:
                for done in [writers.submit(write, w) for w in range(WRITERS)]:
                    done.result()
            for future in futures:
                future.result(timeout=120)
        elapsed = time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=10)

    expected_rvs = list(range(int(start_rv) + 1, int(start_rv) + 1 + 3 * OBJECTS))
    for events in received:
        assert [rv for _, rv in events] == expected_rvs  # all of them, in order, no gaps
        assert [t for t, _ in events].count("DELETED") == OBJECTS
    print(f"{3 * OBJECTS} events x {WATCHERS} watchers in {elapsed:.1f} s")
