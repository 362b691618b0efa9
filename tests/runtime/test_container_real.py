"""Real containers on the real kernel: lifecycle, isolation, hardening, limits, volumes, leaks."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from fromscratch.runtime import engine
from fromscratch.runtime.breakout import try_escape
from fromscratch.runtime.bundle import BundleError
from fromscratch.runtime.container import Container, ContainerError
from fromscratch.runtime.hardening import capability_mask
from fromscratch.runtime.spec import DEFAULT_CAPABILITIES
from fromscratch.runtime.state import NoSuchContainer

from .conftest import CGROUP_ROOT, host_mounts, needs_busybox, needs_root, our_cgroup_dirs

pytestmark = [needs_root, needs_busybox]


def run(store, states, args, image="busybox", **request):
    """Create, start and wait for a container; return (exit code, output)."""
    container = engine.create_from_image(image, {"args": args, **request}, store=store,
                                         states=states, mode="real", cgroup_root=CGROUP_ROOT)
    try:
        container.start()
        code = container.wait(30)
        return code, container.logs()
    finally:
        engine.remove(container)


def test_lifecycle_goes_created_running_stopped(store, states):
    # runc's states: PID 1 exists after create but the image's program runs only after start
    container = engine.create_from_image("busybox", {"args": ["sleep", "30"]}, store=store,
                                         states=states, mode="real", cgroup_root=CGROUP_ROOT)
    try:
        assert container.state()["status"] == "created"
        assert "sleep" not in Path(f"/proc/{container.pid}/cmdline").read_text()
        container.start()
        assert container.state()["status"] == "running"
        assert _eventually(lambda: Path(f"/proc/{container.pid}/comm").read_text() == "sleep\n")
        container.kill(signal.SIGKILL)
        assert container.wait(10) == -signal.SIGKILL
        assert container.state() == {**container.state(), "status": "stopped", "pid": 0}
    finally:
        engine.remove(container, force=True)
    with pytest.raises(NoSuchContainer):
        states.load(container.id)


def test_start_twice_and_delete_running_are_refused(store, states):
    container = engine.create_from_image("busybox", {"args": ["sleep", "30"]}, store=store,
                                         states=states, mode="real", cgroup_root=CGROUP_ROOT)
    try:
        container.start()
        with pytest.raises(ContainerError, match="it is running"):
            container.start()
        with pytest.raises(ContainerError, match="running"):
            container.delete()
    finally:
        engine.remove(container, force=True)


def test_command_runs_as_pid_1_with_its_own_hostname(store, states):
    code, output = run(store, states, ["sh", "-c", "echo $$; hostname"], hostname="box")
    assert (code, output.split()) == (0, ["1", "box"])


def test_missing_executable_fails_create_like_runc(store, states):
    with pytest.raises(ContainerError, match='exec: "nosuch": executable file not found'):
        engine.create_from_image("busybox", {"args": ["nosuch"]}, store=store, states=states,
                                 mode="real", cgroup_root=CGROUP_ROOT)
    assert states.all() == []


def test_init_layer_files_and_env_and_cwd(store, states):
    code, output = run(store, states, ["sh", "-c", "pwd; echo $GREETING; cat /etc/hostname; "
                                       "grep -c localhost /etc/hosts"],
                       hostname="web", env={"GREETING": "hi"}, cwd="/tmp")
    assert output.split() == ["/tmp", "hi", "web", "2"]


def test_minimal_dev_has_exactly_the_usual_devices(store, states):
    _, output = run(store, states, ["ls", "/dev"])
    assert set(output.split()) == {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm",
                                   "mqueue", "fd", "stdin", "stdout", "stderr", "ptmx"}


def test_masked_paths_are_masked(store, states):
    # /proc/keys lists the host's keys; masked, it reads as /dev/null; /sys/firmware is emptied
    _, output = run(store, states, ["sh", "-c", "wc -c < /proc/keys; ls /sys/firmware | wc -l"])
    assert output.split() == ["0", "0"]
    assert Path("/proc/keys").stat().st_mode  # the host still has it


def test_readonly_paths_and_sys_are_read_only(store, states):
    _, output = run(store, states, ["sh", "-c", "echo 1 > /proc/sys/kernel/ns_last_pid; echo $?; "
                                    "touch /sys/x; echo $?"])
    lines = output.splitlines()
    assert "Read-only file system" in lines[0] and lines[1] == "1" and lines[3] == "1"


def test_capabilities_no_new_privs_and_seccomp(store, states):
    wanted = "^(CapEff|CapBnd|NoNewPrivs|Seccomp):"
    _, output = run(store, states, ["grep", "-E", wanted, "/proc/self/status"])
    fields = dict(line.split(":\t") for line in output.splitlines())
    expected = capability_mask(DEFAULT_CAPABILITIES)
    assert int(fields["CapEff"], 16) == int(fields["CapBnd"], 16) == expected
    assert fields["NoNewPrivs"] == "1" and fields["Seccomp"] == "2"


def test_seccomp_denies_unshare_even_for_root(store, states):
    code, output = run(store, states, ["unshare", "-U", "true"])
    assert code != 0 and "Operation not permitted" in output


def test_chroot_escape_works_but_not_after_pivot_root(tmp_path):
    marker = f"/tmp/fromscratch-marker-{os.getpid()}"
    Path(marker).write_text("host")
    try:
        (tmp_path / "jail").mkdir()
        assert try_escape(tmp_path / "jail", marker, pivot=False) is True
        assert try_escape(tmp_path / "jail", marker, pivot=True) is False
    finally:
        os.unlink(marker)


def test_cgroup_limits_from_the_request_are_written(store, states):
    container = engine.create_from_image("busybox", {"args": ["sleep", "30"], "cpus": 0.25,
                                                     "memory": 32 << 20}, store=store, states=states,
                                         mode="real", cgroup_root=CGROUP_ROOT)
    try:
        dirs = {Path(d).parent.parent.name: Path(d) for d in container.record()["cgroup"]["dirs"]}
        assert int((dirs["memory"] / "memory.limit_in_bytes").read_text()) == 32 << 20
        assert int((dirs["cpu"] / "cpu.cfs_quota_us").read_text()) == 25_000
        assert container.pid in [int(p) for p in (dirs["memory"] / "cgroup.procs").read_text().split()]
    finally:
        engine.remove(container, force=True)
    assert not any(Path(d).exists() for d in dirs.values())


def test_memory_limit_kills_a_hog(store, states):
    # 16 MiB limit: a shell that keeps doubling a string gets OOM-killed (SIGKILL)
    code, _ = run(store, states, ["sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"],
                  memory=16 << 20)
    assert code == -signal.SIGKILL


def test_bind_volume_writes_land_on_the_host_and_ro_refuses(store, states, tmp_path):
    code, output = run(store, states, ["sh", "-c", "echo hi > /rw/f; echo x > /ro/f; echo $?"],
                       volumes=[f"{tmp_path}:/rw", f"{tmp_path}:/ro:ro"])
    assert (tmp_path / "f").read_text() == "hi\n"
    assert output.splitlines()[-1] == "1"


def test_volumes_stay_invisible_to_the_host_mount_table(store, states, tmp_path):
    before = host_mounts()
    container = engine.create_from_image("busybox", {"args": ["sleep", "30"],
                                                     "volumes": [f"{tmp_path}:/data", "/anon"]},
                                         store=store, states=states, mode="real", cgroup_root=CGROUP_ROOT)
    try:
        container.start()
        assert host_mounts() == before
        inside = Path(f"/proc/{container.pid}/mountinfo").read_text()
        assert " /data " in inside and " /anon " in inside
        anonymous = container.record()["anonymous_volumes"]
        assert len(anonymous) == 1 and Path(anonymous[0], "_data").is_dir()
    finally:
        engine.remove(container, force=True)
    assert not Path(anonymous[0]).exists()


def test_commit_keeps_changes_and_only_an_empty_volume_mount_point(store, states, tmp_path):
    (tmp_path / "secret").write_text("host data")
    container = engine.create_from_image("busybox", {"args": ["sh", "-c", "echo v1 > /etc/version"],
                                                     "volumes": [f"{tmp_path}:/data"]},
                                         store=store, states=states, mode="real", cgroup_root=CGROUP_ROOT)
    try:
        container.start()
        container.wait(10)
        engine.commit(container, "committed:test", store=store)
    finally:
        engine.remove(container)
    code, output = run(store, states, ["sh", "-c", "cat /etc/version; ls -A /data | wc -l; "
                                       "cat /etc/hostname"], image="committed:test", hostname="fresh")
    engine.remove_image("committed:test", store=store, states=states)
    assert output.split() == ["v1", "0", "fresh"]  # init files are not part of the image


def test_rmi_is_refused_while_a_container_uses_the_image(store, states):
    container = engine.create_from_image("busybox", {"args": ["true"]}, store=store, states=states,
                                         mode="real", cgroup_root=CGROUP_ROOT)
    try:
        with pytest.raises(ContainerError, match="conflict"):
            engine.remove_image("busybox", store=store, states=states)
    finally:
        engine.remove(container, force=True)


def test_exec_joins_the_running_container(store, states):
    container = engine.create_from_image("busybox", {"args": ["sleep", "30"], "hostname": "target"},
                                         store=store, states=states, mode="real", cgroup_root=CGROUP_ROOT)
    try:
        container.start()
        code, output = engine.exec_in(container, ["sh", "-c", "hostname; cat /proc/1/comm"])
        assert code == 0 and output.split() == ["target", "sleep"]
    finally:
        engine.remove(container, force=True)


def test_bad_bundle_is_refused_before_any_process(tmp_path, states):
    with pytest.raises(BundleError):
        Container.create("bad", tmp_path, states=states, cgroup_root=CGROUP_ROOT)
    assert states.all() == []


@pytest.mark.slow
def test_no_leaks_after_100_containers(store, states):
    # mounts, cgroups, processes and namespaces all go away with the containers
    before_mounts, before_children = host_mounts(), _children()
    for index in range(100):
        code, output = run(store, states, ["sh", "-c", f"echo {index}"], memory=64 << 20)
        assert (code, output.strip()) == (0, str(index))
    assert host_mounts() == before_mounts
    assert our_cgroup_dirs() == []
    assert _children() == before_children
    assert states.all() == [] and list(states.root.iterdir()) == []


def _children() -> set[int]:
    import psutil

    return {child.pid for child in psutil.Process().children(recursive=True)}


def _eventually(check, timeout: float = 5.0) -> bool:
    """The exec after `start` happens a moment later (as with runc): poll, bounded."""
    import time

    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_rootless_path_runs_inside_a_user_namespace(store, states):
    # what rootless mode does (user namespace, overlay with userxattr, no gid=5 on devpts),
    # exercised as root: uid 0 inside maps to our uid outside
    container = engine.create_from_image("busybox", {"args": ["sh", "-c", "cat /proc/self/uid_map; "
                                                             "echo x > /written; cat /written"]},
                                         store=store, states=states, mode="rootless", cgroup_root=CGROUP_ROOT)
    try:
        container.start()
        assert container.wait(10) == 0
        uid_map, written = container.logs().split("\n")[:2]
        # the host's own map is "0 0 4294967295": a one-line map proves a new user namespace
        assert uid_map.split() == ["0", str(os.geteuid()), "1"] and written == "x"
    finally:
        engine.remove(container, force=True)
