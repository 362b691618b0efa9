"""Mount a layer stack in whichever way this host allows, run something, unmount.

One entry point over the three kernel modes (see ``fromscratch.host``):

- ``real``: overlayfs in a private mount namespace of a child process (root);
- ``rootless``: overlayfs with ``userxattr`` inside a user namespace;
- ``simulated``: ``fromscratch.sim.filesystem``, which copies the union into the
  target directory (Docker's ``vfs`` driver) and records changes at unmount.

In the kernel modes ``action`` runs in the child process, so its result must be
picklable; the mount disappears with the child.  Layer directories must use
the xattr flavour of the mode: :func:`uses_userxattr` says which.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fromscratch.linux import overlay


def uses_userxattr(mode: str) -> bool:
    """Rootless and simulated layers mark opaque dirs with ``user.overlay.opaque``."""
    return mode != "real"


def on_overlay(*, mode: str, lowers: Sequence[str | os.PathLike[str]],
               target: str | os.PathLike[str], action: Callable[[Path], Any],
               upper: str | os.PathLike[str] | None = None,
               work: str | os.PathLike[str] | None = None) -> Any:
    """Mount ``lowers`` (bottom first, plus ``upper``) at ``target``, return ``action(target)``."""
    Path(target).mkdir(parents=True, exist_ok=True)
    if mode == "real":
        return overlay.in_private_overlay(lowers=lowers, target=target, upper=upper, work=work,
                                          action=action)
    if mode == "rootless":
        return overlay.in_rootless_overlay(lowers=lowers, target=target, upper=upper, work=work,
                                           action=action)
    from fromscratch.sim import filesystem

    filesystem.mount_overlay(lowers=lowers, target=target, upper=upper, work=work,
                             userxattr=True)
    try:
        return action(Path(target))
    finally:
        filesystem.unmount(target)
