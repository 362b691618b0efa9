"""Start a callable or a command in new (or joined) namespaces: ``unshare --fork`` in Python.

This is the heart of a container runtime (runc's ``nsexec.c`` and
``libcontainer/process_linux.go``), step by step::

    parent ──fork──> child: setns(joined) → unshare(user) ⇄ parent writes uid_map
                            → unshare(the rest) ──fork──> PID 1 of the new PID ns:
                            (stays as a shim that         sethostname, mount /proc,
                             waits and exits like PID 1)  before_exec(), target

``unshare(CLONE_NEWPID)`` (and ``CLONE_NEWTIME``) only affect the caller's
*children*, so with those we fork a second time; the middle process stays
behind as a shim (like containerd-shim) that waits for PID 1 and exits the
same way, so the caller can ``wait()`` for it.  Parent and child talk over a
pipe of small pickled messages: the child's PID as the parent sees it, "ready",
the callable's return value, or an error raised during setup (which
:func:`spawn` re-raises in the caller, naming what failed).

The handle it returns, :class:`~fromscratch.linux.process.Process`, lives in
``process.py``.

Simplified: no seccomp, capabilities, rlimits or ``pivot_root`` here — the
runtime chapter adds a root filesystem with ``before_exec``.
"""

from __future__ import annotations

import builtins
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from fromscratch.linux import namespaces as ns
from fromscratch.linux import pidns, syscalls, userns
from fromscratch.linux.process import ChildError, Process, receive_message, send_message

__all__ = ["ChildError", "Process", "Target", "run", "spawn"]

Target = Callable[[], Any] | Sequence[str]


def _rebuild_error(kind: str, errno_: int | None, message: str) -> Exception:
    """Re-create an exception the child reported during setup, for the caller."""
    cls = getattr(builtins, kind, None)
    text = f"in the new process: {message}"
    if isinstance(cls, type) and issubclass(cls, OSError) and errno_ is not None:
        return cls(errno_, text)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(text)
    return RuntimeError(f"{kind}: {text}")


# ---------------------------------------------------------------- the child's side

def _exit(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def _run_target(target: Target, before_exec: Callable[[], None] | None,
                env: Mapping[str, str] | None, messages: int) -> None:
    """In the final process: the hook, then the callable or ``exec``. Never returns."""
    try:
        if before_exec is not None:
            before_exec()
        if callable(target):
            value = target()
            send_message(messages, "result", value)
            _exit(0)
        argv = [os.fspath(a) for a in target]
        if env is None:
            os.execvp(argv[0], argv)
        os.execvpe(argv[0], argv, dict(env))
    except SystemExit as stop:
        _exit(stop.code if isinstance(stop.code, int) else 1)
    except BaseException as err:
        try:
            text = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            send_message(messages, "raised", type(err).__name__, text, traceback.format_exc(),
                  getattr(err, "errno", None))
        finally:
            _exit(127 if isinstance(err, OSError) and not callable(target) else 1)


def _final(options: dict[str, Any], messages: int, go: int) -> None:
    """In the process that becomes the container: finish setup, say ready, run. No return."""
    if options["die_with_parent"]:
        syscalls.prctl(syscalls.PR_SET_PDEATHSIG, signal.SIGKILL)
    if options["hostname"] is not None:
        syscalls.sethostname(options["hostname"])
    if options["domainname"] is not None:
        syscalls.setdomainname(options["domainname"])
    if options["mount_proc"]:
        pidns.remount_proc()
    if options["cwd"] is not None:
        os.chdir(options["cwd"])
    if options["init"]:
        pidns.hold_signals()
    send_message(messages, "ready")
    if os.read(go, 1) != b"1":  # the parent gave up on us
        os._exit(1)
    os.close(go)

    def program() -> None:
        _run_target(options["target"], options["before_exec"], options["env"], messages)

    if options["init"]:
        pidns.tiny_init(program)
    program()


def _child_main(options: dict[str, Any], join_fds: list[tuple[str, int]], messages: int,
                go: int) -> None:
    """In the forked child: join, unshare, maybe fork again. Never returns."""
    try:
        # a fresh, unbuffered view of fds 1 and 2: the parent's streams may be
        # Jupyter's, which send through a thread that does not exist here
        sys.stdout = open(1, "w", closefd=False, buffering=1)
        sys.stderr = open(2, "w", closefd=False, buffering=1)
        if options["die_with_parent"]:
            syscalls.prctl(syscalls.PR_SET_PDEATHSIG, signal.SIGKILL)
        # join existing namespaces first (the user namespace before the others, as nsenter does)
        for name, fd in join_fds:
            syscalls.setns(fd, ns.CLONE_FLAGS[name])
            os.close(fd)
        new: frozenset[str] = options["new"]
        if "user" in new:
            syscalls.unshare(syscalls.CLONE_NEWUSER)
            send_message(messages, "userns", os.getpid())  # the parent writes our uid/gid maps
            if os.read(go, 1) != b"1":
                os._exit(1)
        rest = ns.clone_flags(new - {"user"})
        if rest:
            try:
                syscalls.unshare(rest)
            except PermissionError as err:
                raise PermissionError(err.errno, f"unshare({', '.join(sorted(new - {'user'}))}) "
                                      "was refused: creating namespaces needs root, or a new "
                                      "user namespace (add 'user')") from None
        if "mnt" in new:
            # keep our mounts out of the host: systemd makes / a shared mount
            syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
        if not options["needs_fork"]:
            send_message(messages, "pid", os.getpid())
            _final(options, messages, go)
        release_r, release_w = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(release_w)
            os.read(release_r, 1)  # wait until the parent knows our PID
            os.close(release_r)
            _final(options, messages, go)
        os.close(release_r)
        send_message(messages, "pid", child)
        os.write(release_w, b"1")
        os.close(release_w)
        os.close(messages)
        os.close(go)
        # the shim: wait for PID 1 of the namespace and leave the same way
        for sig in pidns.FORWARDED:
            signal.signal(sig, signal.SIG_IGN)
        _, status = os.waitpid(child, 0)
        pidns.exit_like(status)
    except BaseException as err:
        try:
            text = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            send_message(messages, "error", type(err).__name__, getattr(err, "errno", None), text)
        finally:
            os._exit(127)


# ---------------------------------------------------------------- the parent's side

def _validate(target: Target, new: frozenset[str], joined: Mapping[str, int | str],
              hostname: str | None, mount_proc: bool | None, init: bool,
              has_maps: bool) -> bool:
    """Check the request before forking; return the effective ``mount_proc``."""
    if not callable(target):
        if isinstance(target, str | bytes) or not target:
            raise TypeError("a command is a non-empty list of strings, e.g. ['hostname']")
        if shutil.which(os.fspath(target[0])) is None:
            raise FileNotFoundError(f"command not found: {target[0]!r}")
    both = new & set(joined)
    if both:
        raise ValueError(f"cannot both create and join the {', '.join(sorted(both))} namespace")
    if hostname is not None and "uts" not in new:
        raise ValueError("hostname= needs a new 'uts' namespace (or it would rename the host)")
    if has_maps and "user" not in new:
        raise ValueError("uid_map=/gid_map= need a new 'user' namespace")
    if init and "pid" not in new:
        raise ValueError("init=True needs a new 'pid' namespace")
    if mount_proc is None:
        return {"pid", "mnt"} <= new
    if mount_proc and not {"pid", "mnt"} <= new:
        raise ValueError("mount_proc=True needs new 'pid' and 'mnt' namespaces "
                         "(or it would replace the host's /proc)")
    return mount_proc


def spawn(target: Target, *, namespaces: Iterable[str] = (), hostname: str | None = None,
          domainname: str | None = None,
          uid_map: Iterable[userns.IdRange] | None = None,
          gid_map: Iterable[userns.IdRange] | None = None,
          join: Mapping[str, int | str] | None = None, mount_proc: bool | None = None,
          init: bool = False, before_exec: Callable[[], None] | None = None,
          capture_output: bool = False, env: Mapping[str, str] | None = None,
          cwd: str | None = None, die_with_parent: bool = True,
          timeout: float = 30.0) -> Process:
    """Run ``target`` (a callable, or a command as a list) in new and/or joined namespaces.

    - ``namespaces``: names to create (``{"pid", "uts", "mnt", ...}``);
    - ``join``: ``{name: PID or /run/netns/... path}`` to enter first, like ``nsenter``;
    - ``hostname``: set inside a new ``uts`` namespace;
    - ``uid_map``/``gid_map``: ``(inside, outside, count)`` ranges for a new ``user``
      namespace (default: root inside = our own uid/gid outside, the rootless map);
    - ``mount_proc``: mount a fresh ``/proc`` (default: when ``pid`` and ``mnt`` are new);
    - ``init``: run a tiny init as PID 1 that forwards signals and reaps orphans;
    - ``before_exec``: a hook run in the new process just before the target;
    - ``capture_output``: collect stdout and stderr for :meth:`Process.output`;
    - ``die_with_parent``: SIGKILL the child if the *calling thread* exits.

    Returns once the process is set up; errors during setup are raised here.
    """
    new = ns.check_names(namespaces)
    joined = dict(join or {})
    ns.check_names(joined)
    has_maps = uid_map is not None or gid_map is not None
    mount_proc = _validate(target, new, joined, hostname, mount_proc, init, has_maps)
    if "user" in new:
        uid_ranges = list(uid_map) if uid_map is not None else userns.rootless_map()
        gid_ranges = list(gid_map) if gid_map is not None else userns.rootless_map(os.getegid())
        userns.format_id_map(uid_ranges), userns.format_id_map(gid_ranges)  # validate now
    options = {"target": target, "new": new, "hostname": hostname, "domainname": domainname,
               "mount_proc": mount_proc, "init": init, "before_exec": before_exec,
               "env": env, "cwd": cwd, "die_with_parent": die_with_parent,
               "needs_fork": bool({"pid", "time"} & (new | set(joined)))}
    # open every namespace to join now, so a missing PID is an error here, not in the child
    order = sorted(joined, key=lambda name: (name != "user", name))
    join_fds: list[tuple[str, int]] = []
    try:
        for name in order:
            join_fds.append((name, os.open(ns.ns_path(joined[name], name), os.O_RDONLY)))
    except BaseException:
        for _, fd in join_fds:
            os.close(fd)
        raise
    messages_r, messages_w = os.pipe()
    go_r, go_w = os.pipe()
    output = os.memfd_create("fromscratch-output") if capture_output else None
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    child = os.fork()
    if child == 0:
        os.close(messages_r)
        os.close(go_w)
        if output is not None:
            os.dup2(output, 1)
            os.dup2(output, 2)
        _child_main(options, join_fds, messages_w, go_r)
    os.close(messages_w)
    os.close(go_r)
    for _, fd in join_fds:
        os.close(fd)
    deadline = time.monotonic() + timeout
    pid = None
    try:
        while True:
            message = receive_message(messages_r, deadline)
            if message is None:
                _, status = os.waitpid(child, 0)
                raise RuntimeError(f"the new process died during setup "
                                   f"(code {os.waitstatus_to_exitcode(status)})")
            if message[0] == "userns":
                userns.write_id_maps(message[1], uid_ranges, gid_ranges)
                os.write(go_w, b"1")
            elif message[0] == "pid":
                pid = message[1]
            elif message[0] == "error":
                os.waitpid(child, 0)
                raise _rebuild_error(*message[1:])
            elif message[0] == "ready":
                break
        process = Process(pid, child, messages_r, output)  # type: ignore[arg-type]
        os.write(go_w, b"1")
        os.close(go_w)
        return process
    except BaseException:
        for victim in (pid, child):
            if victim:
                try:
                    os.kill(victim, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            os.waitpid(child, 0)
        except ChildProcessError:
            pass
        for fd in (messages_r, go_w) + ((output,) if output is not None else ()):
            try:
                os.close(fd)
            except OSError:
                pass
        raise


def run(target: Target, **options: Any) -> Any:
    """Spawn, wait, and return the callable's result (or a command's exit code)."""
    with spawn(target, **options) as process:
        if callable(target):
            return process.result()
        return process.wait()
