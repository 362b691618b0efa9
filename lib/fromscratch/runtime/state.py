"""Container state on disk, so it survives the process that created the container.

runc keeps ``/run/runc/<id>/state.json``; Docker keeps
``/var/lib/docker/containers/<id>/``.  We keep one directory per container::

    <root>/<id>/state.json    what `ps` shows: id, name, image, pid, status, exit code…
    <root>/<id>/exec.fifo     exists between `create` and `start` (as in runc)
    <root>/<id>/log           the container's stdout and stderr (for `logs`)
    <root>/<id>/upper, work   its writable overlay layer (for `commit`)
    <root>/<id>/volumes/      its anonymous volumes

``<root>`` is ``$FROMSCRATCH_HOME/containers`` when the variable is set, else
``~/.local/share/fromscratch/containers``.  Writes are atomic (write a temporary
file, then ``rename``), so a reader never sees half a ``state.json``.

The status is derived as runc derives it: a recorded PID that no longer exists
(or belongs to another process: we compare its start time) means ``stopped``.
Simplified: no locking between concurrent CLI calls on the same container.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import Any, Literal

Status = Literal["creating", "created", "running", "stopped"]
_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$")


class NoSuchContainer(LookupError):
    """No container has that ID or name."""


def default_root() -> Path:
    home = os.environ.get("FROMSCRATCH_HOME")
    base = Path(home) if home else Path.home() / ".local" / "share" / "fromscratch"
    return base / "containers"


def new_id() -> str:
    """A random 64-hex-digit ID; ``ps`` shows the first 12, like Docker."""
    return secrets.token_hex(32)


def check_id(container_id: str) -> str:
    if not isinstance(container_id, str) or not _ID.match(container_id):
        raise ValueError(f"invalid container ID or name {container_id!r}: letters, digits, "
                         "'_', '.', '-' (at most 64)")
    return container_id


def start_time(pid: int) -> int | None:
    """Field 22 of ``/proc/PID/stat`` (clock ticks after boot), None if no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # subtle: the command name (field 2) may hold spaces and parentheses
    return int(text.rpartition(")")[2].split()[19])


def is_alive(pid: int | None, started: int | None) -> bool:
    """Is the recorded process still the one running under that PID (and not a zombie)?"""
    if not pid:
        return False
    if start_time(pid) is None or start_time(pid) != started:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


class StateDir:
    """The directory of all containers, and the records inside it."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, container_id: str) -> Path:
        return self.root / check_id(container_id)

    def save(self, record: dict[str, Any]) -> None:
        directory = self.path(record["id"])
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / "state.json.tmp"
        temporary.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        temporary.rename(directory / "state.json")

    def load(self, container_id: str) -> dict[str, Any]:
        try:
            record = json.loads((self.path(container_id) / "state.json").read_text())
        except FileNotFoundError:
            raise NoSuchContainer(f"no such container: {container_id}") from None
        return self.refresh(record)

    def refresh(self, record: dict[str, Any]) -> dict[str, Any]:
        """Correct the recorded status against the kernel (the process may have ended)."""
        if record.get("mode") == "simulated":
            return record  # no process: the record is the whole truth
        if record.get("status") in ("created", "running") and not is_alive(
                record.get("pid"), record.get("pid_start")):
            record["status"] = "stopped"
        return record

    def all(self) -> list[dict[str, Any]]:
        records = []
        for entry in sorted(self.root.iterdir()):
            if (entry / "state.json").is_file():
                try:
                    records.append(self.load(entry.name))
                except (NoSuchContainer, json.JSONDecodeError):
                    continue
        return sorted(records, key=lambda r: r.get("created", ""), reverse=True)

    def resolve(self, name_or_id: str) -> str:
        """Full ID for a name, a full ID or a unique ID prefix (as ``docker`` accepts)."""
        records = self.all()
        for record in records:
            if name_or_id in (record["id"], record.get("name")):
                return record["id"]
        matches = [r["id"] for r in records if r["id"].startswith(name_or_id)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise NoSuchContainer(f"{name_or_id!r} matches {len(matches)} containers; be more specific")
        raise NoSuchContainer(f"no such container: {name_or_id}")

    def remove(self, container_id: str) -> None:
        import shutil

        shutil.rmtree(self.path(container_id), ignore_errors=True)
