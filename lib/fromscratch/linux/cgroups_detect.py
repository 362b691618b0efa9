"""Which cgroup hierarchies this machine has mounted, and with which controllers.

Real machines come in three shapes, and a container runtime must detect which
one it is on rather than assume (runc's ``cgroups.IsCgroup2UnifiedMode`` and
``GetCgroupMounts`` do the same job):

- **v1** — one mount of type ``cgroup`` per controller (or per group of
  co-mounted controllers): ``/sys/fs/cgroup/cpu``, ``/sys/fs/cgroup/memory`` …
- **v2** — a single mount of type ``cgroup2`` holding every controller, with
  ``cgroup.controllers`` listing the ones available;
- **hybrid** — both: the v1 hierarchies own the controllers and a (nearly
  empty) cgroup2 mount, often at ``/sys/fs/cgroup/unified``, is used by systemd
  for process tracking. A controller bound to a v1 hierarchy cannot be used on
  v2 at the same time.

We read ``/proc/self/mountinfo`` (mount point, filesystem type and super
options) and ``cgroup.controllers``; nothing is changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

# v1 mount options that are not controller names
_V1_NON_CONTROLLER_OPTIONS = {
    "rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "clone_children",
    "noprefix", "xattr", "cpuset_v2_mode", "favordynmods", "none",
}


@dataclass(frozen=True)
class CgroupLayout:
    """The cgroup mounts of one machine (or one simulated kernel)."""

    v1: dict[str, str] = field(default_factory=dict)  # controller -> mount point
    v2_mount: str | None = None
    v2_controllers: frozenset[str] = frozenset()  # listed in the v2 root's cgroup.controllers

    @property
    def version(self) -> Literal["v1", "v2", "hybrid"] | None:
        named_only = all(c.startswith("name=") for c in self.v1)
        if self.v1 and not named_only:
            return "hybrid" if self.v2_mount else "v1"
        return "v2" if self.v2_mount else None

    def controller_version(self, controller: str) -> Literal[1, 2] | None:
        """Which interface owns ``controller`` here (None: not available at all)."""
        if controller in self.v1:
            return 1
        if self.v2_mount and controller in self.v2_controllers:
            return 2
        return None

    def describe(self) -> str:
        """One line per mount, for notebooks and error messages."""
        lines = [f"cgroup layout: {self.version or 'no cgroups'}"]
        for controller, mountpoint in sorted(self.v1.items()):
            lines.append(f"  v1 {controller:<14} {mountpoint}")
        if self.v2_mount:
            owned = " ".join(sorted(self.v2_controllers)) or "(no controllers: all bound to v1)"
            lines.append(f"  v2 {'cgroup2':<14} {self.v2_mount}  controllers: {owned}")
        return "\n".join(lines)


def _unescape(path: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...)
    return path.encode().decode("unicode_escape") if "\\" in path else path


def parse_mountinfo(text: str) -> tuple[dict[str, str], str | None]:
    """(v1 controller -> mount point, v2 mount point) from ``/proc/self/mountinfo`` text.

    A mountinfo line is ``id parent major:minor root mountpoint options ... - fstype source
    superoptions``; the controllers of a v1 mount are in its super options.
    """
    v1: dict[str, str] = {}
    v2_mount: str | None = None
    for line in text.splitlines():
        before, sep, after = line.partition(" - ")
        if not sep:
            continue
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mountpoint, fstype, super_options = _unescape(fields[4]), tail[0], tail[2]
        if fstype == "cgroup":
            for option in super_options.split(","):
                if option not in _V1_NON_CONTROLLER_OPTIONS:
                    v1.setdefault(option, mountpoint)
        elif fstype == "cgroup2" and v2_mount is None:
            v2_mount = mountpoint
    return v1, v2_mount


def detect(mountinfo: str = "/proc/self/mountinfo") -> CgroupLayout:
    """Look at this machine's cgroup mounts (an empty layout where there are none)."""
    try:
        with open(mountinfo) as handle:
            v1, v2_mount = parse_mountinfo(handle.read())
    except OSError:
        return CgroupLayout()
    controllers: frozenset[str] = frozenset()
    if v2_mount:
        try:
            with open(os.path.join(v2_mount, "cgroup.controllers")) as handle:
                controllers = frozenset(handle.read().split())
        except OSError:
            pass
    return CgroupLayout(v1=v1, v2_mount=v2_mount, v2_controllers=controllers)
