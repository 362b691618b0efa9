"""Creating groups, putting processes in them, removing them — and leaving nothing behind."""

from __future__ import annotations

import errno
import os

import pytest

from fromscratch.linux.cgroups import CgroupBusy, CgroupError, check_name, open_cgroup
from fromscratch.linux.cgroups_workloads import BurnCPU, Sleep
from fromscratch.sim.cgroups import SimKernel

from .conftest import TEST_ROOT, open_group


def _listing(group):
    parent = group.directories()[0].rsplit("/", 1)[0]
    return sorted(group.fs.listdir(parent)) if group.fs.exists(parent) else []


def test_a_new_process_is_in_the_group_from_its_first_instruction(make_group):
    group = make_group()
    task = group.run(Sleep(5))
    assert task.pid in group.procs()
    if group.mode == "real":
        # the kernel's own view of the process
        with open(f"/proc/{task.pid}/cgroup") as handle:
            lines = handle.read().splitlines()
        suffix = f"/{group.relpath}"
        assert any(line.endswith(suffix) for line in lines), lines


def test_moving_an_existing_process_between_groups(make_group):
    first, second = make_group("first"), make_group("second")
    task = first.run(Sleep(5))
    second.add_process(task.pid)
    assert task.pid in second.procs()
    assert task.pid not in first.procs()


def test_moving_a_process_that_does_not_exist_is_an_error(make_group):
    group = make_group()
    with pytest.raises(CgroupError, match="no such process"):
        group.add_process(4_000_000)
    with pytest.raises(CgroupError, match="positive integer"):
        group.add_process(-3)


def test_remove_kills_what_is_left_and_deletes_every_directory(make_group):
    # processes sit in leaves (v2's no-internal-processes rule), so two sub-groups
    group = make_group()
    task = group.child("busy").create().run(BurnCPU(seconds=30))
    group.child("idle").create().run(Sleep(30))
    group.remove()
    assert task.wait(timeout=5) is not None
    assert not any(group.fs.exists(d) for d in group.directories())
    group.remove()  # removing twice is harmless


def test_removing_a_busy_group_by_hand_is_refused(make_group):
    group = make_group()
    group.run(Sleep(30))
    with pytest.raises(OSError) as error:
        group.fs.rmdir(group.directories()[0])
    assert error.value.errno == errno.EBUSY


def test_hundred_groups_created_and_removed_leave_nothing(backend):
    # the leak check from the issue: the parent's listing is the same before and after
    kernel = SimKernel(1 if backend.endswith("v1") else 2) if backend.startswith("sim") else None
    probe = open_group(backend, "leak-probe", kernel).create()
    before = _listing(probe)
    for number in range(100):
        with open_group(backend, f"leak-{number}", kernel) as group:
            if number % 10 == 0:
                group.run(Sleep(10))
    assert _listing(probe) == before
    probe.remove()


def test_failed_create_undoes_the_directories_it_made():
    # the third mkdir fails (in the simulated kernel, where failure can be injected):
    # the two directories made before it must be gone again
    kernel = SimKernel(1)
    group = open_cgroup("half", kernel=kernel, root=TEST_ROOT)
    real_mkdir, calls = kernel.mkdir, []

    def failing_mkdir(path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", path)
        real_mkdir(path)

    kernel.mkdir = failing_mkdir
    with pytest.raises(CgroupError, match="cannot create"):
        group.create()
    assert not any(kernel.exists(path) for path in calls)


def test_group_names_cannot_escape_our_subtree():
    for name in ("../etc", "a/../../b", "", "/abs", "a b", "a//b"):
        with pytest.raises(CgroupError, match="invalid cgroup name"):
            check_name(name)


def test_group_still_busy_after_timeout_is_reported():
    # an unkillable process (uninterruptible sleep) can only be made in the simulated kernel
    kernel = SimKernel(2)
    group = open_cgroup("stuck", kernel=kernel, root=TEST_ROOT).create()
    task = group.run(Sleep(60))
    kernel.kill = lambda pid: None  # an unkillable process (uninterruptible sleep)
    group.kill_all = lambda: None
    with pytest.raises(CgroupBusy, match=str(task.pid)):
        group.remove(timeout=0.05)


@pytest.mark.parametrize("backend", ["real-v1", "real-v2"], indirect=True)
def test_real_groups_live_only_under_our_test_root(make_group, backend):
    group = make_group()
    for directory in group.directories():
        assert f"/{TEST_ROOT}/" in directory
        assert os.path.isdir(directory)
