"""Pods with real processes: the plain-process runtime, and isolated pods around a pause process."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from fromscratch.image.base import find_busybox
from fromscratch.runtime.clock import FakeClock
from fromscratch.runtime.runtimes import IsolatedRuntime, ProcessRuntime

from .conftest import CGROUP_ROOT, host_mounts, needs_busybox, needs_root, our_cgroup_dirs

BUSYBOX = str(find_busybox() or "busybox")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pod(containers, **spec):
    return {"metadata": {"name": "web"}, "spec": {"containers": containers, **spec}}


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ---------------------------------------------------------------- plain processes

@needs_busybox
def test_process_pod_containers_talk_over_localhost():
    port = free_port()
    server = {"name": "server", "command": [BUSYBOX, "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/etc"],
              "readinessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1}}
    fetch = f"{BUSYBOX} wget -q -O - http://127.0.0.1:{port}/hostname"
    client = {"name": "client", "command": [BUSYBOX, "sh", "-c",
                                            f"sleep 0.5; {fetch} >/dev/null && echo fetched; sleep 30"]}
    p = ProcessRuntime().run_pod(pod([server, client]))
    try:
        assert p.run_until(lambda q: "fetched" in q.logs("client") and q.run_of("server").ready, 10)
    finally:
        p.terminate(grace=2)
    assert not p.run_of("server").running


@needs_busybox
def test_process_pod_volume_paths_are_rewritten_to_the_host_directory():
    writer = {"name": "w", "command": [BUSYBOX, "sh", "-c", "echo hello > /data/f; sleep 30"],
              "volumeMounts": [{"name": "v", "mountPath": "/data"}]}
    p = ProcessRuntime().run_pod(pod([writer], volumes=[{"name": "v", "emptyDir": {}}]))
    try:
        path = p.sandbox.volume_path("v")
        assert p.run_until(lambda q: (path / "f").exists(), 10)
        assert (path / "f").read_text() == "hello\n"
    finally:
        p.terminate(grace=1)
    assert not path.exists()  # emptyDir dies with the pod


@needs_busybox
def test_process_pod_restart_waits_for_the_backoff_on_a_fake_clock():
    # real processes, virtual back-off: advancing the clock lets the restart happen
    clock = FakeClock()
    p = ProcessRuntime(clock).run_pod(pod([{"name": "c", "command": [BUSYBOX, "false"]}]))
    try:
        p.sync()
        wait_for(lambda: (p.sync(), "waiting" in p.run_of("c").state)[1])
        clock.advance(9)
        p.sync()
        assert p.run_of("c").restart_count == 0
        clock.advance(1)
        p.sync()
        assert p.run_of("c").restart_count == 1
    finally:
        p.terminate(grace=1)


def test_process_pod_missing_executable_is_a_start_error():
    p = ProcessRuntime(FakeClock()).run_pod(pod([{"name": "c", "command": ["/no/such/binary"]}],
                                                restartPolicy="Never"))
    p.sync()
    state = p.run_of("c").state["terminated"]
    assert (state["exitCode"], state["reason"]) == (128, "StartError")
    assert p.phase == "Failed"
    p.terminate()


# ---------------------------------------------------------------- isolated pods

def isolated():
    return IsolatedRuntime(cgroup_root=f"{CGROUP_ROOT}/pods")


@needs_root
@needs_busybox
def test_isolated_pod_shares_localhost_but_not_with_the_host(store):
    port = free_port()
    server = {"name": "server", "image": "busybox", "command": ["httpd", "-f", "-p", str(port), "-h", "/etc"],
              "readinessProbe": {"httpGet": {"port": port, "path": "/hostname"}, "periodSeconds": 1}}
    client = {"name": "client", "image": "busybox",
              "command": ["sh", "-c", f"sleep 1; wget -q -O - http://localhost:{port}/hostname; sleep 60"]}
    p = isolated().run_pod(pod([server, client]))
    try:
        assert p.run_until(lambda q: q.logs("client").strip() == "web" and q.condition("Ready"), 15)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        p.terminate(grace=1)


@needs_root
@needs_busybox
def test_isolated_pod_shares_net_ipc_uts_with_the_pause_but_not_pid():
    sleeper = {"name": "a", "image": "busybox", "command": ["sleep", "60"]}
    other = {"name": "b", "image": "busybox", "command": ["sleep", "61"]}
    p = isolated().run_pod(pod([sleeper, other]))
    try:
        p.sync()
        pids = p.sandbox.pids()
        for kind in ("net", "ipc", "uts"):
            links = {os.readlink(f"/proc/{pid}/ns/{kind}") for pid in pids.values()}
            assert len(links) == 1 and links != {os.readlink(f"/proc/self/ns/{kind}")}
        assert len({os.readlink(f"/proc/{pid}/ns/pid") for pid in pids.values()}) == 3
        assert len({os.readlink(f"/proc/{pid}/ns/mnt") for pid in pids.values()}) == 3
    finally:
        p.terminate(grace=1)


@needs_root
@needs_busybox
def test_share_process_namespace_lets_containers_see_each_other():
    watcher = {"name": "watcher", "image": "busybox", "command": ["sh", "-c", "sleep 1; ps; sleep 60"]}
    target = {"name": "target", "image": "busybox", "command": ["sleep", "3600"]}
    p = isolated().run_pod(pod([watcher, target], shareProcessNamespace=True))
    try:
        assert p.run_until(lambda q: "sleep 3600" in q.logs("watcher"), 10)
        first = p.logs("watcher").splitlines()[1].split()
        assert first[0] == "1"  # the pause process is PID 1 of the shared namespace
    finally:
        p.terminate(grace=1)


@needs_root
@needs_busybox
def test_isolated_pod_hostname_emptydir_init_and_exec_probe():
    init = {"name": "init", "image": "busybox", "command": ["sh", "-c", "hostname > /data/name"],
            "volumeMounts": [{"name": "v", "mountPath": "/data"}]}
    app = {"name": "app", "image": "busybox", "command": ["sleep", "60"],
           "volumeMounts": [{"name": "v", "mountPath": "/data", "readOnly": True}],
           "readinessProbe": {"exec": {"command": ["cat", "/data/name"]}, "periodSeconds": 1}}
    p = isolated().run_pod(pod([app], initContainers=[init], volumes=[{"name": "v", "emptyDir": {}}]))
    try:
        assert p.run_until(lambda q: q.condition("Ready"), 10)
        assert (p.sandbox.volume_path("v") / "name").read_text() == "web\n"
        assert p.status()["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    finally:
        p.terminate(grace=1)


@needs_root
@needs_busybox
def test_isolated_pods_leave_nothing_behind():
    before = host_mounts()
    for _ in range(3):
        p = isolated().run_pod(pod([{"name": "c", "image": "busybox", "command": ["sleep", "60"],
                                     "resources": {"limits": {"memory": "32Mi", "cpu": "250m"}}}]))
        p.run_until(lambda q: q.run_of("c").running, 10)
        directory = Path(p.sandbox.directory)
        pause = p.sandbox.pause.pid
        p.terminate(grace=0.5)
        assert not directory.exists() and not Path(f"/proc/{pause}").exists()
    assert host_mounts() == before
    assert [d for d in our_cgroup_dirs() if "/pods/" in d] == []


@needs_root
@needs_busybox
def test_host_network_pid_and_ipc_share_the_nodes_namespaces(tmp_path):
    app = {"name": "app", "image": "busybox", "command": ["sleep", "60"],
           "volumeMounts": [{"name": "host", "mountPath": "/host"}]}
    p = isolated().run_pod(pod([app], hostNetwork=True, hostPID=True, hostIPC=True,
                               volumes=[{"name": "host", "hostPath": {"path": str(tmp_path / "made"),
                                                                      "type": "DirectoryOrCreate"}}]))
    try:
        p.sync()
        pid = p.sandbox.pids()["app"]
        for kind in ("net", "pid", "ipc", "uts"):
            assert os.readlink(f"/proc/{pid}/ns/{kind}") == os.readlink(f"/proc/self/ns/{kind}")
        assert os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
        assert (tmp_path / "made").is_dir()  # hostPath DirectoryOrCreate
    finally:
        p.terminate(grace=0.5)
    assert (tmp_path / "made").is_dir()  # a hostPath outlives the pod


def test_hostpath_directory_that_does_not_exist_is_refused(tmp_path):
    from fromscratch.runtime.sandbox import SandboxError

    with pytest.raises(SandboxError, match="not a directory"):
        ProcessRuntime().run_pod(pod([{"name": "c", "command": ["true"]}],
                                     volumes=[{"name": "v", "hostPath": {"path": str(tmp_path / "no"),
                                                                         "type": "Directory"}}]))


@needs_root
@needs_busybox
def test_isolated_pod_outlives_the_thread_that_created_it():
    # a kubelet creates pods from worker threads: the pause must not die with the thread
    import threading

    made = []
    worker = threading.Thread(target=lambda: made.append(isolated().run_pod(
        pod([{"name": "c", "image": "busybox", "command": ["sleep", "60"]}]))))
    worker.start()
    worker.join()
    p = made[0]
    try:
        assert p.run_until(lambda q: q.run_of("c").running, 10)
        time.sleep(0.2)
        assert Path(f"/proc/{p.sandbox.pause.pid}").exists()
        assert p.sandbox.pause.poll() is None
    finally:
        p.terminate(grace=0.5)
