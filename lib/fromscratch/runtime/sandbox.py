"""Pod sandboxes: where a pod's containers run. The interface, and the plain-process one.

The kubelet asks its container runtime (through the CRI) for a *sandbox* per
pod — ``RunPodSandbox`` — then creates containers in it.  A :class:`Sandbox`
here does the same for one pod, in one of three ways:

- ``isolated`` (:mod:`.sandbox_isolated`): a pause process holds the pod's
  net/IPC/UTS namespaces; containers are real OCI containers that join them;
- ``process`` (:class:`ProcessSandbox`, this file): plain child processes of ours,
  no isolation at all, for hosts without privileges;
- ``simulated`` (:mod:`.sandbox_sim`): no processes, virtual time.

All three share the pod-spec plumbing below: the argv from ``command``/``args``
with ``$(VAR)`` expansion, the environment, and volumes (``emptyDir`` is a fresh
directory that lives as long as the pod; ``hostPath`` is a host directory).

The process sandbox cannot mount anything, so a container sees its volumes at
their *host* paths: every ``mountPath`` in the command line is replaced by the
volume's directory.  It has no image either: for a ``busybox`` image the command
runs as an applet of the host's static busybox (``sh`` → ``busybox sh``), for any
other image it runs the host's program of that name.  Ports are the host's
loopback ports, shared by every pod of this kind.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


class SandboxError(RuntimeError):
    """The sandbox could not be made, or a container could not be started in it."""


class ContainerHandle(Protocol):
    """A started container, as the pod runner sees it."""

    id: str

    def poll(self) -> int | None:
        """Exit code once it has ended (128+N if killed by signal N), else None."""

    def kill(self, sig: int) -> None: ...

    def logs(self) -> str: ...


class Sandbox(Protocol):
    """One pod's execution environment."""

    mode: str

    def start(self, container: Mapping[str, Any], *, attempt: int) -> ContainerHandle: ...

    def check(self, container: str, handler: str, action: Mapping[str, Any], timeout: float) -> bool:
        """Run an ``exec``/``httpGet``/``tcpSocket`` check (probes, hooks); True on success."""

    def volume_path(self, name: str) -> Path | None: ...

    def close(self) -> None: ...


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion in command and args; ``$$(VAR)`` escapes it."""
    def one(match: re.Match[str]) -> str:
        return env.get(match.group(1), match.group(0))

    parts = text.split("$$")
    return "$".join(_VAR.sub(one, part) for part in parts)


def container_env(container: Mapping[str, Any], pod_name: str) -> dict[str, str]:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": pod_name}
    for item in container.get("env", []):
        if "name" not in item:
            raise SandboxError(f"container {container.get('name')!r}: env entry without a name")
        env[item["name"]] = expand(str(item.get("value", "")), env)
    return env


def container_argv(container: Mapping[str, Any], env: Mapping[str, str],
                   image_config: Mapping[str, Any] | None = None) -> list[str]:
    """The container's argv, as Kubernetes documents it: ``command`` replaces the image's
    ENTRYPOINT (and drops its CMD), ``args`` replaces CMD; ``args`` alone run with the
    image's ENTRYPOINT.  Without an image config, ``args`` alone are the whole argv."""
    command, args = container.get("command"), container.get("args")
    entrypoint = list((image_config or {}).get("Entrypoint") or [])
    cmd = list((image_config or {}).get("Cmd") or [])
    if command is not None:
        argv = list(command) + list(args or [])
    elif args is not None:
        argv = entrypoint + list(args)
    else:
        argv = entrypoint + cmd
    if not argv:
        raise SandboxError(f"container {container.get('name')!r} has no command to run")
    return [expand(str(a), env) for a in argv]


def make_volumes(pod: Mapping[str, Any], directory: Path) -> dict[str, Path]:
    """Host directories for the pod's volumes (``emptyDir``, ``hostPath``)."""
    paths = {}
    for volume in pod.get("spec", {}).get("volumes", []):
        name = volume.get("name")
        if "emptyDir" in volume:
            paths[name] = directory / "volumes" / name
            paths[name].mkdir(parents=True)
        elif "hostPath" in volume:
            spec = volume["hostPath"]
            path, kind = Path(spec["path"]), spec.get("type", "")
            if kind == "DirectoryOrCreate":
                path.mkdir(parents=True, exist_ok=True)
            elif kind == "Directory" and not path.is_dir():
                raise SandboxError(f"hostPath {path} is not a directory (type: Directory)")
            elif kind == "File" and not path.is_file():
                raise SandboxError(f"hostPath {path} is not a file (type: File)")
            paths[name] = path
        else:
            raise SandboxError(f"volume {name!r}: only emptyDir and hostPath are supported")
    return paths


def volume_mounts(container: Mapping[str, Any], volumes: Mapping[str, Path]) -> list[tuple[str, Path, bool]]:
    """``(mountPath, host directory, readOnly)`` for each of the container's ``volumeMounts``."""
    mounts = []
    for mount in container.get("volumeMounts", []):
        if mount.get("name") not in volumes:
            raise SandboxError(f"container {container.get('name')!r} mounts unknown volume "
                               f"{mount.get('name')!r}")
        mounts.append((mount["mountPath"], volumes[mount["name"]], bool(mount.get("readOnly"))))
    return mounts


def http_check(host: str, port: int, path: str, timeout: float) -> bool:
    """The kubelet's HTTP check: a status in [200, 400) is success."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as response:
            return 200 <= response.status < 400
    except urllib.error.HTTPError as err:
        return 200 <= err.code < 400
    except (OSError, ValueError):
        return False


def tcp_check(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def exit_code_of(returncode: int) -> int:
    """Kubernetes reports death by signal N as exit code 128+N (137 for SIGKILL)."""
    return 128 - returncode if returncode < 0 else returncode


class ProcessHandle:
    def __init__(self, name: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.id, self.process, self.log = f"process://{process.pid}", process, log

    def poll(self) -> int | None:
        code = self.process.poll()
        return None if code is None else exit_code_of(code)

    def kill(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)  # its own session: the whole process group
        except ProcessLookupError:
            pass

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class ProcessSandbox:
    """Containers as plain child processes: same pod semantics, no isolation."""

    mode = "process"

    def __init__(self, pod: Mapping[str, Any]) -> None:
        self.pod = pod
        self.name = pod["metadata"]["name"]
        self.directory = Path(tempfile.mkdtemp(prefix=f"fromscratch-pod-{self.name}-"))
        try:
            self.volumes = make_volumes(pod, self.directory)
        except BaseException:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise
        self.handles: list[ProcessHandle] = []
        self.specs = {c["name"]: c for c in [*pod["spec"].get("initContainers", []),
                                             *pod["spec"]["containers"]]}

    def _argv(self, container: Mapping[str, Any], argv: list[str]) -> list[str]:
        """Volume paths rewritten; busybox applets run by the host's static busybox."""
        from fromscratch.image.base import find_busybox

        argv = [self._rewrite(container, a) for a in argv]
        busybox = find_busybox()
        if str(container.get("image", "")).startswith("busybox") and busybox is not None:
            argv = [str(busybox), os.path.basename(argv[0]), *argv[1:]]
        return argv

    def _rewrite(self, container: Mapping[str, Any], text: str) -> str:
        for mount_path, host, _ in sorted(volume_mounts(container, self.volumes), key=lambda m: -len(m[0])):
            text = text.replace(mount_path, str(host))
        return text

    def start(self, container: Mapping[str, Any], *, attempt: int) -> ProcessHandle:
        env = container_env(container, self.name)
        argv = self._argv(container, container_argv(container, env))
        if shutil.which(argv[0], path=env["PATH"]) is None:
            raise SandboxError(f'exec: "{argv[0]}": executable file not found in $PATH')
        log = self.directory / f"{container['name']}-{attempt}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       cwd=container.get("workingDir") or self.directory)
        handle = ProcessHandle(container["name"], process, log)
        self.handles.append(handle)
        return handle

    def check(self, container: str, handler: str, action: Mapping[str, Any], timeout: float) -> bool:
        if handler == "exec":
            spec = self.specs[container]
            argv = self._argv(spec, list(action["command"]))
            try:
                # an exec check runs where the container runs: same working directory
                done = subprocess.run(argv, env=container_env(spec, self.name), timeout=timeout,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      stdin=subprocess.DEVNULL, start_new_session=True,
                                      cwd=spec.get("workingDir") or self.directory)
            except (subprocess.TimeoutExpired, OSError):
                return False
            return done.returncode == 0
        if handler == "httpGet":
            return http_check("127.0.0.1", action["port"], action.get("path", "/"), timeout)
        return tcp_check("127.0.0.1", action["port"], timeout)

    def volume_path(self, name: str) -> Path | None:
        return self.volumes.get(name)

    def close(self) -> None:
        for handle in self.handles:
            if handle.poll() is None:
                handle.kill(signal.SIGKILL)
                handle.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
