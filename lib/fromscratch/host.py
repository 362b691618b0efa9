"""What this machine allows, and which kernel mode the course will use.

``python -m fromscratch doctor`` prints this report; the first cell of every
notebook calls :func:`show_mode`.  Each probe runs in a short-lived forked child
(so a namespace we create to test dies with it) and never needs root: the host
is looked at, never changed.

The three modes (see DESIGN.md):

- **real** — root: real namespaces, cgroups, overlayfs, veth pairs;
- **rootless** — a user namespace first, then the rest (what rootless Podman
  does); cgroups only where delegated;
- **simulated** — the in-process model in ``fromscratch.sim``: no privileges.

Set ``FROMSCRATCH_MODE=real|rootless|simulated`` to choose a mode yourself
(asking for a mode the host cannot do is an error, except ``simulated``,
which always works).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

from fromscratch.linux import syscalls

Mode = Literal["real", "rootless", "simulated"]
MODES: tuple[Mode, ...] = ("real", "rootless", "simulated")

# namespace name (as in /proc/PID/ns) -> clone(2) flag
CLONE_FLAGS: dict[str, int] = {
    "cgroup": syscalls.CLONE_NEWCGROUP,
    "ipc": syscalls.CLONE_NEWIPC,
    "mnt": syscalls.CLONE_NEWNS,
    "net": syscalls.CLONE_NEWNET,
    "pid": syscalls.CLONE_NEWPID,
    "time": syscalls.CLONE_NEWTIME,
    "user": syscalls.CLONE_NEWUSER,
    "uts": syscalls.CLONE_NEWUTS,
}
NOBODY = 65534
CONTAINER_NAMESPACES = ("mnt", "pid", "uts", "ipc", "net")


class ModeError(RuntimeError):
    """The mode asked for (``FROMSCRATCH_MODE``) is not possible on this host."""


@dataclass
class HostReport:
    """Everything :func:`probe` found out about this host."""

    platform: str
    kernel: str
    is_root: bool
    uid: int
    namespaces: dict[str, bool] = field(default_factory=dict)  # can this process create each?
    user_namespaces: bool = False  # can an *unprivileged* process unshare(CLONE_NEWUSER)?
    rootless_namespaces: bool = False  # ...and then mnt+pid+uts+ipc+net inside it?
    cgroup_version: Literal["v1", "v2", "hybrid"] | None = None
    cgroup_v1_controllers: list[str] = field(default_factory=list)
    cgroup_v2_controllers: list[str] = field(default_factory=list)
    cgroup_v2_mount: str | None = None
    cgroups_writable: bool = False
    overlayfs: bool = False  # can we mount an overlay (as root)?
    overlay_userxattr: bool = False  # can an unprivileged user mount one in a user namespace?
    network_namespaces: bool = False
    pyroute2: bool = False
    mode: Mode = "simulated"
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


# ---------------------------------------------------------------- probes in a child

def _in_child(check: Callable[[], None], timeout: float = 5.0) -> bool:
    """Run ``check`` in a forked child; True if it returned without raising."""
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return False
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: only system calls, then _exit — never return into the caller
        os.close(read_end)
        status = 1
        try:
            check()
            status = 0
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _drop_to_nobody() -> None:
    """In a child running as root: become an ordinary user, as a learner would be."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        # subtle: changing uid clears the "dumpable" flag, which makes /proc/self/*
        # owned by root; without this we could not write our own uid_map.
        syscalls.prctl(syscalls.PR_SET_DUMPABLE, 1)


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _map_self_to_root() -> None:
    """Inside a fresh user namespace: map our outside uid/gid to root inside."""
    uid, gid = os.geteuid(), os.getegid()
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")


# ---------------------------------------------------------------- probes

def _can_create_namespace(name: str) -> bool:
    if not os.path.exists(f"/proc/self/ns/{name}"):
        return False
    return _in_child(lambda: syscalls.unshare(CLONE_FLAGS[name]))


def _unprivileged_user_namespace(then: int = 0) -> bool:
    def check() -> None:
        _drop_to_nobody()
        syscalls.unshare(CLONE_FLAGS["user"] | then)

    return _in_child(check)


def _mount_overlay(base: str, options: str) -> None:
    for part in ("lower", "upper", "work", "merged"):
        os.makedirs(os.path.join(base, part), exist_ok=True)
    # keep our mount out of the host's view
    syscalls.mount("none", "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE, None)
    lower, upper, work, merged = (os.path.join(base, p) for p in ("lower", "upper", "work", "merged"))
    layers = f"lowerdir={lower},upperdir={upper},workdir={work}"
    syscalls.mount("overlay", merged, "overlay", 0, layers + options)


def _overlay_as_root() -> bool:
    if os.geteuid() != 0:
        return False
    base = tempfile.mkdtemp(prefix="fromscratch-probe-")
    try:
        return _in_child(lambda: (syscalls.unshare(CLONE_FLAGS["mnt"]), _mount_overlay(base, "")))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _overlay_rootless() -> bool:
    base = tempfile.mkdtemp(prefix="fromscratch-probe-")
    try:
        if os.geteuid() == 0:
            os.chown(base, NOBODY, NOBODY)

        def check() -> None:
            _drop_to_nobody()
            syscalls.unshare(CLONE_FLAGS["user"] | CLONE_FLAGS["mnt"])
            _map_self_to_root()
            _mount_overlay(base, ",userxattr")

        return _in_child(check)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _cgroup_mounts() -> tuple[list[str], list[str], str | None, list[str]]:
    """(v1 controllers, v2 controllers, v2 mount point, v1 mount points) from /proc/self/mounts."""
    v1, v2, v2_mount, v1_mounts = [], [], None, []
    try:
        with open("/proc/self/mounts") as mounts:
            lines = mounts.read().splitlines()
    except OSError:
        return v1, v2, v2_mount, v1_mounts
    for line in lines:
        _, target, fstype, options, *_ = line.split()
        if fstype == "cgroup":
            names = [o for o in options.split(",") if not o.startswith("name=") and o not in
                     {"rw", "ro", "relatime", "nosuid", "nodev", "noexec", "clone_children",
                      "noprefix", "xattr", "cpuset_v2_mode", "favordynmods"}]
            v1 += names
            v1_mounts.append(target)
        elif fstype == "cgroup2" and v2_mount is None:
            v2_mount = target
            try:
                with open(os.path.join(target, "cgroup.controllers")) as handle:
                    v2 = handle.read().split()
            except OSError:
                v2 = []
    return sorted(set(v1)), v2, v2_mount, v1_mounts


def _choose_mode(report: HostReport) -> tuple[Mode, list[str]]:
    reasons: list[str] = []
    if report.platform != "linux":
        return "simulated", [f"{report.platform} has no Linux namespaces or cgroups"]
    missing = [ns for ns in CONTAINER_NAMESPACES if not report.namespaces.get(ns)]
    if report.is_root and not missing and report.overlayfs:
        reasons.append("running as root: namespaces, overlayfs and cgroups are all available")
        if not report.cgroups_writable:
            reasons.append("note: cgroups are not writable here, so limits are simulated")
        return "real", reasons
    if report.is_root:
        reasons.append(f"root, but cannot create {', '.join(missing) or 'an overlay mount'}")
    if report.rootless_namespaces:
        reasons.append("an unprivileged user namespace works, so containers run rootless")
        if not report.overlay_userxattr:
            reasons.append("note: overlayfs with userxattr is not available, layers are copied")
        return "rootless", reasons
    reasons.append("unprivileged user namespaces are not allowed here")
    return "simulated", reasons


@functools.lru_cache(maxsize=1)
def probe() -> HostReport:
    """Look at the host (cached: call ``probe.cache_clear()`` to look again)."""
    report = HostReport(platform=sys.platform, kernel=os.uname().release,
                        is_root=hasattr(os, "geteuid") and os.geteuid() == 0,
                        uid=os.getuid() if hasattr(os, "getuid") else -1)
    if sys.platform == "linux":
        report.namespaces = {name: _can_create_namespace(name) for name in CLONE_FLAGS}
        report.user_namespaces = _unprivileged_user_namespace()
        rest = 0
        for name in CONTAINER_NAMESPACES:
            rest |= CLONE_FLAGS[name]
        report.rootless_namespaces = report.user_namespaces and _unprivileged_user_namespace(rest)
        v1, v2, v2_mount, v1_mounts = _cgroup_mounts()
        report.cgroup_v1_controllers, report.cgroup_v2_controllers = v1, v2
        report.cgroup_v2_mount = v2_mount
        if v1 and v2_mount:
            report.cgroup_version = "hybrid" if not v2 or v1 else "v2"
        elif v1:
            report.cgroup_version = "v1"
        elif v2_mount:
            report.cgroup_version = "v2"
        writable = [p for p in v1_mounts + ([v2_mount] if v2_mount else []) if os.access(p, os.W_OK)]
        report.cgroups_writable = bool(writable)
        report.overlayfs = _overlay_as_root()
        report.overlay_userxattr = _overlay_rootless()
        report.network_namespaces = report.namespaces.get("net", False)
    try:
        import pyroute2  # noqa: F401

        report.pyroute2 = True
    except Exception:
        report.pyroute2 = False
    report.mode, report.reasons = _choose_mode(report)
    return report


def mode() -> Mode:
    """The kernel mode the course uses on this host (``FROMSCRATCH_MODE`` overrides)."""
    wanted = os.environ.get("FROMSCRATCH_MODE", "").strip().lower()
    if not wanted:
        return probe().mode
    if wanted not in MODES:
        raise ModeError(f"FROMSCRATCH_MODE={wanted!r}: expected one of {', '.join(MODES)}")
    if wanted == "simulated":
        return "simulated"
    report = probe()
    if wanted == "real" and report.mode != "real":
        raise ModeError(f"FROMSCRATCH_MODE=real but this host cannot: {'; '.join(report.reasons)}")
    if wanted == "rootless" and not report.rootless_namespaces:
        raise ModeError("FROMSCRATCH_MODE=rootless but unprivileged user namespaces are not allowed")
    return wanted  # type: ignore[return-value]


# ---------------------------------------------------------------- presentation

def _yes(value: bool) -> str:
    return "yes" if value else "no"


def report_lines(report: HostReport) -> list[str]:
    """The doctor's report as lines of text."""
    ns = ", ".join(f"{n} {'✓' if ok else '✗'}" for n, ok in report.namespaces.items()) or "none"
    return [
        f"platform            {report.platform} (kernel {report.kernel})",
        f"user                {'root' if report.is_root else f'uid {report.uid}'}",
        f"namespaces          {ns}",
        f"user namespaces     {_yes(report.user_namespaces)} for an unprivileged user"
        f" (then mnt/pid/uts/ipc/net inside: {_yes(report.rootless_namespaces)})",
        f"cgroups             {report.cgroup_version or 'none'}"
        f"; v1 controllers: {' '.join(report.cgroup_v1_controllers) or '-'}"
        f"; v2 controllers: {' '.join(report.cgroup_v2_controllers) or '-'}"
        f"; writable: {_yes(report.cgroups_writable)}",
        f"overlayfs           {_yes(report.overlayfs)} as root;"
        f" rootless with userxattr: {_yes(report.overlay_userxattr)}",
        f"network namespaces  {_yes(report.network_namespaces)}",
        f"pyroute2            {_yes(report.pyroute2)}",
    ]


def show_mode() -> Mode:
    """First cell of every notebook: say which mode this notebook runs in, and why."""
    current = mode()
    report = probe()
    forced = " (chosen with FROMSCRATCH_MODE)" if os.environ.get("FROMSCRATCH_MODE") else ""
    why = "; ".join(report.reasons) if not forced else "FROMSCRATCH_MODE is set"
    text = {
        "real": "Real kernel: the code below makes real namespaces, cgroups and mounts.",
        "rootless": "Rootless: real namespaces inside a user namespace, no root needed.",
        "simulated": "Simulated kernel: the same API, modelled in Python; nothing real is created.",
    }[current]
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display

        if get_ipython() is None:
            raise ImportError
        colour = {"real": "#1b7f3b", "rootless": "#1f5fa8", "simulated": "#a86a1f"}[current]
        display(HTML(
            f'<div style="border-left:6px solid {colour};padding:6px 10px;margin:4px 0">'
            f"<b>Mode: {current}</b>{forced} — {text}<br><small>Why: {why}</small></div>"
        ))
    except ImportError:
        print(f"Mode: {current}{forced} — {text}\nWhy: {why}")
    return current


def main(argv: list[str] | None = None) -> int:
    """``python -m fromscratch doctor [--json] [--short]``."""
    args = list(argv or [])
    unknown = [a for a in args if a not in {"--json", "--short"}]
    if unknown:
        print(f"doctor: unknown option {unknown[0]!r} (use --json or --short)", file=sys.stderr)
        return 2
    report = probe()
    try:
        chosen = mode()
    except ModeError as err:
        print(f"doctor: {err}", file=sys.stderr)
        return 1
    if "--json" in args:
        print(report.to_json())
        return 0
    if "--short" not in args:
        print("\n".join(report_lines(report)))
        print()
    print(f"mode: {chosen} — {'; '.join(report.reasons)}")
    return 0
