"""The default OCI runtime spec (``config.json``), as ``runc spec`` writes it.

An OCI runtime bundle is a directory with a ``config.json`` and a root
filesystem.  The config says everything the runtime must do before it
``exec``s the container's first process: which namespaces to create, what to
mount where, which paths to mask, which capabilities to keep, which cgroup
limits to apply (the OCI runtime-spec, ``config.md`` and ``config-linux.md``).

:func:`default_spec` returns the same document ``runc spec`` prints (runc
1.1), with the arguments of a particular run filled in by
:func:`run_request_config` — the exercise "build the ``config.json`` for a
given run request".

Simplified: no rlimits other than ``RLIMIT_NOFILE``, no ``hooks``, no
``linux.devices`` list (the minimal ``/dev`` is fixed, see ``rootfs.py``),
no AppArmor/SELinux labels.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from fromscratch.exercises import pluggable

OCI_VERSION = "1.0.2-dev"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# runc spec's capability set; Docker's default set is larger (14 capabilities)
DEFAULT_CAPABILITIES = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
MASKED_PATHS = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
# OCI namespace type -> the name /proc/PID/ns/ uses
NAMESPACE_TYPES = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
                   "user": "user", "cgroup": "cgroup", "time": "time"}
CFS_PERIOD_US = 100_000

_MOUNTS = [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
]


def default_spec(args: Sequence[str] = ("sh",), *, hostname: str = "runc",
                 rootfs: str = "rootfs") -> dict[str, Any]:
    """What ``runc spec`` writes: a shell as PID 1 in new pid/net/ipc/uts/mount namespaces.

    Two differences: ``process.terminal`` is false (we allocate no terminal) and
    ``root.readonly`` is false (the overlay's upper layer is writable, as in Docker).
    """
    caps = list(DEFAULT_CAPABILITIES)
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": [DEFAULT_PATH, "TERM=xterm"],
            "cwd": "/",
            "capabilities": {kind: list(caps) for kind in
                             ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": False},
        "hostname": hostname,
        "mounts": copy.deepcopy(_MOUNTS),
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }


@pluggable("parse_volume")
def parse_volume(text: str) -> dict[str, Any]:
    """``-v /host:/ctr[:ro]`` -> an OCI bind mount; ``-v /ctr`` -> an anonymous volume.

    An anonymous volume has ``"source": None``: the runtime makes a fresh host
    directory for it (Docker's ``/var/lib/docker/volumes/ID/_data``).
    """
    parts = text.split(":")
    if not text or len(parts) > 3 or any(not p for p in parts):
        raise ValueError(f"invalid volume {text!r}: expected /host/dir:/ctr/dir[:ro|rw] or /ctr/dir")
    if len(parts) == 1:
        source, destination, mode = None, parts[0], "rw"
    elif len(parts) == 2 and parts[1] in ("ro", "rw"):
        source, destination, mode = None, parts[0], parts[1]
    else:
        source, destination = parts[0], parts[1]
        mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise ValueError(f"invalid volume mode {mode!r} in {text!r}: expected ro or rw")
    if not destination.startswith("/"):
        raise ValueError(f"invalid volume {text!r}: the container path must be absolute")
    if source is not None and not source.startswith("/"):
        raise ValueError(f"invalid volume {text!r}: the host path must be absolute "
                         "(named volumes are not supported)")
    options = ["rbind", "ro" if mode == "ro" else "rw"]
    return {"destination": destination, "type": "bind", "source": source, "options": options}


@pluggable("run_request_config")
def run_request_config(request: Mapping[str, Any]) -> dict[str, Any]:
    """The ``config.json`` for a run request, starting from :func:`default_spec`.

    ``request`` keys (all optional but ``args``): ``args`` (list), ``env``
    (dict, added after the defaults; a name given twice keeps the request's
    value), ``cwd``, ``hostname``, ``user`` (``"uid[:gid]"``), ``volumes``
    (``-v`` strings, appended to ``mounts`` in order), ``cpus`` (float: CFS
    quota over a 100000 µs period), ``memory`` (bytes), ``readonly`` (bool).
    """
    args = request.get("args")
    if not args or isinstance(args, str):
        raise ValueError("args must be a non-empty list of strings")
    config = default_spec(list(args), hostname=request.get("hostname", "runc"))
    process = config["process"]
    # later values win: a variable in the request replaces the default of the same name
    env = dict(item.split("=", 1) for item in process["env"])
    env.update(request.get("env", {}))
    process["env"] = [f"{key}={value}" for key, value in env.items()]
    process["cwd"] = request.get("cwd", "/")
    if not process["cwd"].startswith("/"):
        raise ValueError(f"cwd must be an absolute path, got {process['cwd']!r}")
    if "user" in request:
        uid, _, gid = str(request["user"]).partition(":")
        process["user"] = {"uid": int(uid), "gid": int(gid or uid)}
    config["root"]["readonly"] = bool(request.get("readonly", False))
    for volume in request.get("volumes", []):
        config["mounts"].append(parse_volume(volume))
    resources = config["linux"]["resources"]
    if request.get("cpus") is not None:
        cpus = float(request["cpus"])
        if cpus <= 0:
            raise ValueError(f"cpus must be positive, got {cpus}")
        resources["cpu"] = {"quota": int(cpus * CFS_PERIOD_US), "period": CFS_PERIOD_US}
    if request.get("memory") is not None:
        if int(request["memory"]) <= 0:
            raise ValueError(f"memory must be a positive number of bytes, got {request['memory']}")
        resources["memory"] = {"limit": int(request["memory"])}
    return config
