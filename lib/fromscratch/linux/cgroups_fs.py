"""The real cgroup filesystem: ``mkdir``, ``echo > file``, and starting a process inside a group.

Everything a runtime does to cgroups is ordinary file I/O on the cgroup
filesystem (``/sys/fs/cgroup``); this module is that I/O, with errors left as
``OSError`` so :class:`~fromscratch.linux.cgroups.Cgroup` can explain them.

Starting a process *inside* a group: the child, after ``fork`` and before
``exec``, writes its own PID into the group's ``cgroup.procs`` files, so the
very first instruction of the new program is already accounted and limited
(runc gets the same effect by placing its init process before it execs the
container's program; Linux 5.7+ also offers ``clone3(CLONE_INTO_CGROUP)``,
which Python's ``subprocess`` does not expose).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from fromscratch.linux.cgroups_workloads import Workload


def _join(procs_files: list[str]) -> None:
    # runs in the child between fork and exec: only simple system calls here
    pid = str(os.getpid())
    for path in procs_files:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, pid.encode())
        finally:
            os.close(fd)


class RealTask:
    """A process started in a group: a thin wrapper over :class:`subprocess.Popen`."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.pid = process.pid
        self._output: str | None = None

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def output(self) -> str:
        """Everything the process printed (waits for it to finish)."""
        if self._output is None:
            out, _ = self.process.communicate()
            self._output = out or ""
        return self._output

    def __repr__(self) -> str:
        return f"<RealTask pid={self.pid} returncode={self.process.returncode}>"


class RealCgroupFS:
    """``/sys/fs/cgroup`` as it is: every call is a real system call."""

    mode = "real"

    def mkdir(self, path: str) -> None:
        os.mkdir(path)

    def rmdir(self, path: str) -> None:
        os.rmdir(path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def read(self, path: str) -> str:
        with open(path) as handle:
            return handle.read()

    def write(self, path: str, text: str) -> None:
        # one write(2) per value, like `echo`: cgroup files parse each write whole
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    def run(self, workload: Workload, procs_files: list[str]) -> RealTask:
        try:
            process = subprocess.Popen(
                workload.argv(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                preexec_fn=lambda: _join(procs_files), close_fds=True,
            )
        except subprocess.SubprocessError as err:
            raise PermissionError(f"the new process could not join {procs_files}: {err}") from None
        return RealTask(process)

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
