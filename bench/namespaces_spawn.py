"""How long does it take to start a process in new namespaces and wait for it?

Our :func:`fromscratch.linux.spawn.spawn` against util-linux's ``unshare(1)``,
in the same run, for the namespaces ``docker run`` gives a container by
default — PID, UTS, mount, IPC and network:

- peer: ``unshare --fork --pid --uts --mount --ipc --net true``, started with
  ``subprocess.run`` (so its time includes exec'ing ``unshare`` itself);
- ours, command: ``spawn(["true"], namespaces=..., mount_proc=False)`` — fork,
  unshare, fork again for the PID namespace, exec ``true``, wait (the same work);
- ours, callable: the same with a Python function instead of ``true`` (no exec).

A fresh network namespace is the expensive part on most kernels (creating and
destroying its loopback device and per-netns tables), so the set without
``net`` is timed as well, and the pair with a fresh ``/proc`` (``--mount-proc``,
our default) too.  Printed: median and 90th percentile per start, and
the ratio ours / unshare.  Needs root (real namespaces); says so otherwise.

Run: ``.venv/bin/python bench/namespaces_spawn.py [--runs 200]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from fromscratch.linux import spawn

CONTAINER = {"pid", "uts", "mnt", "ipc", "net"}
FLAGS = {"pid": "--pid", "uts": "--uts", "mnt": "--mount", "ipc": "--ipc", "net": "--net"}


def _time(action: Callable[[], object], runs: int, label: str) -> list[float]:
    samples = []
    for number in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
        if (number + 1) % max(1, runs // 10) == 0:
            print(f"\r  {label:<34} {number + 1:>5}/{runs}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return samples


def _unshare(namespaces: set[str], mount_proc: bool) -> Callable[[], object]:
    argv = ["unshare", "--fork", *(FLAGS[n] for n in sorted(namespaces))]
    argv += ["--mount-proc"] if mount_proc else []
    return lambda: subprocess.run([*argv, "true"], check=True)


def _ours_command(namespaces: set[str], mount_proc: bool) -> Callable[[], object]:
    def start() -> None:
        with spawn.spawn(["true"], namespaces=namespaces, mount_proc=mount_proc) as process:
            if process.wait() != 0:
                raise RuntimeError("true failed")
    return start


def _ours_callable(namespaces: set[str], mount_proc: bool) -> Callable[[], object]:
    return lambda: spawn.run(os.getpid, namespaces=namespaces, mount_proc=mount_proc)


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.9 * (len(ordered) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root: real PID/UTS/mount/IPC/net namespaces (the simulated kernel has no "
              "cost worth timing)")
        return 0
    if shutil.which("unshare") is None:
        print("util-linux unshare not found; nothing to compare with")
        return 1
    print(f"{args.runs} starts each; times per start (create namespaces, run, wait, tear down)")
    cases = [(CONTAINER, False), (CONTAINER - {"net"}, False), (CONTAINER, True)]
    for namespaces, mount_proc in cases:
        title = "+".join(sorted(namespaces)) + (", /proc remounted" if mount_proc else "")
        print(f"\nnamespaces: {title}")
        peer = _summary(_time(_unshare(namespaces, mount_proc), args.runs, "unshare(1)"))
        rows = {"unshare(1) --fork ... true": peer,
                "spawn(['true'])": _summary(_time(_ours_command(namespaces, mount_proc),
                                                  args.runs, "spawn(['true'])")),
                "spawn(callable)": _summary(_time(_ours_callable(namespaces, mount_proc),
                                                  args.runs, "spawn(callable)"))}
        print(f"  {'':<28} {'median ms':>10} {'p90 ms':>8} {'ratio to unshare':>17}")
        for label, (median, p90) in rows.items():
            print(f"  {label:<28} {median:>10.2f} {p90:>8.2f} {median / peer[0]:>17.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
