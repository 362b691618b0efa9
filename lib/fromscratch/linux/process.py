"""The handle on a process started in namespaces, and the pipe it reports through.

:func:`fromscratch.linux.spawn.spawn` returns a :class:`Process`: like
``subprocess.Popen``, with ``pid``, ``wait``, ``poll``, ``kill``, and for a
Python callable its return value (:meth:`Process.result`).  It signals through
a *pidfd* (``pidfd_open(2)``, Linux 5.3+), so a PID recycled after the process
exited is never hit by mistake.

The child reports over a pipe of length-prefixed pickles: its PID as the parent
sees it, "ready", the callable's result, or the exception it raised.

Simplified: no ``communicate()``; output is collected in a memfd and read at the end.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import time
from typing import Any

from fromscratch.linux import proc

_HEADER = struct.Struct("!I")


class ChildError(RuntimeError):
    """The callable raised inside the namespaced process; carries its traceback text."""

    def __init__(self, kind: str, message: str, trace: str, errno: int | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.trace, self.errno = kind, message, trace, errno


# ---------------------------------------------------------------- the message pipe

def send_message(fd: int, *message: Any) -> None:
    data = pickle.dumps(message)
    os.write(fd, _HEADER.pack(len(data)) + data)


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        if deadline is not None:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("the namespaced process did not answer in time")
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive_message(fd: int, deadline: float | None = None) -> tuple[Any, ...] | None:
    header = _read_exact(fd, _HEADER.size, deadline)
    if header is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(header)[0], deadline)
    return None if body is None else pickle.loads(body)


# ---------------------------------------------------------------- the handle

class Process:
    """A process running in its own namespaces. Use as a context manager for cleanup.

    ``pid`` is its PID as *we* see it; inside its PID namespace it is PID 1
    (or 2 under ``init=True``).  Leaving the ``with`` block kills it if it is
    still running; killing PID 1 of a PID namespace kills everything in it.
    """

    mode = "real"

    def __init__(self, pid: int, child: int, messages: int, output: int | None) -> None:
        self.pid = pid
        self._child = child  # the process we can waitpid() on (the shim, or pid itself)
        self._messages = messages
        self._output = output
        self._pidfd = os.pidfd_open(pid)
        self._reply: tuple[Any, ...] | None = None
        self.returncode: int | None = None

    def __repr__(self) -> str:
        state = "running" if self.returncode is None else f"exited {self.returncode}"
        return f"<Process pid={self.pid} {state}>"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (through a pidfd, so a recycled PID is never hit)."""
        if self.returncode is not None:
            return
        try:
            signal.pidfd_send_signal(self._pidfd, sig)
        except ProcessLookupError:
            pass

    def terminate(self) -> None:
        self.kill(signal.SIGTERM)

    def poll(self) -> int | None:
        """The return code if the process has finished, else None (never blocks)."""
        if self.returncode is None:
            readable, _, _ = select.select([self._pidfd], [], [], 0)
            if readable:
                return self.wait()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the end; the return code is negative ``-N`` when killed by signal N."""
        if self.returncode is not None:
            return self.returncode
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                message = receive_message(self._messages, deadline)
            except TimeoutError:
                raise TimeoutError(f"process {self.pid} still running after {timeout}s") from None
            if message is None:
                break
            self._reply = message
        while True:
            done, status = os.waitpid(self._child, os.WNOHANG if deadline else 0)
            if done:
                break
            if time.monotonic() > deadline:  # type: ignore[operator]
                raise TimeoutError(f"process {self.pid} still running after {timeout}s")
            time.sleep(0.005)
        self.returncode = os.waitstatus_to_exitcode(status)
        os.close(self._messages)
        os.close(self._pidfd)
        return self.returncode

    def result(self, timeout: float | None = None) -> Any:
        """The callable's return value (raises :class:`ChildError` if it raised)."""
        code = self.wait(timeout)
        if self._reply and self._reply[0] == "result":
            return self._reply[1]
        if self._reply and self._reply[0] == "raised":
            raise ChildError(*self._reply[1:])
        raise ChildError("Exit", f"process {self.pid} ended with code {code} and no result", "")

    def output(self) -> str:
        """Everything it wrote to stdout and stderr (with ``capture_output=True``)."""
        if self._output is None:
            raise ValueError("spawn(..., capture_output=True) to collect output")
        self.wait()
        os.lseek(self._output, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(self._output, 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def namespace_ids(self) -> dict[str, int]:
        return proc.namespace_ids(self.pid)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.returncode is None:
            self.kill(signal.SIGKILL)
            self.wait()
        if self._output is not None:
            os.close(self._output)
            self._output = None
