"""How fast is our API server, with the in-memory and the SQLite store?

Measured through the official ``kubernetes`` client, as a controller would see it:

- creates/s and gets/s of ConfigMaps (one client, one connection);
- a list of 5,000 objects (seconds per list);
- watch latency: from the start of a create call to the moment a
  ``watch.Watch().stream`` in another thread yields the ADDED event.

Each figure is printed for both back-ends, with the ratio memory / SQLite.
Two peers measured in the same run put the numbers in context: the store
alone, in process, without HTTP (what the HTTP layer costs), and plain
``sqlite3`` inserts with the same ``synchronous=FULL`` policy, one
transaction per row (what our store adds on top of SQLite).  There is no
kube-apiserver + etcd on this machine to compare with; upstream's own
scalability targets are in the Kubernetes SIG Scalability documents.

Run: ``.venv/bin/python bench/api_server.py [--objects 2000] [--list 5000]``.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

from kubernetes import client, watch

from fromscratch.api.server import APIServer
from fromscratch.api.store import open_store


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def through_the_client(store: str, objects: int, list_size: int, samples: int) -> dict:
    figures: dict[str, float] = {}
    with APIServer(store=store) as srv:
        core = client.CoreV1Api(srv.client())
        core.create_namespace({"metadata": {"name": "bench"}})
        start = time.perf_counter()
        for i in range(objects):
            core.create_namespaced_config_map("bench", {"metadata": {"name": f"cm-{i}"},
                                                        "data": {"i": str(i)}})
        figures["creates/s"] = rate(objects, time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(objects):
            core.read_namespaced_config_map(f"cm-{i}", "bench")
        figures["gets/s"] = rate(objects, time.perf_counter() - start)
        for i in range(objects, list_size):
            core.create_namespaced_config_map("bench", {"metadata": {"name": f"cm-{i}"}})
        start = time.perf_counter()
        raw = core.list_namespaced_config_map("bench", _preload_content=False).read()
        figures[f"list {list_size}, raw (s)"] = time.perf_counter() - start
        assert raw.count(b'"name":"cm-') == list_size
        start = time.perf_counter()
        typed = core.list_namespaced_config_map("bench")
        figures[f"list {list_size}, typed (s)"] = time.perf_counter() - start
        assert len(typed.items) == list_size
        figures["watch latency median (ms)"], figures["watch latency p95 (ms)"] = \
            watch_latency(core, samples)
    return figures


def watch_latency(core: client.CoreV1Api, samples: int) -> tuple[float, float]:
    core.create_namespace({"metadata": {"name": "latency"}})
    seen: dict[str, float] = {}
    ready = threading.Event()

    def watcher() -> None:
        stream = watch.Watch()
        rv = core.list_namespaced_config_map("latency").metadata.resource_version
        ready.set()
        for event in stream.stream(core.list_namespaced_config_map, "latency",
                                   resource_version=rv, timeout_seconds=60):
            seen[event["object"].metadata.name] = time.perf_counter()
            if len(seen) == samples:
                stream.stop()

    thread = threading.Thread(target=watcher)
    thread.start()
    ready.wait()
    time.sleep(0.2)  # let the watch request reach the server
    sent: dict[str, float] = {}
    for i in range(samples):
        name = f"lat-{i}"
        sent[name] = time.perf_counter()
        core.create_namespaced_config_map("latency", {"metadata": {"name": name}})
        time.sleep(0.01)  # one event at a time: latency, not throughput
    thread.join(timeout=60)
    delays = sorted((seen[n] - sent[n]) * 1000 for n in sent if n in seen)
    return statistics.median(delays), delays[int(len(delays) * 0.95) - 1]


def store_alone(spec: str, objects: int) -> dict:
    store = open_store(spec)
    start = time.perf_counter()
    for i in range(objects):
        store.create(f"/registry/core/configmaps/bench/cm-{i}", {"metadata": {"name": f"cm-{i}"}})
    creates = rate(objects, time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(objects):
        store.get(f"/registry/core/configmaps/bench/cm-{i}")
    gets = rate(objects, time.perf_counter() - start)
    store.close()
    return {"creates/s": creates, "gets/s": gets}


def plain_sqlite(path: Path, objects: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (key TEXT PRIMARY KEY, value TEXT)")
    start = time.perf_counter()
    for i in range(objects):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?, ?)", (f"cm-{i}", '{"metadata":{}}'))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return rate(objects, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--list", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "memory": through_the_client("memory", args.objects, args.list, args.samples),
            "sqlite": through_the_client(f"sqlite:{Path(tmp) / 'api.db'}", args.objects,
                                         args.list, args.samples),
        }
        alone = {"memory": store_alone("memory", args.objects),
                 "sqlite": store_alone(f"sqlite:{Path(tmp) / 'alone.db'}", args.objects)}
        raw = plain_sqlite(Path(tmp) / "plain.db", args.objects)

    print(f"API server through the official client ({args.objects} objects)")
    print(f"{'figure':<28}{'memory':>12}{'sqlite':>12}{'memory/sqlite':>15}")
    for figure in results["memory"]:
        m, s = results["memory"][figure], results["sqlite"][figure]
        print(f"{figure:<28}{m:>12.3f}{s:>12.3f}{m / s:>15.2f}")
    print("\npeers, same run")
    for backend in ("memory", "sqlite"):
        for figure in ("creates/s", "gets/s"):
            alone_rate = alone[backend][figure]
            over_http = results[backend][figure]
            print(f"store alone, {backend:<6} {figure:<10}{alone_rate:>12.1f}   "
                  f"HTTP + client reach {over_http / alone_rate:.2%} of it")
    print(f"plain sqlite3 inserts/s    {raw:>12.1f}   our SQLite store creates reach "
          f"{alone['sqlite']['creates/s'] / raw:.2%} of it")


if __name__ == "__main__":
    main()
