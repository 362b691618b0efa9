"""One container through the OCI lifecycle: ``create``, ``start``, ``state``, ``kill``, ``delete``.

This mirrors runc (the runtime-spec's ``runtime.md``)::

    create  ── namespaces, cgroup, rootfs, pivot_root, hardening ──> "created"
            (PID 1 exists, blocked on <state>/exec.fifo: nothing of the image ran yet)
    start   ── open the fifo: PID 1 execve()s the application ──────> "running"
    (exit)  ─────────────────────────────────────────────────────────> "stopped"
    kill    ── a signal to PID 1 (killing PID 1 kills its whole PID namespace)
    delete  ── cgroup removed, state removed; mounts vanish with the mount namespace

The process that prepares everything *is* the container's PID 1: it sets up
the rootfs, drops privileges, waits on the fifo, then ``execv()``s the
application in its own place (runc's ``runc init``).  A pipe reports setup
errors back to ``create``, which raises :class:`ContainerError` naming the step.

Simplified: no terminal (``process.terminal`` is ignored; stdio are inherited or
a log file), no ``pause``/``resume`` (freezer), no checkpoint/restore.
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fromscratch.linux import cgroups, spawn
from fromscratch.runtime import hardening
from fromscratch.runtime.bundle import Bundle, load_bundle
from fromscratch.runtime.rootfs import prepare_rootfs
from fromscratch.runtime.state import StateDir, check_id, is_alive, start_time

_RLIMITS = {name: getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")}


class ContainerError(RuntimeError):
    """A lifecycle operation failed; the message names the container and the step."""


def limits_from_config(config: Mapping[str, Any]) -> cgroups.CgroupLimits | None:
    """``linux.resources`` (cpu quota/period/shares, memory limit, pids limit) as cgroup limits."""
    resources = config.get("linux", {}).get("resources", {})
    cpu, memory, pids = resources.get("cpu", {}), resources.get("memory", {}), resources.get("pids", {})
    values = {"cpu_quota_us": cpu.get("quota"), "cpu_shares": cpu.get("shares"),
              "memory_max": memory.get("limit"), "pids_max": pids.get("limit")}
    if cpu.get("period"):
        values["cpu_period_us"] = cpu["period"]
    values = {k: v for k, v in values.items() if v is not None and v != -1}
    return cgroups.CgroupLimits(**values) if values else None


def _env(config: Mapping[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in config["process"].get("env", []))


def harden_process(process: Mapping[str, Any], seccomp: Mapping[str, Any] | None = None) -> None:
    """rlimits, then user, capabilities, no_new_privs and the seccomp profile, in runc's order."""
    for limit in process.get("rlimits", []):
        resource.setrlimit(_RLIMITS[limit["type"]], (limit["soft"], limit["hard"]))
    capabilities = process.get("capabilities")
    if capabilities is not None:
        for bit in range(hardening._last_cap() + 1):  # the bounding set first: needs CAP_SETPCAP
            if not hardening.capability_mask(capabilities.get("bounding", [])) & (1 << bit):
                hardening.syscalls.prctl(hardening.PR_CAPBSET_DROP, bit)
    user = process.get("user", {})
    if user.get("gid", 0) or user.get("uid", 0):
        os.setgroups(user.get("additionalGids", []))
        os.setgid(user.get("gid", 0))
        os.setuid(user.get("uid", 0))
    if capabilities is not None and not user.get("uid", 0):
        hardening.drop_capabilities(capabilities)
    if process.get("noNewPrivileges"):
        hardening.set_no_new_privs()
    if seccomp is not None:
        # subtle: without CAP_SYS_ADMIN a filter may only be loaded under no_new_privs
        hardening.apply_seccomp(seccomp)


def _container_init(config: dict[str, Any], rootfs: Path, fifo: str, report: int,
                    log: str | None) -> None:
    """PID 1 of the container, before it becomes the application. Never returns."""
    try:
        if log is not None:
            out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            os.dup2(out, 1)
            os.dup2(out, 2)
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
        fifo_fd = os.open(fifo, os.O_PATH)
        hardening.load_seccomp_module()  # subtle: the bindings' file is out of reach after pivot_root
        prepare_rootfs(config, rootfs)
        process = config["process"]
        os.chdir(process.get("cwd", "/"))
        harden_process(process, config.get("linux", {}).get("seccomp"))
        args, env = process["args"], _env(config)
        # like runc: a missing executable is a `create` error, not a crash after `start`
        if shutil.which(args[0], path=env.get("PATH", os.defpath)) is None:
            raise FileNotFoundError(errno.ENOENT, f'exec: "{args[0]}": executable file not '
                                    "found in $PATH")
        os.write(report, b"ok")
        os.close(report)
        report = -1
        # block until `start` opens the fifo for reading (runc's exec.fifo)
        gate = os.open(f"/proc/self/fd/{fifo_fd}", os.O_WRONLY)
        os.write(gate, b"0")
        os.close(gate)
        os.close(fifo_fd)
        os.execvpe(args[0], args, env)
    except BaseException as err:  # noqa: BLE001 - reported to `create` or to the log
        detail = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        if report >= 0:
            os.write(report, f"error {type(err).__name__}: {detail}".encode())
        else:
            os.write(2, f"container init: {detail}\n".encode())
        os._exit(127 if isinstance(err, FileNotFoundError) else 1)


CGROUP_ANNOTATION = "org.fromscratch.cgroup"


def _make_cgroup(container_id: str, root: str, config: Mapping[str, Any]) -> cgroups.Cgroup | None:
    """The container's cgroup, made and limited before the container (None without real cgroups)."""
    group = cgroups.open_cgroup(container_id[:32], root=root)
    if group.mode != "real":
        return None  # rootless without delegation: no limits, as rootless runc without systemd
    group.create()
    limits = limits_from_config(config)
    try:
        if limits is not None:
            group.apply(limits)
    except BaseException:
        group.remove()
        raise
    return group


def _remove_group(group: cgroups.Cgroup | None) -> None:
    if group is not None:
        group.remove()


class Container:
    """A container on the real kernel; the record on disk is the truth, this is a handle."""

    mode = "real"

    def __init__(self, container_id: str, states: StateDir, *, process: spawn.Process | None = None) -> None:
        self.id = check_id(container_id)
        self.states = states
        self.directory = states.path(container_id)
        self.process = process

    def __repr__(self) -> str:
        return f"<Container {self.id[:12]} {self.status}>"

    # -- OCI operations
    @classmethod
    def create(cls, container_id: str, bundle: str | os.PathLike[str] | Bundle, *,
               states: StateDir | None = None, name: str | None = None, image: str = "",
               log: bool = True, cgroup_root: str = cgroups.DEFAULT_ROOT,
               extra: Mapping[str, Any] | None = None) -> Container:
        """``runc create``: everything but the application; returns once PID 1 waits on the fifo."""
        states = states or StateDir()
        check_id(container_id)
        if (states.path(container_id) / "state.json").exists():
            raise ContainerError(f"container {container_id!r} already exists")
        loaded = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        directory = states.path(container_id)
        directory.mkdir(parents=True, exist_ok=True)
        record: dict[str, Any] = {
            "id": container_id, "name": name or container_id[:12], "image": image,
            "bundle": str(loaded.path), "status": "creating", "pid": None,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": loaded.config["process"]["args"], "exit_code": None,
            "cgroup": None, **(extra or {}),
        }
        states.save(record)
        fifo = directory / "exec.fifo"
        os.mkfifo(fifo, 0o600)
        namespaces = loaded.namespaces
        new = {kind for kind, path in namespaces.items() if path is None}
        joined = {kind: path for kind, path in namespaces.items() if path is not None}
        try:
            group = _make_cgroup(container_id, cgroup_root, loaded.config)
        except cgroups.CgroupError as err:
            states.remove(container_id)
            raise ContainerError(f"create {container_id}: cgroup: {err}") from err
        # the init learns its cgroup (for the `cgroup` mount) from an annotation of its own copy
        config = dict(loaded.config)
        if group is not None:
            config["annotations"] = {**config.get("annotations", {}), CGROUP_ANNOTATION: group.relpath}
        report_r, report_w = os.pipe()
        log_path = str(directory / "log") if log else None
        try:
            process = spawn.spawn(
                lambda: _container_init(config, loaded.rootfs, str(fifo), report_w, log_path),
                namespaces=new, join=joined, hostname=config.get("hostname") or None,
                mount_proc=False, die_with_parent=False)
        except BaseException as err:
            os.close(report_r)
            os.close(report_w)
            _remove_group(group)
            states.remove(container_id)
            raise ContainerError(f"create {container_id}: {err}") from err
        os.close(report_w)
        answer = b""
        while chunk := os.read(report_r, 4096):
            answer += chunk
            if answer == b"ok":
                break
        os.close(report_r)
        container = cls(container_id, states, process=process)
        try:
            if answer != b"ok":
                reason = answer.decode(errors="replace").removeprefix("error ") or "init died"
                raise ContainerError(f"create {container_id}: container init failed: {reason}")
            if group is not None:
                # PID 1 waits on the fifo: it joins the cgroup before the application exists
                group.add_process(process.pid)
                record["cgroup"] = {"name": group.name, "root": group.root, "dirs": group.directories()}
        except (ContainerError, cgroups.CgroupError) as err:
            container._abandon(process)
            _remove_group(group)
            if isinstance(err, ContainerError):
                raise
            raise ContainerError(f"create {container_id}: cgroup: {err}") from err
        record.update(pid=process.pid, pid_start=start_time(process.pid), status="created")
        states.save(record)
        return container

    def start(self) -> None:
        """``runc start``: let PID 1 exec the application."""
        record = self.record()
        if record["status"] != "created":
            raise ContainerError(f"cannot start container {self.id[:12]}: it is {record['status']}")
        fifo = self.directory / "exec.fifo"
        reader = os.open(fifo, os.O_RDONLY)  # meets PID 1's open(O_WRONLY): both return
        try:
            os.read(reader, 1)
        finally:
            os.close(reader)
            fifo.unlink()
        record.update(status="running", started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.states.save(record)

    def state(self) -> dict[str, Any]:
        """``runc state``: the runtime-spec's state object."""
        record = self.record()
        return {"ociVersion": "1.0.2", "id": self.id, "status": record["status"],
                "pid": record["pid"] if record["status"] != "stopped" else 0,
                "bundle": record["bundle"], "annotations": {}}

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """``runc kill``: send ``sig`` to PID 1 (only while it is alive)."""
        record = self.record()
        if record["status"] not in ("created", "running"):
            raise ContainerError(f"cannot kill container {self.id[:12]}: it is {record['status']}")
        if self.process is not None:
            self.process.kill(sig)
        else:
            try:
                os.kill(record["pid"], sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float | None = None) -> int:
        """Wait for PID 1 to end; record and return its exit code (-N: killed by signal N)."""
        record = self.record()
        if self.process is not None:
            code = self.process.wait(timeout)
        else:
            deadline = None if timeout is None else time.monotonic() + timeout
            while is_alive(record["pid"], record.get("pid_start")):
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"container {self.id[:12]} still running after {timeout}s")
                time.sleep(0.01)
            # the process that holds PID 1 as a child (a monitor) records the exit code
            for _ in range(100):
                record = self.record()
                if record.get("exit_code") is not None:
                    return record["exit_code"]
                time.sleep(0.01)
            return -1
        record.update(status="stopped", exit_code=code,
                      finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.states.save(record)
        return code

    def delete(self, *, force: bool = False) -> None:
        """``runc delete``: a stopped container's cgroup and state go (``force`` kills first)."""
        record = self.record()
        if record["status"] != "stopped":
            if not force:
                raise ContainerError(f"cannot delete container {self.id[:12]}: it is "
                                     f"{record['status']} (stop it, or force)")
            self.kill(signal.SIGKILL)
            try:
                self.wait(timeout=10)
            except TimeoutError as err:
                raise ContainerError(f"container {self.id[:12]} did not die: {err}") from None
        self._remove_cgroup(record)
        self.states.remove(self.id)

    # -- helpers
    @property
    def status(self) -> str:
        try:
            return self.record()["status"]
        except LookupError:
            return "deleted"

    @property
    def pid(self) -> int | None:
        return self.record().get("pid")

    def record(self) -> dict[str, Any]:
        return self.states.load(self.id)

    def logs(self) -> str:
        try:
            return (self.directory / "log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _remove_cgroup(self, record: Mapping[str, Any]) -> None:
        info = record.get("cgroup")
        if info:
            group = cgroups.open_cgroup(info["name"], root=info["root"], mode="real")
            try:
                group.remove()
            except cgroups.CgroupError as err:
                if getattr(err, "errno", None) != errno.ENOENT:
                    raise ContainerError(f"container {self.id[:12]}: {err}") from err

    def _abandon(self, process: spawn.Process) -> None:
        process.kill()
        process.wait()
        self.states.remove(self.id)

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status != "deleted":
            self.delete(force=True)
