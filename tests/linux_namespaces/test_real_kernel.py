"""Real-kernel checks: compared with util-linux, rootless as an ordinary user, init duties.

These need the Linux kernel and root (CI runs as root); the rootless ones drop
to uid 65534 in a forked child first, the way a learner without root runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from fromscratch.linux import proc, spawn, userns
from fromscratch.linux.namespaces import clone_flags

from .conftest import as_nobody, needs_root

pytestmark = [needs_root, pytest.mark.usefixtures("leak_check")]


def _state(pid: int) -> str:
    return proc.status_field(pid, "State").split()[0]


def test_unshare_1_makes_the_same_kinds_of_namespace_we_do() -> None:
    # util-linux's unshare is the reference: the same namespaces differ from ours
    ours = proc.namespace_ids()
    probe = ("import os;print(' '.join(k+'='+os.readlink('/proc/self/ns/'+k) "
             "for k in ('uts','pid','net','mnt','ipc')))")
    out = subprocess.run(["unshare", "--fork", "--pid", "--uts", "--ipc", "python3", "-c", probe],
                         capture_output=True, text=True, check=True).stdout.split()
    theirs = {item.split("=")[0]: int(item.split("[")[1][:-1]) for item in out}
    with spawn.spawn(lambda: time.sleep(10), namespaces={"pid", "uts", "ipc"}) as mine:
        mine_ids = mine.namespace_ids()
    for kind in ("uts", "pid", "ipc"):
        assert theirs[kind] != ours[kind] and mine_ids[kind] != ours[kind]
    for kind in ("net", "mnt"):
        assert theirs[kind] == ours[kind] == mine_ids[kind]


def test_nsenter_sees_the_hostname_we_set() -> None:
    # join our process's UTS namespace with util-linux nsenter and ask `hostname`
    with spawn.spawn(lambda: time.sleep(10), namespaces={"uts"}, hostname="checked") as box:
        out = subprocess.run(["nsenter", "-t", str(box.pid), "-u", "hostname"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert out == "checked"
    assert socket.gethostname() != "checked"


def test_real_ps_inside_agrees_with_our_proc_listing() -> None:
    with spawn.spawn(["ps", "-eo", "pid,comm"], namespaces={"pid", "mnt"},
                     capture_output=True) as box:
        box.wait(10)
        lines = box.output().split()
    assert lines == ["PID", "COMMAND", "1", "ps"]


def test_without_init_an_orphan_stays_a_zombie() -> None:
    # the target is PID 1 but never wait()s: the kernel re-parents orphans to it
    def leave_an_orphan_zombie() -> str:
        if os.fork() == 0:  # child: start a grandchild and exit, orphaning it
            if os.fork() == 0:
                os._exit(0)
            os._exit(0)
        time.sleep(0.3)
        os.waitpid(-1, 0)  # reap our own child only
        time.sleep(0.3)
        return " ".join(_state(pid) for pid in proc.pids() if pid != 1)

    states = spawn.run(leave_an_orphan_zombie, namespaces={"pid", "mnt"})
    assert "Z" in states.split()


def test_tiny_init_reaps_orphans() -> None:
    def leave_an_orphan() -> str:
        if os.fork() == 0:
            if os.fork() == 0:
                os._exit(0)
            os._exit(0)
        time.sleep(0.3)
        os.waitpid(-1, 0)
        time.sleep(0.3)
        return " ".join(_state(pid) for pid in proc.pids() if pid not in (1, os.getpid()))

    states = spawn.run(leave_an_orphan, namespaces={"pid", "mnt"}, init=True)
    assert "Z" not in states.split()


def test_pid_translation_between_namespaces() -> None:
    with spawn.spawn(lambda: time.sleep(10), namespaces={"pid"}) as box:
        assert proc.pid_in_namespace_of(box.pid, box.pid) == 1
        assert proc.pid_in_namespace_of(box.pid, os.getpid()) == box.pid
        with pytest.raises(LookupError, match="not visible"):
            proc.pid_in_namespace_of(os.getpid(), box.pid)


def test_before_exec_hook_runs_inside_before_the_command() -> None:
    marker = "/tmp/fromscratch-hook-ran"
    with spawn.spawn(["cat", marker], namespaces={"mnt"}, capture_output=True,
                     before_exec=lambda: _mount_tmp_with(marker)) as box:
        assert box.wait(10) == 0
        assert box.output() == "inside\n"
    assert not os.path.exists(marker)  # the tmpfs lived in the child's mount namespace only


def _mount_tmp_with(path: str) -> None:
    from fromscratch.linux import syscalls

    syscalls.mount("tmpfs", "/tmp", "tmpfs")
    with open(path, "w") as handle:
        handle.write("inside\n")


def test_learners_clone_flags_decide_what_the_kernel_creates() -> None:
    # a wrong clone_flags plugged in really changes the isolation (here: no uts)
    from fromscratch import exercises

    def only_pid(names: object) -> int:
        return 0x20000000  # CLONE_NEWPID, whatever was asked

    with exercises.using(only_pid, name="clone_flags"):
        with spawn.spawn(lambda: time.sleep(10), namespaces={"pid", "uts"}) as box:
            ids = box.namespace_ids()
    assert ids["uts"] == proc.ns_inode("self", "uts")
    assert ids["pid"] != proc.ns_inode("self", "pid")


# ---------------------------------------------------------------- rootless

def test_rootless_user_gets_root_inside_its_own_user_namespace() -> None:
    def inside() -> tuple:
        return spawn.run(lambda: (os.getuid(), os.getpid(), socket.gethostname(),
                                  userns.read_id_map("self")),
                         namespaces={"user", "pid", "uts", "mnt", "ipc", "net"},
                         hostname="rootless")

    uid, pid, hostname, uid_map = as_nobody(inside)
    assert (uid, pid, hostname) == (0, 1, "rootless")
    assert uid_map == [(0, 65534, 1)]


def test_rootless_user_without_user_namespace_is_told_why() -> None:
    with pytest.raises(PermissionError, match="needs root, or a new user namespace"):
        as_nobody(lambda: spawn.run(lambda: None, namespaces={"uts"}))


def test_rootless_user_cannot_map_someone_elses_uid() -> None:
    with pytest.raises(PermissionError, match="only one's own ID"):
        as_nobody(lambda: spawn.run(lambda: None, namespaces={"user"}, uid_map=[(0, 0, 1)]))


def test_rootless_process_is_still_nobody_on_the_host() -> None:
    # root inside, but the kernel sees the outside uid: /proc/PID/status Uid on the host
    def inside() -> int:
        with spawn.spawn(lambda: time.sleep(10), namespaces={"user"}) as box:
            return int(proc.status_field(box.pid, "Uid").split()[0])

    assert as_nobody(inside) == 65534


def test_dead_pid_for_namespace_inspection_is_named() -> None:
    process = spawn.spawn(lambda: None)
    process.wait(5)
    with pytest.raises(proc.ProcessNotFound, match=f"PID {process.pid}"):
        proc.namespace_ids(process.pid)
    with pytest.raises(proc.ProcessNotFound):
        proc.nspid(process.pid)
    assert clone_flags(()) == 0


def test_rootless_backend_adds_a_user_namespace_and_simulates_netns() -> None:
    # rootless mode: a user namespace first (as rootless Podman), named netns need root
    from fromscratch.namespaces import RealBackend

    def inside() -> tuple:
        rootless = RealBackend(rootless=True)
        seen = rootless.run(lambda: (rootless.getpid(), rootless.gethostname(), os.getuid()),
                            namespaces={"pid", "uts", "mnt"}, hostname="rl")
        with rootless.NetworkNamespace("rl-net") as space:
            return seen, space.mode

    assert as_nobody(inside) == ((1, "rl", 0), "simulated")
