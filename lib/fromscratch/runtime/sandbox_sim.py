"""The simulated pod sandbox: containers are interpreted programs on virtual time.

No process is started: each container's command runs in
:mod:`fromscratch.runtime.simscript`, advanced exactly as far as the pod's
:class:`~fromscratch.runtime.clock.FakeClock` has moved.  Files written under a
volume's ``mountPath`` are shared by the pod's containers (``emptyDir``); a port
an ``httpd``/``nc -l`` listens on answers the pod's HTTP and TCP probes.
Signals: a container's program is PID 1 of its PID namespace, and the kernel
gives PID 1 no default signal actions — a shell that installed no handler
ignores SIGTERM.  So SIGTERM does nothing here and only SIGKILL kills (exit code
137): a stop always waits out the grace period, as ``docker stop`` does for ``sh``.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fromscratch.runtime.clock import Clock
from fromscratch.runtime.sandbox import SandboxError, container_argv, container_env
from fromscratch.runtime.simscript import Program, SimFiles, SimShell, http_status, run_to_completion

BUSY_LIMIT = 10_000  # zero-time steps in one advance: a loop with no sleep in it


class SimHandle:
    """A simulated container process, advanced lazily to the clock's ``now``."""

    def __init__(self, name: str, attempt: int, program: Program, clock: Clock,
                 files: SimFiles) -> None:
        self.id = f"sim://{name}/{attempt}"
        self.name, self.program, self.clock, self.files = name, program, clock, files
        self.lines: list[str] = []
        self.code: int | None = None
        self.wake_at = clock.now()

    def _finish(self, code: int) -> None:
        self.code = code
        for port, (owner, _) in list(self.files.listening.items()):
            if owner == self.name:
                del self.files.listening[port]

    def advance(self) -> None:
        steps = 0
        while self.code is None and self.wake_at <= self.clock.now():
            try:
                _, seconds = next(self.program)
            except StopIteration as done:
                self._finish(int(done.value or 0))
                return
            self.wake_at += seconds
            steps += 1
            if seconds == 0 and steps > BUSY_LIMIT:
                self.wake_at = self.clock.now() + 0.001
                return

    def poll(self) -> int | None:
        self.advance()
        return self.code

    def kill(self, sig: int) -> None:
        self.advance()
        if self.code is None and sig == signal.SIGKILL:
            self.program.close()
            self._finish(128 + sig)

    def logs(self) -> str:
        return "".join(f"{line}\n" for line in self.lines)


class SimSandbox:
    """A pod whose containers exist only in the simulation."""

    mode = "simulated"

    def __init__(self, pod: Mapping[str, Any], clock: Clock) -> None:
        self.pod, self.clock = pod, clock
        self.name = pod["metadata"]["name"]
        self.files = SimFiles()
        self.volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        for volume in self.volumes.values():
            if "emptyDir" not in volume and "hostPath" not in volume:
                raise SandboxError(f"volume {volume['name']!r}: only emptyDir and hostPath are supported")
        self.specs = {c["name"]: c for c in [*pod["spec"].get("initContainers", []),
                                             *pod["spec"]["containers"]]}

    def _shell(self, container: Mapping[str, Any], output: Any) -> SimShell:
        mounts = {}
        for mount in container.get("volumeMounts", []):
            if mount.get("name") not in self.volumes:
                raise SandboxError(f"container {container['name']!r} mounts unknown volume "
                                   f"{mount.get('name')!r}")
            mounts[mount["mountPath"]] = mount["name"]
        env = container_env(container, self.name)
        return SimShell(container["name"], self.files, mounts, env, output, self.clock.now)

    def start(self, container: Mapping[str, Any], *, attempt: int) -> SimHandle:
        env = container_env(container, self.name)
        argv = container_argv(container, env)
        lines: list[str] = []
        # the kubelet-managed files of every container (the init layer of chapter 4)
        self.files.data[(f"container:{container['name']}", "/etc/hostname")] = f"{self.name}\n"
        self.files.data[(f"container:{container['name']}", "/etc/hosts")] = \
            f"127.0.0.1\tlocalhost\n127.0.1.1\t{self.name}\n"
        shell = self._shell(container, lines.append)
        handle = SimHandle(container["name"], attempt, shell.run(argv), self.clock, self.files)
        handle.lines = lines
        handle.advance()
        return handle

    def check(self, container: str, handler: str, action: Mapping[str, Any], timeout: float) -> bool:
        if handler == "exec":
            shell = self._shell(self.specs[container], lambda _: None)
            code, _ = run_to_completion(shell.run(list(action["command"])), timeout)
            return code == 0
        if handler == "httpGet":
            status = http_status(self.files, f"http://localhost:{action['port']}{action.get('path', '/')}")
            return status is not None and 200 <= status < 400
        return action["port"] in self.files.listening

    def read_file(self, volume: str, path: str) -> str | None:
        """A file of an ``emptyDir`` as the containers wrote it (for notebooks and tests)."""
        return self.files.data.get((f"volume:{volume}", "/" + path.lstrip("/")))

    def volume_path(self, name: str) -> Path | None:
        return None

    def close(self) -> None:
        self.files.listening.clear()
