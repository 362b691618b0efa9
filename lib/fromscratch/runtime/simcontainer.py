"""A container on the simulated kernel: the same lifecycle, no processes, no privileges.

Used where namespaces are not available (macOS, Binder).  It never pretends to
isolate anything: ``create`` unpacks the image into a plain directory (the
container's "rootfs"), ``start`` interprets the command with the chapter 3
simulated shell (``fromscratch.image.simshell``: ``echo``, ``cat``, ``mkdir``,
``touch``, ``exit N`` …) with every path resolved inside that directory, and the
container is ``stopped`` as soon as the script ends.  A bind volume is copied
into the rootfs before the command and (unless ``ro``) copied back after it, so
writes land on the host side — at the end rather than at once.

The state lives in the same :class:`~fromscratch.runtime.state.StateDir`
records as real containers, with ``"mode": "simulated"``.
Simplified: no long-running commands (``sleep``, servers), no signals other
than "kill" (which stops a created container), no cgroup limits enforced.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from fromscratch.image.simshell import SimulatedShell
from fromscratch.runtime.state import StateDir, check_id


class SimContainer:
    """Same methods as :class:`~fromscratch.runtime.container.Container`, simulated."""

    mode = "simulated"

    def __init__(self, container_id: str, states: StateDir) -> None:
        self.id = check_id(container_id)
        self.states = states
        self.directory = states.path(container_id)

    def __repr__(self) -> str:
        return f"<SimContainer {self.id[:12]} {self.status}>"

    @classmethod
    def create(cls, container_id: str, config: dict[str, Any], rootfs: Path, *,
               states: StateDir, name: str | None = None, image: str = "",
               extra: dict[str, Any] | None = None) -> SimContainer:
        from fromscratch.runtime.bundle import check_config

        check_config(config)
        if (states.path(container_id) / "state.json").exists():
            raise ValueError(f"container {container_id!r} already exists")
        states.save({"id": container_id, "name": name or container_id[:12], "image": image,
                     "mode": "simulated", "status": "created", "pid": None,
                     "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "command": config["process"]["args"], "exit_code": None, "config": config,
                     "rootfs_dir": str(rootfs), **(extra or {})})
        return cls(container_id, states)

    def record(self) -> dict[str, Any]:
        return self.states.load(self.id)

    @property
    def status(self) -> str:
        try:
            return self.record()["status"]
        except LookupError:
            return "deleted"

    @property
    def pid(self) -> int | None:
        return None

    def start(self) -> None:
        record = self.record()
        if record["status"] != "created":
            raise RuntimeError(f"cannot start container {self.id[:12]}: it is {record['status']}")
        process = record["config"]["process"]
        env = dict(item.split("=", 1) for item in process.get("env", []))
        lines: list[str] = []
        shell = SimulatedShell(record["rootfs_dir"], env, process.get("cwd", "/"), lines.append)
        args = process["args"]
        volumes = [m for m in record["config"].get("mounts", [])
                   if m.get("type") == "bind" and m.get("source")]
        rootfs = Path(record["rootfs_dir"])
        for mount in volumes:
            if rootfs.resolve().is_relative_to(Path(mount["source"]).resolve()):
                raise RuntimeError(f"volume {mount['source']} holds the container itself; the "
                                   "simulated runtime copies volumes and cannot copy that")
        for mount in volumes:
            shutil.copytree(mount["source"], rootfs / mount["destination"].lstrip("/"), dirs_exist_ok=True)
        try:
            if len(args) == 3 and args[0].rsplit("/", 1)[-1] in ("sh", "bash") and args[1] == "-c":
                code = shell.run(args[2])
            else:
                code = shell.run_argv([args[0].rsplit("/", 1)[-1], *args[1:]])
        except Exception as err:  # an unsupported command: exit 127 as sh would
            lines.append(f"simulated shell: {err}")
            code = 127
        for mount in volumes:
            if "ro" not in mount.get("options", []):
                shutil.copytree(rootfs / mount["destination"].lstrip("/"), mount["source"],
                                dirs_exist_ok=True)
        (self.directory / "log").write_text("".join(f"{line}\n" for line in lines))
        record.update(status="stopped", exit_code=code)
        self.states.save(record)

    def state(self) -> dict[str, Any]:
        record = self.record()
        return {"ociVersion": "1.0.2", "id": self.id, "status": record["status"], "pid": 0,
                "bundle": str(self.directory), "annotations": {"mode": "simulated"}}

    def kill(self, sig: int = 15) -> None:
        record = self.record()
        if record["status"] not in ("created", "running"):
            raise RuntimeError(f"cannot kill container {self.id[:12]}: it is {record['status']}")
        record.update(status="stopped", exit_code=-sig)
        self.states.save(record)

    def wait(self, timeout: float | None = None) -> int:
        return self.record()["exit_code"]

    def logs(self) -> str:
        path = self.directory / "log"
        return path.read_text() if path.exists() else ""

    def delete(self, *, force: bool = False) -> None:
        if self.status != "stopped" and not force:
            raise RuntimeError(f"cannot delete container {self.id[:12]}: it is {self.status}")
        shutil.rmtree(self.directory, ignore_errors=True)
        self.states.remove(self.id)

    def __enter__(self) -> SimContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status != "deleted":
            self.delete(force=True)
