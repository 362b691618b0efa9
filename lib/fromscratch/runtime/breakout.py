"""The classic ``chroot`` escape — and why it fails after ``pivot_root``.

``chroot(2)`` only changes where path resolution *starts*; it moves no mount
and it leaves the current directory alone.  A process that is root inside the
jail can therefore climb out (chroot(2): "This call does not change the current
working directory"):

1. make a directory ``/.escape`` and ``chroot`` into it — the current directory
   is now *outside* the process's root;
2. ``chdir("..")`` many times: ``..`` only stops at the process's root, which is
   below us, so we climb to the real ``/``;
3. ``chroot(".")``: the real root is our root again.

After ``pivot_root`` and the lazy unmount of the old root, there is nothing
above the container's root *in its mount namespace*: step 2 stops at the
container's ``/`` and the host's files stay out of reach.  (Dropping
``CAP_SYS_CHROOT``, as runc does, blocks step 1 too; this demo keeps the
capability to show that the mount namespace alone holds.)
"""

from __future__ import annotations

import os
from pathlib import Path

from fromscratch.linux import spawn, syscalls
from fromscratch.runtime.rootfs import enter_root


def chroot_escape(marker: str) -> bool:
    """Try the escape from wherever we are; True if the host's ``marker`` became visible."""
    os.makedirs("/.escape", exist_ok=True)
    os.chroot("/.escape")
    for _ in range(64):
        os.chdir("..")
    os.chroot(".")
    return os.path.exists(marker)


def try_escape(rootfs: str | os.PathLike[str], marker: str, *, pivot: bool) -> bool:
    """Jail a child into ``rootfs`` with ``chroot`` (pivot=False) or ``pivot_root``, then escape.

    Root only: the child runs in its own mount namespace, so nothing leaks to the host.
    """
    root = Path(rootfs).resolve()
    if (root / marker.lstrip("/")).exists():
        raise ValueError(f"{marker} exists inside the rootfs too: the test would prove nothing")

    def jailed() -> bool:
        if pivot:
            syscalls.mount(root, root, None, syscalls.MS_BIND | syscalls.MS_REC)
            enter_root(root)
        else:
            os.chroot(root)
            os.chdir("/")
        return chroot_escape(marker)

    return bool(spawn.run(jailed, namespaces={"mnt"}))
