"""Simulated processes: the handle ``spawn`` returns, "the current process", built-in commands.

A simulated process runs its callable in a thread of this Python process; a
context variable says which simulated process the code in that thread *is*,
so ``getpid()`` or ``gethostname()`` answer from its namespaces.  The handle,
:class:`SimHandle`, has the methods of :class:`fromscratch.linux.process.Process`.

Simplified: threads cannot be killed, so a "killed" process is marked dead at
once and its thread's later result is dropped; sleep with :func:`pause`, which
wakes when the process is killed.  A few commands (``hostname``, ``ps``, ``id``,
``true``, ``false``, ``echo``, ``sleep``) are built in; ``capture_output``
collects only theirs (a callable returns its answer instead of printing it).
"""

from __future__ import annotations

import contextvars
import signal
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fromscratch.linux import userns
from fromscratch.linux.proc import KINDS
from fromscratch.linux.process import ChildError

if TYPE_CHECKING:
    from fromscratch.sim.namespaces import SimKernel, SimProcess


# ---------------------------------------------------------------- the running process

_CURRENT: contextvars.ContextVar[tuple[SimKernel, SimProcess] | None] = contextvars.ContextVar(
    "fromscratch_sim_process", default=None)


def current(kernel: SimKernel) -> SimProcess:
    """The simulated process the calling code runs as (the caller, outside any spawn)."""
    value = _CURRENT.get()
    if value is not None and value[0] is kernel:
        return value[1]
    return kernel.caller


class SimHandle:
    """The simulated twin of :class:`fromscratch.linux.spawn.Process`."""

    mode = "simulated"

    def __init__(self, kernel: SimKernel, first: SimProcess, program: SimProcess,
                 spawner: SimProcess) -> None:
        self.kernel, self._first, self._program = kernel, first, program
        self.pid = first.pids[spawner.ns["pid"].level]
        self._reply: tuple[Any, ...] | None = None
        self._output: list[str] = []
        self._done = threading.Event()

    def __repr__(self) -> str:
        state = "running" if self.returncode is None else f"exited {self.returncode}"
        return f"<SimProcess pid={self.pid} {state} (simulated)>"

    @property
    def returncode(self) -> int | None:
        return self._first.returncode

    def _run(self, target: Callable[[], Any] | Sequence[str],
             before_exec: Callable[[], None] | None) -> None:
        _CURRENT.set((self.kernel, self._program))
        code = 0
        try:
            if before_exec is not None:
                before_exec()
            if callable(target):
                self._reply = ("result", target())
            else:
                code = COMMANDS[target[0]](self.kernel, list(target[1:]), self._output.append)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException as err:
            text = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            self._reply = ("raised", type(err).__name__, text, traceback.format_exc(),
                           getattr(err, "errno", None))
            code = 1
        finally:
            self.kernel._exit(self._program, code)
            self.kernel._exit(self._first, code)
            self._done.set()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.returncode is None:
            self.kernel.kill(self._first.pid, sig)

    def terminate(self) -> None:
        self.kill(signal.SIGTERM)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._first.stopped.wait(timeout):
            raise TimeoutError(f"process {self.pid} still running after {timeout}s")
        return self.returncode  # type: ignore[return-value]

    def result(self, timeout: float | None = None) -> Any:
        code = self.wait(timeout)
        self._done.wait(timeout)
        if self._reply and self._reply[0] == "result":
            return self._reply[1]
        if self._reply and self._reply[0] == "raised":
            raise ChildError(*self._reply[1:])
        raise ChildError("Exit", f"process {self.pid} ended with code {code} and no result", "")

    def output(self) -> str:
        self.wait()
        self._done.wait(1.0)
        return "".join(self._output)

    def namespace_ids(self) -> dict[str, int]:
        return {kind: self._first.ns[kind].inode for kind in KINDS}

    def __enter__(self) -> SimHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.returncode is None:
            self.kill(signal.SIGKILL)


def pause(kernel: SimKernel, seconds: float | None = None) -> None:
    """Sleep until ``seconds`` pass or the current simulated process is killed."""
    current(kernel).stopped.wait(seconds)


# ---------------------------------------------------------------- built-in commands

def _ps(kernel: SimKernel, args: list[str], out: Callable[[str], None]) -> int:
    out("    PID TTY          TIME CMD\n")
    for pid in kernel.pids():
        out(f"{pid:>7} ?        00:00:00 {kernel.command_of(pid)}\n")
    return 0


def _id(kernel: SimKernel, args: list[str], out: Callable[[str], None]) -> int:
    uid = kernel.getuid()
    name = "root" if uid == 0 else "nobody" if uid == userns.OVERFLOW_ID else str(uid)
    out(f"uid={uid}({name}) gid={uid}({name}) groups={uid}({name})\n")
    return 0


def _sleep(kernel: SimKernel, args: list[str], out: Callable[[str], None]) -> int:
    pause(kernel, float(args[0]) if args else 0)
    return 0


COMMANDS: dict[str, Callable[[SimKernel, list[str], Callable[[str], None]], int]] = {
    "hostname": lambda k, a, out: (out(k.gethostname() + "\n"), 0)[1],
    "ps": _ps,
    "id": _id,
    "true": lambda k, a, out: 0,
    "false": lambda k, a, out: 1,
    "echo": lambda k, a, out: (out(" ".join(a) + "\n"), 0)[1],
    "sleep": _sleep,
}
