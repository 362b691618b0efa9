"""Executing a ``RUN`` step: a throwaway container on the image built so far.

Like ``docker build`` (classic builder) this starts a container on the current
layers, runs the command, and keeps the container's writable layer as the next
image layer.  How isolated that container is depends on the kernel mode:

- **real** (root): new mount, PID, UTS, IPC and network namespaces; the layers
  stacked with overlayfs; ``/proc`` and a small ``/dev`` mounted; ``chroot``
  into the merged tree; the command is PID 1 of its namespace, with no network.
  The changes are read from the overlay *upper* directory.
- **rootless**: the same inside a user namespace, overlay with ``userxattr``.
- **simulated**: no namespaces at all; the layers are unpacked into a plain
  directory, the command is interpreted by ``fromscratch.image.simshell``
  (a small sh subset, paths resolved inside that directory), and the changes
  are found by comparing the tree before and after (Docker's ``vfs`` differ).

Simplified: no cgroup limits, no seccomp or capability dropping, no
``RUN --mount``; ``chroot`` rather than ``pivot_root`` (chapter 4 does that).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fromscratch.image.layers import Change, changes_between, changes_from_upper, fingerprint
from fromscratch.image.simshell import COMMANDS, SimulatedShell, UnsupportedCommand
from fromscratch.image.store import ImageStore
from fromscratch.linux import overlay, syscalls

ISOLATION = {
    "real": "isolated container: mount/pid/uts/ipc/net namespaces, overlayfs, chroot",
    "rootless": "rootless container: user namespace + mount/pid/uts/ipc/net, overlayfs "
                "(userxattr), chroot",
    "simulated": "simulated: layers unpacked to a directory, command interpreted by the "
                 "simulated shell (no namespaces on this host)",
}
DEVICES = ("null", "zero", "random", "urandom")


@dataclass(frozen=True)
class RunResult:
    """Exit status of the step and the filesystem changes it made (read from ``root``)."""

    exit_code: int
    changes: list[Change]
    root: Path
    isolation: str


def _lookup_user(user: str) -> tuple[int, int]:
    """``USER name[:group]`` or ``uid[:gid]`` -> ids, read from the chroot's /etc files."""
    name, _, group = user.partition(":")

    def find(path: str, key: str) -> list[str] | None:
        try:
            for line in Path(path).read_text().splitlines():
                fields = line.split(":")
                if fields and fields[0] == key:
                    return fields
        except OSError:
            return None
        return None

    if name.isdigit():
        uid, gid = int(name), int(name)
    else:
        entry = find("/etc/passwd", name)
        if entry is None:
            raise LookupError(f"unable to find user {name}: no matching entries in passwd file")
        uid, gid = int(entry[2]), int(entry[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            entry = find("/etc/group", group)
            if entry is None:
                raise LookupError(f"unable to find group {group}")
            gid = int(entry[2])
    return uid, gid


def _container_init(merged: Path, argv: Sequence[str], env: dict[str, str], workdir: str,
                    user: str) -> None:
    """PID 1 of the build container: mount /proc and /dev, chroot, drop to USER, exec."""
    if (merged / "proc").is_dir():
        try:
            syscalls.mount("proc", merged / "proc", "proc", syscalls.MS_NOSUID | syscalls.MS_NODEV)
        except OSError:
            pass  # some hosts refuse a new proc mount; the command still runs
    if (merged / "dev").is_dir():
        syscalls.mount("tmpfs", merged / "dev", "tmpfs", syscalls.MS_NOSUID, "mode=755")
        for name in DEVICES:
            (merged / "dev" / name).touch()
            syscalls.mount(f"/dev/{name}", merged / "dev" / name, None, syscalls.MS_BIND)
    (merged / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
    os.chroot(merged)
    os.chdir(workdir)
    if user:
        uid, gid = _lookup_user(user)
        try:
            os.setgroups([])
        except PermissionError:
            pass  # a rootless user namespace has setgroups denied
        try:
            os.setgid(gid)
            os.setuid(uid)
        except OSError as err:
            raise PermissionError(f"USER {user} (uid {uid}, gid {gid}) cannot be used here: {err}"
                                  " (a rootless build maps only root into its user namespace)"
                                  ) from None
    os.execvpe(argv[0], list(argv), env)


def _isolated(store: ImageStore, layers: list[dict], argv: Sequence[str], env: dict[str, str],
              workdir: str, user: str, scratch: Path, rootless: bool,
              output: Callable[[str], None]) -> int:
    lowers = store.layer_dirs_for(layers, userxattr=rootless)
    if not lowers:  # FROM scratch: overlay still needs one (empty) lower layer
        (scratch / "empty").mkdir()
        lowers = [scratch / "empty"]
    for name in ("upper", "work", "merged"):
        (scratch / name).mkdir()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the runtime's child: namespaces and mounts, then fork PID 1
        try:
            os.close(read_end)
            os.dup2(write_end, 1)
            os.dup2(write_end, 2)
            if rootless:
                overlay.enter_rootless_namespaces()
            flags = syscalls.CLONE_NEWPID | syscalls.CLONE_NEWUTS | syscalls.CLONE_NEWIPC
            syscalls.unshare(flags | syscalls.CLONE_NEWNET | syscalls.CLONE_NEWNS)
            syscalls.mount(None, "/", None, syscalls.MS_PRIVATE | syscalls.MS_REC)
            overlay.mount_overlay(lowers=lowers, upper=scratch / "upper", work=scratch / "work",
                                  target=scratch / "merged", userxattr=rootless)
            syscalls.sethostname("fromscratch-build")
            init = os.fork()
            if init == 0:
                try:
                    _container_init(scratch / "merged", argv, env, workdir, user)
                except BaseException as err:  # noqa: BLE001 - reported as exit 127 like sh
                    os.write(2, f"RUN: cannot start {argv[0]!r}: {err}\n".encode())
                    os._exit(127)
            _, status = os.waitpid(init, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        except BaseException as err:  # noqa: BLE001
            os.write(2, f"RUN: container setup failed: {err}\n".encode())
            os._exit(125)
    os.close(write_end)
    with os.fdopen(read_end, "r", errors="replace") as lines:
        for line in lines:
            output(line.rstrip("\n"))
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _simulated(store: ImageStore, layers: list[dict], argv: Sequence[str], env: dict[str, str],
               workdir: str, scratch: Path, output: Callable[[str], None]) -> tuple[int, Path,
                                                                                   list[Change]]:
    rootfs = scratch / "rootfs"
    store.unpack_layers(layers, rootfs)
    before = fingerprint(rootfs)
    (rootfs / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
    shell = SimulatedShell(rootfs, env, workdir, output)
    if len(argv) == 3 and os.path.basename(argv[0]) in ("sh", "bash") and argv[1] == "-c":
        code = shell.run(argv[2])
    elif argv and os.path.basename(argv[0]) in COMMANDS:
        code = shell.run_argv([os.path.basename(argv[0]), *argv[1:]])
    else:
        raise UnsupportedCommand(f"{argv[0]!r} cannot run in simulated mode (no namespaces "
                                 f"here); the simulated shell has: {', '.join(COMMANDS)}")
    return code, rootfs, changes_between(before, rootfs)


def run_step(*, store: ImageStore, layers: list[dict], argv: Sequence[str],
             env: dict[str, str], workdir: str = "/", user: str = "", mode: str,
             scratch: Path, output: Callable[[str], None] = print) -> RunResult:
    """Run ``argv`` in a container on ``layers`` (bottom first); return its changes."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    if mode == "simulated":
        code, root, changes = _simulated(store, layers, argv, env, workdir, scratch, output)
        return RunResult(code, changes, root, ISOLATION[mode])
    code = _isolated(store, layers, argv, env, workdir, user, scratch, mode == "rootless",
                     output)
    upper = scratch / "upper"
    return RunResult(code, changes_from_upper(upper, userxattr=mode == "rootless"), upper,
                     ISOLATION[mode])
