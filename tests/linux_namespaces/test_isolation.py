"""What a process in new namespaces sees — checked on the real kernel and the simulated one.

The rules come from namespaces(7), pid_namespaces(7), uts_namespaces(7),
mount_namespaces(7) and user_namespaces(7); both backends must obey them.
"""

from __future__ import annotations

import signal

import pytest

from fromscratch.namespaces import ChildError, ProcessNotFound, UnknownNamespace

HOSTNAME = "box"


def test_first_process_in_new_pid_namespace_is_pid_1(backend) -> None:
    # pid_namespaces(7): the first process created in a new namespace has PID 1
    assert backend.run(backend.getpid, namespaces={"pid"}) == 1


def test_without_pid_namespace_the_pid_is_the_same_inside_and_out(backend) -> None:
    with backend.spawn(lambda: backend.pause(10), namespaces={"uts"}) as process:
        assert backend.nspid(process.pid) == [process.pid]


def test_nspid_lists_outer_then_inner_pid(backend) -> None:
    # proc(5): NSpid holds the PID in each namespace, outermost first
    with backend.spawn(lambda: backend.pause(10), namespaces={"pid"}) as process:
        assert backend.nspid(process.pid) == [process.pid, 1]


def test_hostname_is_private_to_the_uts_namespace(backend) -> None:
    outside = backend.gethostname()
    seen = backend.run(backend.gethostname, namespaces={"uts"}, hostname=HOSTNAME)
    assert seen == HOSTNAME
    assert backend.gethostname() == outside


def test_new_namespaces_have_new_inodes_and_the_rest_are_shared(backend) -> None:
    # two processes share a namespace exactly when /proc/PID/ns/KIND inodes match
    mine = backend.namespace_ids()
    with backend.spawn(lambda: backend.pause(10), namespaces={"pid", "uts"}) as process:
        theirs = backend.namespace_ids(process.pid)
    assert theirs["pid"] != mine["pid"] and theirs["uts"] != mine["uts"]
    assert theirs["net"] == mine["net"] and theirs["mnt"] == mine["mnt"]


def test_ps_tells_the_truth_only_after_proc_is_remounted(backend) -> None:
    # a proc mount shows the PID namespace of whoever mounted it
    stale = backend.run(backend.pids, namespaces={"pid", "mnt"}, mount_proc=False)
    fresh = backend.run(backend.pids, namespaces={"pid", "mnt"})
    assert len(stale) > 1 and 1 in stale  # the host's processes, the host's init
    assert fresh == [1]


def test_ps_command_inside_lists_only_itself(backend) -> None:
    with backend.spawn(["ps", "-e"], namespaces={"pid", "mnt"}, capture_output=True) as process:
        assert process.wait() == 0
        lines = process.output().strip().splitlines()
    assert lines[0].split()[0] == "PID"
    assert [line.split()[0] for line in lines[1:]] == ["1"]


def test_pid_1_ignores_sigterm_it_has_no_handler_for(backend) -> None:
    # pid_namespaces(7): only signals with handlers reach init, except SIGKILL from outside
    with backend.spawn(lambda: backend.pause(20), namespaces={"pid"}) as process:
        process.terminate()
        with pytest.raises(TimeoutError):
            process.wait(0.3)
        process.kill(signal.SIGKILL)
        assert process.wait(5) == -signal.SIGKILL


def test_tiny_init_forwards_sigterm_and_exits_128_plus_n(backend) -> None:
    # docker run --init: SIGTERM reaches the program; init reports 128+15 like a shell
    with backend.spawn(lambda: backend.pause(20), namespaces={"pid"}, init=True) as process:
        process.terminate()
        assert process.wait(5) == 128 + signal.SIGTERM


def test_under_tiny_init_the_program_is_pid_2(backend) -> None:
    assert backend.run(backend.getpid, namespaces={"pid"}, init=True) == 2


def test_user_namespace_makes_us_root_inside(backend) -> None:
    uid, uid_map = backend.run(lambda: (backend.getuid(), backend.read_id_map("self")),
                               namespaces={"user"}, uid_map=[(0, 0, 1)], gid_map=[(0, 0, 1)])
    assert uid == 0
    assert uid_map == [(0, 0, 1)]


def test_unmapped_uid_shows_as_overflow_nobody(backend) -> None:
    # user_namespaces(7): an unmapped ID appears as the overflow ID, 65534
    uid = backend.run(backend.getuid, namespaces={"user"}, uid_map=[(0, 100000, 10)],
                      gid_map=[(0, 100000, 10)])
    assert uid == 65534


def test_mount_in_new_mount_namespace_is_invisible_outside(backend) -> None:
    def mount_and_list() -> list[str]:
        backend.mount("tmpfs", "/mnt", "tmpfs")
        return backend.mount_points()

    inside = backend.run(mount_and_list, namespaces={"mnt"})
    assert inside.count("/mnt") == backend.mount_points().count("/mnt") + 1


def test_sethostname_and_mount_refuse_the_hosts_namespaces(backend) -> None:
    before = backend.gethostname()
    try:
        with pytest.raises(PermissionError, match="host's own uts"):
            backend.sethostname("oops")
        with pytest.raises(PermissionError, match="host's own mnt"):
            backend.mount("tmpfs", "/mnt", "tmpfs")
    finally:
        if backend.mode == "real" and backend.gethostname() != before:  # repair, then fail
            import subprocess

            subprocess.run(["hostname", before], check=True)
            subprocess.run(["umount", "/mnt"], check=False)


def test_host_guard_also_holds_in_a_child_sharing_our_namespaces(backend) -> None:
    # a child spawned without a new uts namespace is still on the host's hostname
    def try_rename() -> str:
        try:
            backend.sethostname("oops")
        except PermissionError:
            return "refused"
        return "renamed"

    assert backend.run(try_rename, namespaces={"ipc"}) == "refused"


def test_joining_another_process_namespace_shares_its_inode(backend) -> None:
    # setns(2), as nsenter does: the joiner ends up in the same namespace
    with backend.spawn(lambda: backend.pause(10), namespaces={"uts"}, hostname=HOSTNAME) as box:
        seen = backend.run(backend.gethostname, join={"uts": box.pid})
        assert seen == HOSTNAME
        assert backend.hostname_of(box.pid) == HOSTNAME


def test_killing_pid_1_takes_the_whole_namespace_down(backend) -> None:
    # when init of a PID namespace dies, the kernel kills every process in it
    def parent_of_a_sleeper() -> None:
        backend.spawn(lambda: backend.pause(30))  # a second process in the same namespace
        backend.pause(30)

    with backend.spawn(parent_of_a_sleeper, namespaces={"pid", "mnt"}) as box:
        for _ in range(200):
            members = [p for p in backend.sharing(backend.pids(), ["pid"]).get(
                ("pid", backend.ns_inode(box.pid, "pid")), [])]
            if len(members) >= 2:
                break
            import time

            time.sleep(0.01)
        assert len(members) >= 2
        box.kill()
        box.wait(5)
        for pid in members:
            with pytest.raises(ProcessNotFound):
                _wait_gone(backend, pid)


def _wait_gone(backend, pid: int) -> None:
    import time

    for _ in range(200):
        backend.namespace_ids(pid)
        time.sleep(0.01)


def test_callable_exception_comes_back_with_its_type(backend) -> None:
    with pytest.raises(ChildError, match="ZeroDivisionError"):
        backend.run(lambda: 1 / 0, namespaces={"uts"})


@pytest.mark.parametrize("bad", [{"pid", "bogus"}, ["network"]])
def test_unknown_namespace_is_refused_before_anything_starts(backend, bad) -> None:
    with pytest.raises(UnknownNamespace):
        backend.spawn(lambda: None, namespaces=bad)


def test_pid_that_no_longer_exists_is_named(backend) -> None:
    with backend.spawn(lambda: None) as process:
        pid = process.pid
        process.wait(5)
    with pytest.raises(ProcessNotFound, match=str(pid)):
        backend.namespace_ids(pid)
    with pytest.raises(ProcessNotFound):
        backend.spawn(lambda: None, join={"uts": pid})


def test_missing_command_is_named(backend) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-command"):
        backend.spawn(["no-such-command"], namespaces={"uts"})


@pytest.mark.parametrize("options, problem", [
    ({"hostname": "x"}, "needs a new 'uts'"),
    ({"namespaces": {"pid"}, "mount_proc": True}, "needs new 'pid' and 'mnt'"),
    ({"uid_map": [(0, 0, 1)]}, "need a new 'user'"),
    ({"init": True}, "needs a new 'pid'"),
    ({"namespaces": {"uts"}, "join": {"uts": 1}}, "both create and join"),
])
def test_contradictory_options_are_refused(backend, options, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        backend.spawn(lambda: None, **options)


def test_bad_id_map_is_refused_before_the_process_starts(backend) -> None:
    with pytest.raises(ValueError, match="overlap"):
        backend.spawn(lambda: None, namespaces={"user"}, uid_map=[(0, 0, 10), (5, 100, 1)])


@pytest.mark.parametrize("kind", ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"])
def test_each_kind_of_namespace_can_be_created_alone(backend, kind) -> None:
    # namespaces(7) lists eight kinds; asking for one changes that one only
    mine = backend.namespace_ids()
    with backend.spawn(lambda: backend.pause(10), namespaces={kind}) as process:
        theirs = process.namespace_ids()
    changed = {k for k in mine if mine[k] != theirs.get(k)}
    assert changed == {kind}
