"""cgroup v2 specifics: subtree_control delegation, no internal processes, cgroup.kill.

Controllers are checked on the simulated v2 kernel (this host's real v2 mount owns none of
cpu/memory/pids); the core v2 features run on the real cgroup2 mount too.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from fromscratch.linux.cgroups import CgroupError, ControllerUnavailable, open_cgroup
from fromscratch.linux.cgroups_workloads import BurnCPU, Sleep
from fromscratch.sim.cgroups import SimKernel

from .conftest import HAS_V2, TEST_ROOT, V2_CONTROLLERS, needs_v2


def test_controllers_are_handed_down_through_our_own_ancestors():
    kernel = SimKernel(2)
    with open_cgroup("app/web", kernel=kernel, root=TEST_ROOT) as group:
        parent = f"/sys/fs/cgroup/{TEST_ROOT}/app"
        assert kernel.read(f"{parent}/cgroup.subtree_control").split() == ["cpu", "memory", "pids"]
        assert group.controllers() == ["cpu", "memory", "pids"]
        assert group.fs.exists(f"{group.directory}/cpu.max")


def test_a_controller_not_delegated_has_no_files():
    # the parent turns memory off for its children: memory.max disappears below
    kernel = SimKernel(2)
    with open_cgroup("box", kernel=kernel, root=TEST_ROOT) as box:
        inner = box.child("inner").create()
        box.write("cgroup.subtree_control", "-memory")
        assert "memory" not in inner.controllers()
        with pytest.raises(ControllerUnavailable, match="memory controller is not enabled"):
            inner.set_memory_max(2**20)


def test_no_internal_processes_once_controllers_are_delegated():
    kernel = SimKernel(2)
    with open_cgroup("parent", kernel=kernel, root=TEST_ROOT) as parent:
        parent.run(Sleep(5))
        with pytest.raises(CgroupError, match="no-internal-processes"):
            parent.child("child").create()


def test_enabling_an_unknown_or_missing_controller_is_explained():
    kernel = SimKernel(2)
    with open_cgroup("x", kernel=kernel, root=TEST_ROOT) as group:
        with pytest.raises(ControllerUnavailable, match="hugetlb"):
            group.enable("hugetlb")


@needs_v2
@pytest.mark.real_kernel
def test_real_v2_group_accounts_cpu_without_any_controller():
    # usage_usec in cpu.stat is core v2 accounting, there even with no cpu controller; the
    # process joined before exec, so the group saw all of its CPU time (compare /proc's)
    import psutil

    with open_cgroup("core", mode="real", version=2, root=TEST_ROOT) as group:
        task = group.run(BurnCPU(seconds=2))
        group.sleep(0.5)
        times = psutil.Process(task.pid).cpu_times()
        usage = group.cpu_stat().usage_usec
        own = int((times.user + times.system) * 1_000_000)
        assert usage >= 50_000
        assert abs(usage - own) <= 0.1 * own + 30_000, (usage, own)


@needs_v2
@pytest.mark.real_kernel
def test_real_v2_cgroup_kill_ends_every_process():
    with open_cgroup("killme", mode="real", version=2, root=TEST_ROOT) as group:
        tasks = [group.run(Sleep(30)) for _ in range(3)]
        group.write("cgroup.kill", 1)
        assert [t.wait(timeout=5) for t in tasks] == [-9, -9, -9]
        assert group.read("cgroup.events").splitlines()[0] == "populated 0"


@needs_v2
@pytest.mark.real_kernel
def test_real_v2_reports_controllers_bound_elsewhere():
    if {"cpu", "memory", "pids"} <= V2_CONTROLLERS:
        pytest.skip("this host's v2 mount has the controllers")
    with open_cgroup("nocpu", mode="real", version=2, root=TEST_ROOT) as group:
        with pytest.raises(ControllerUnavailable, match="cpu controller is not enabled"):
            group.set_cpu_limit(50_000)


@pytest.mark.skipif(not HAS_V2, reason="needs root and a writable cgroup2 mount")
@pytest.mark.real_kernel
def test_delegated_subtree_lets_an_unprivileged_user_manage_its_own_groups():
    # rootless delegation (what systemd's Delegate=yes does): chown the group to the user,
    # who may then create sub-groups and move its own processes between them
    nobody = 65534
    with open_cgroup("delegated", mode="real", version=2, root=TEST_ROOT) as group:
        for path in (group.directory, *(f"{group.directory}/{f}" for f in
                                        ("cgroup.procs", "cgroup.subtree_control", "cgroup.threads"))):
            os.chown(path, nobody, nobody)
        script = (
            "import os\n"
            f"os.setgid({nobody}); os.setuid({nobody})\n"
            f"os.mkdir('{group.directory}/mine')\n"
            f"open('{group.directory}/mine/cgroup.procs', 'w').write(str(os.getpid()))\n"
            "print(open('/proc/self/cgroup').read().strip().splitlines()[-1])\n"
        )
        done = subprocess.run(
            ["python3", "-S", "-c", script], capture_output=True, text=True, timeout=20,
            preexec_fn=lambda: open(f"{group.directory}/cgroup.procs", "w").write(str(os.getpid())),
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith(f"/{group.relpath}/mine")
        assert os.stat(f"{group.directory}/mine").st_uid == nobody
