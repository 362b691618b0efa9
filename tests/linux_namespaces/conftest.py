"""Fixtures for the namespace tests: both backends, and a check that nothing is left behind."""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fromscratch.linux import netns, syscalls
from fromscratch.namespaces import RealBackend, SimBackend

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root: real namespaces and netns")
NOBODY = 65534


def _children_of(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    # the command may hold spaces or parentheses: split after the last ')'
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(name))
    return found


def _root_links() -> list[str]:
    with open("/proc/net/dev") as dev:
        return sorted(line.split(":")[0].strip() for line in dev.readlines()[2:])


def host_snapshot() -> dict[str, Any]:
    """What a leak would change: named netns, our mounts, our children, the host's links."""
    with open("/proc/self/mountinfo") as mounts:
        mount_points = sorted(line.split()[4] for line in mounts)
    return {"netns": netns.list_named() if os.path.isdir(netns.RUN_DIR) else [],
            "mounts": mount_points, "children": _children_of(os.getpid()),
            "links": _root_links(), "hostname": os.uname().nodename}


@pytest.fixture
def leak_check() -> Iterator[None]:
    """Fail the test if it leaves a netns, a mount, a child process or a host link behind."""
    before = host_snapshot()
    yield
    after = host_snapshot()
    assert after == before, "left behind: " + str(
        {k: (before[k], after[k]) for k in before if before[k] != after[k]})


@pytest.fixture(params=["real", "simulated"])
def backend(request: pytest.FixtureRequest, leak_check: None) -> Any:
    """The same behavioural check against the real kernel (as root) and the simulated one."""
    if request.param == "real":
        if not IS_ROOT:
            pytest.skip("the real backend needs root here (rootless is tested separately)")
        return RealBackend()
    return SimBackend()


@pytest.fixture
def netns_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Unique names for network namespaces made by this test process."""
    def make(label: str) -> str:
        return f"fst{os.getpid()}-{label}"

    return make


def as_nobody(function: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Run ``function`` in a forked child that dropped to uid/gid 65534; return its result.

    This is how a learner without root runs the course: an ordinary user.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            # subtle: changing uid clears "dumpable", making /proc/self/* root-owned;
            # an ordinary login session is dumpable, so put it back.
            syscalls.prctl(syscalls.PR_SET_DUMPABLE, 1)
            outcome: tuple[str, Any] = ("ok", function())
        except BaseException as err:  # noqa: B036 - everything goes back to the test
            outcome = ("error", err)
        try:
            data = pickle.dumps(outcome)
        except Exception as err:
            data = pickle.dumps(("error", RuntimeError(repr(err))))
        os.write(write_end, data)
        os._exit(0)
    os.close(write_end)
    chunks = []
    signal.alarm(int(timeout))
    try:
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
    finally:
        signal.alarm(0)
        os.close(read_end)
        os.waitpid(pid, 0)
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise value
    return value
