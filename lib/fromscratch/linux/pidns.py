"""PID namespaces done properly: a tiny init, and a ``/proc`` that tells the truth.

The first process in a new PID namespace is PID 1 there, and the kernel treats
it like ``init`` (pid_namespaces(7)):

- orphans in the namespace are re-parented to it, so it must ``wait()`` for
  them or they stay zombies;
- signals for which it has no handler are *ignored*, even ``SIGTERM`` from
  outside (only ``SIGKILL``/``SIGSTOP`` from an ancestor namespace get
  through) — which is why ``docker stop`` on a shell-script PID 1 hangs;
- when it exits, the kernel kills every other process in the namespace.

:func:`tiny_init` is what ``tini`` and ``docker run --init`` do: start the real
program as PID 2, forward the usual signals to it, reap every child, and exit
with the program's status.  :func:`remount_proc` mounts a fresh ``proc`` so that
``ps`` (which reads ``/proc``) lists the namespace's processes only.

Simplified: tini also forwards to the whole process group and handles
``SIGCHLD`` via ``sigtimedwait``; we forward to the program alone.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from fromscratch.linux import syscalls

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
             signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)


def remount_proc() -> None:
    """Mount a new ``proc`` on ``/proc`` for the caller's PID namespace.

    Must run in a new mount namespace (or it would replace the host's ``/proc``)
    and in the new PID namespace (a ``proc`` mount shows the PID namespace of
    the process that mounted it).  Mount propagation is made private first, so
    the new mount does not leak back into the host's mount table.
    """
    syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
    syscalls.mount("proc", "/proc", "proc",
                   syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)


def exit_like(status: int) -> None:
    """Leave this process the way the child described by ``status`` left.

    Dying of the same signal (not just exiting 128+N) lets our own parent see
    "killed by SIGTERM", the way a shell or ``unshare --fork`` passes it on.
    """
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):  # SIGKILL and SIGSTOP cannot be caught anyway
            pass
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # the signal is blocked or ignored: fall back to the shell's code
    os._exit(os.waitstatus_to_exitcode(status))


def hold_signals() -> None:
    """Block the signals :func:`tiny_init` forwards, until it is ready to forward them."""
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)


def tiny_init(program: Callable[[], None]) -> None:
    """Be PID 1: run ``program`` in a child, forward signals, reap, exit like it. Never returns.

    ``program`` must end the child itself (``os.execvp`` or ``os._exit``).  Call
    :func:`hold_signals` first (before anyone can signal us), so that nothing
    sent before our handlers exist is lost: a PID 1 *drops* signals it has no
    handler for, but a blocked signal waits.
    """
    child = os.fork()
    if child == 0:
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        try:
            program()
        finally:
            os._exit(127)

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
    # reap everything: the program, and any orphan re-parented to us
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:  # no children at all: cannot happen before the program exits
            os._exit(0)
        if pid == child:
            # subtle: exiting as PID 1 makes the kernel SIGKILL the rest of the namespace
            exit_like(status)
