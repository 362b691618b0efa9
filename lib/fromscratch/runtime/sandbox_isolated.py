"""The isolated pod sandbox: a pause process holds the pod's namespaces, containers join them.

What containerd/CRI-O do for every pod (``RunPodSandbox``): start an *infra*
container — Kubernetes' ``pause``, a program that does nothing but sleep and
reap zombies — in new network, IPC and UTS namespaces.  Each app container is
then a real OCI container (:mod:`fromscratch.runtime.container`: its own mount
namespace, overlay rootfs, cgroup, capabilities, seccomp) whose ``config.json``
lists the pause's namespaces by *path* (``/proc/<pause>/ns/net``) — so all
containers of a pod share ``localhost``, System V IPC and the hostname, and
restarting one does not lose the pod's network.

Pod-level switches, as the Pod spec defines them:
``shareProcessNamespace`` (containers also join the pause's PID namespace; the
pause is PID 1 and reaps orphans), ``hostNetwork`` (no network or UTS namespace:
the node's), ``hostPID``, ``hostIPC``.  Volumes: ``emptyDir`` is a directory of
the pod bind-mounted into each container; ``hostPath`` a host directory.

Network safety: the pod's network namespace has only a loopback interface, which
the pause brings up; nothing is connected to the host.  HTTP and TCP probes
therefore run *inside* the pod's network namespace against 127.0.0.1 (the
kubelet would connect to the pod IP from the node).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fromscratch.image.base import BASE_REFERENCE, ensure_base_image
from fromscratch.image.commit import prepare_rootfs
from fromscratch.image.oci import full_reference
from fromscratch.image.store import ImageStore
from fromscratch.linux import spawn
from fromscratch.resources import container_limits
from fromscratch.runtime.bundle import write_bundle
from fromscratch.runtime.container import Container, ContainerError, harden_process
from fromscratch.runtime.hardening import default_seccomp_profile, load_seccomp_module
from fromscratch.runtime.sandbox import (
    SandboxError,
    container_argv,
    container_env,
    exit_code_of,
    http_check,
    make_volumes,
    tcp_check,
    volume_mounts,
)
from fromscratch.runtime.spec import run_request_config
from fromscratch.runtime.state import StateDir, new_id

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
_IFREQ = struct.Struct("16sh22x")


def loopback_up() -> None:
    """``ip link set lo up`` with two ioctls: a new network namespace starts with lo down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        _, flags = _IFREQ.unpack(fcntl.ioctl(sock, SIOCGIFFLAGS, _IFREQ.pack(b"lo", 0)))
        fcntl.ioctl(sock, SIOCSIFFLAGS, _IFREQ.pack(b"lo", flags | IFF_UP))


def pause() -> None:
    """The infra container's program: hold the namespaces, reap zombies, exit on SIGTERM."""
    loopback_up()
    waited = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    while True:
        if signal.sigwait(waited) != signal.SIGCHLD:
            os._exit(0)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass


class IsolatedHandle:
    """One container of the pod; on exit its logs are kept and its cgroup removed."""

    def __init__(self, container: Container) -> None:
        self.container, self.id = container, f"fromscratch://{container.id[:12]}"
        self.code: int | None = None
        self.saved_logs = ""

    def poll(self) -> int | None:
        if self.code is None and self.container.process is not None:
            returned = self.container.process.poll()
            if returned is not None:
                self.code = exit_code_of(returned)
                self.saved_logs = self.container.logs()
                self.container.wait()
                self.container.delete()
        return self.code

    def kill(self, sig: int) -> None:
        if self.code is None and self.container.process is not None:
            self.container.process.kill(sig)

    def logs(self) -> str:
        return self.saved_logs if self.code is not None else self.container.logs()


class IsolatedSandbox:
    """A pod of real containers around a pause process."""

    mode = "isolated"

    def __init__(self, pod: Mapping[str, Any], *, store: ImageStore | None = None,
                 cgroup_root: str = "fromscratch/pods") -> None:
        self.pod, self.name = pod, pod["metadata"]["name"]
        spec = pod["spec"]
        self.store = store or ImageStore()
        self.cgroup_root = cgroup_root
        self.directory = Path(tempfile.mkdtemp(prefix=f"fromscratch-pod-{self.name}-"))
        self.states = StateDir(self.directory / "containers")
        self.handles: dict[str, IsolatedHandle] = {}
        self.specs = {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}
        new = set()
        if not spec.get("hostNetwork"):
            new |= {"net", "uts"}  # a hostNetwork pod also keeps the node's hostname
        if not spec.get("hostIPC"):
            new.add("ipc")
        if spec.get("shareProcessNamespace") and not spec.get("hostPID"):
            new.add("pid")
        try:
            self.volumes = make_volumes(pod, self.directory)
            # die_with_parent=False: the pod outlives the thread that made it (a kubelet
            # worker); Pod.terminate() is what ends it
            self.pause = spawn.spawn(pause, namespaces=new, hostname=self.name if "uts" in new else None,
                                     mount_proc=False, die_with_parent=False)
        except BaseException:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise
        self.shared = {kind: f"/proc/{self.pause.pid}/ns/{kind}" for kind in sorted(new)}

    def _namespaces(self) -> list[dict[str, str]]:
        oci = {"net": "network", "ipc": "ipc", "uts": "uts", "pid": "pid"}
        namespaces = [{"type": "mount"}]
        namespaces += [{"type": oci[kind], "path": path} for kind, path in self.shared.items()]
        if "pid" not in self.shared and not self.pod["spec"].get("hostPID"):
            namespaces.append({"type": "pid"})
        return namespaces

    def _image(self, reference: str) -> dict[str, Any]:
        if not self.store.has(reference) and full_reference(reference) == full_reference(BASE_REFERENCE):
            ensure_base_image(self.store)
        try:
            return self.store.get(reference).config.get("config", {})
        except LookupError as err:
            raise SandboxError(f"image {reference!r}: {err}") from None

    def start(self, container: Mapping[str, Any], *, attempt: int) -> IsolatedHandle:
        image = container.get("image") or BASE_REFERENCE
        image_config = self._image(image)
        env = dict(item.split("=", 1) for item in image_config.get("Env", []))
        env.update(container_env(container, self.name))
        argv = container_argv(container, env, image_config)
        cwd = container.get("workingDir") or image_config.get("WorkingDir") or "/"
        config = run_request_config({"args": argv, "env": env, "cwd": cwd})
        config["hostname"] = ""
        config["linux"]["seccomp"] = default_seccomp_profile()
        config["linux"]["namespaces"] = self._namespaces()
        for mount_path, host, read_only in volume_mounts(container, self.volumes):
            config["mounts"].append({"destination": mount_path, "type": "bind", "source": str(host),
                                     "options": ["rbind", "ro" if read_only else "rw"]})
        limits = container_limits(container)
        resources = config["linux"]["resources"]
        if limits.cpu_quota_us or limits.cpu_shares:
            resources["cpu"] = {"quota": limits.cpu_quota_us or -1, "period": limits.cpu_period_us,
                                "shares": limits.cpu_shares}
        if limits.memory_max:
            resources["memory"] = {"limit": limits.memory_max}
        container_id = new_id()
        bundle_dir = self.directory / "bundles" / f"{container['name']}-{attempt}"
        fs = prepare_rootfs(self.store, image, bundle_dir / "fs", hostname=self.name)
        config["root"]["path"] = str(fs.merged)
        config["annotations"] = {"org.fromscratch.overlay": {
            "lowers": [str(p) for p in fs.lowers], "upper": str(fs.upper), "work": str(fs.work)}}
        write_bundle(bundle_dir, config)
        try:
            created = Container.create(container_id, bundle_dir, states=self.states, image=image,
                                       name=f"{self.name}_{container['name']}_{attempt}",
                                       cgroup_root=self.cgroup_root)
        except ContainerError as err:
            raise SandboxError(str(err).split(": container init failed: ")[-1]) from None
        created.start()
        handle = IsolatedHandle(created)
        self.handles[container["name"]] = handle
        return handle

    def _exec(self, name: str, argv: list[str], timeout: float) -> bool:
        handle = self.handles.get(name)
        if handle is None or handle.poll() is not None:
            return False
        record = handle.container.record()
        pid = record["pid"]
        config = json.loads((Path(record["bundle"]) / "config.json").read_text())
        env = dict(item.split("=", 1) for item in config["process"]["env"])

        load_seccomp_module()  # before joining the container's mount namespace

        def inside() -> None:
            harden_process(config["process"], config["linux"].get("seccomp"))
            os.execvpe(argv[0], argv, env)

        kinds = {"mnt", "pid", "net", "ipc", "uts"} if "pid" in {
            n["type"] for n in config["linux"]["namespaces"]} else {"mnt", "net", "ipc", "uts"}
        try:
            process = spawn.spawn(inside, join={k: pid for k in kinds}, mount_proc=False,
                                  capture_output=True)
        except (OSError, RuntimeError):
            return False
        try:
            return process.wait(timeout) == 0
        except TimeoutError:
            return False
        finally:
            process.close()

    def check(self, container: str, handler: str, action: Mapping[str, Any], timeout: float) -> bool:
        if handler == "exec":
            return self._exec(container, list(action["command"]), timeout)
        port, path = action["port"], action.get("path", "/")

        def probe() -> bool:
            if handler == "httpGet":
                return http_check("127.0.0.1", port, path, timeout)
            return tcp_check("127.0.0.1", port, timeout)

        if "net" not in self.shared:
            return probe()
        try:
            return bool(spawn.spawn(probe, join={"net": self.pause.pid}, mount_proc=False)
                        .result(timeout + 5))
        except (OSError, RuntimeError, TimeoutError):
            return False

    def volume_path(self, name: str) -> Path | None:
        return self.volumes.get(name)

    def pids(self) -> dict[str, int]:
        """Host PIDs of the pause process and of each running container."""
        found = {"pause": self.pause.pid}
        for name, handle in self.handles.items():
            if handle.code is None:
                found[name] = handle.container.record()["pid"]
        return found

    def close(self) -> None:
        for handle in self.handles.values():
            if handle.poll() is None:
                handle.kill(signal.SIGKILL)
                handle.container.wait(10)
                handle.container.delete()
        self.pause.close()
        shutil.rmtree(self.directory, ignore_errors=True)
