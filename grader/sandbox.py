"""Run one untrusted Jupyter kernel in a sandbox made of the course's own pieces.

nbgrader stays outside, trusted: it sends cells to a kernel and scores the replies. Only
the *kernel* — the process that runs student code — is sandboxed. Jupyter starts kernels
from a kernelspec ``argv``; ours is::

    python -m grader.sandbox POLICY.json -- python -m ipykernel_launcher -f {connection_file}

and this module, running as that command, starts the real kernel

- **namespaces** (root): with :func:`fromscratch.linux.spawn.spawn` in new ``mnt``, ``pid``,
  ``net``, ``ipc`` and ``uts`` namespaces under a tiny init; inside, a root built by
  :mod:`grader.sandbox_root` (only Python, the library, the submission's own files), its
  own loopback and nothing else on the network, in the submission's cgroup (memory, CPU,
  pids limits, created by :mod:`grader.autograde` with :func:`fromscratch.linux.cgroups.open_cgroup`),
  as user ``nobody``. The kernel talks to nbgrader over Unix sockets (ZeroMQ ``ipc``
  transport) in a directory bound into the sandbox — there is no TCP path out.
- **rlimits** (the fallback where namespaces are unavailable: not root, not Linux): a
  separate process in its own session with ``setrlimit`` limits on memory, processes,
  CPU time and file size; it sees the host's files, and the report says so.

Either way a wall-clock limit ends the kernel, and one JSON line per kernel is appended
to ``POLICY.report`` saying which isolation was used and why.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader import guard, sandbox_root

Isolation = str  # "namespaces+cgroups" | "namespaces+rlimits" | "rlimits"
SANDBOX_NAMESPACES = ("mnt", "pid", "net", "ipc", "uts")
NOBODY = (65534, 65534)


@dataclass
class Policy:
    """What a submission may use, and where its kernel's sandbox lives."""

    memory_bytes: int = 1 << 30
    pids: int = 256
    cpus: float = 1.0
    wall_seconds: float = 600.0
    isolation: str = "auto"  # or "namespaces", "rlimits"
    cgroup: str | None = None  # relative name of the submission's cgroup (made by the caller)
    cgroup_root: str = "fromscratch"
    rundir: str = ""  # per-submission scratch directory on the host
    workdir: str = ""  # the notebook's directory as nbgrader sees it
    read_only: list[str] = field(default_factory=list)
    writable: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    report: str = ""

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Policy:
        return cls(**json.loads(Path(path).read_text()))


def why_no_namespaces() -> str | None:
    """None when the namespaces sandbox can run here, else the reason it cannot."""
    if sys.platform != "linux":
        return f"namespaces need Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "namespaces, pivot_root and a switch to user nobody need root"
    from fromscratch import host

    missing = [name for name in SANDBOX_NAMESPACES if not host.probe().namespaces.get(name)]
    if missing:
        return f"this kernel lacks {', '.join(missing)} namespaces"
    return None


def choose_isolation(requested: str = "auto") -> tuple[str, str]:
    """(``"namespaces"`` or ``"rlimits"``, why) for a requested level."""
    if requested not in {"auto", "namespaces", "rlimits"}:
        raise ValueError(f"isolation must be auto, namespaces or rlimits, got {requested!r}")
    if requested == "rlimits":
        return "rlimits", "requested"
    reason = why_no_namespaces()
    if reason is None:
        return "namespaces", "root with mnt/pid/net/ipc/uts namespaces"
    if requested == "namespaces":
        raise RuntimeError(f"namespace isolation unavailable: {reason}")
    return "rlimits", reason


def default_read_only() -> list[str]:
    """What a kernel needs to start: system files, the Python install, the venv, the library."""
    import fromscratch

    paths = ["/usr", "/etc", "/bin", "/lib", "/lib64", "/sbin", sys.base_prefix, sys.prefix]
    paths += [str(Path(p).resolve().parent) for p in fromscratch.__path__]
    return sorted(set(paths))


def apply_rlimits(policy: Policy) -> None:
    """The fallback's limits (``setrlimit(2)``); memory counts the data segment and mmaps."""
    cpu_seconds = int(policy.wall_seconds) + 1
    resource.setrlimit(resource.RLIMIT_DATA, (policy.memory_bytes, policy.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() != 0:  # root ignores RLIMIT_NPROC; under root the cgroup's pids.max counts
        resource.setrlimit(resource.RLIMIT_NPROC, (policy.pids, policy.pids))


def _report(policy: Policy, **fields: object) -> None:
    if policy.report:
        with open(policy.report, "a") as out:
            out.write(json.dumps(fields) + "\n")


def _enter_sandbox(policy: Policy) -> None:
    """In the kernel's process (new namespaces, still root): cgroup, root, network, user."""
    if policy.cgroup:
        from fromscratch.linux.cgroups import open_cgroup

        # subtle: written from inside the new PID namespace, our PID is read in that namespace
        open_cgroup(policy.cgroup, mode="real", root=policy.cgroup_root).add_process(os.getpid())
    else:
        apply_rlimits(policy)
    root = Path(policy.rundir) / "root"
    root.mkdir(exist_ok=True)
    for path in policy.writable:
        os.chown(path, *NOBODY)
        for entry in os.scandir(path):
            os.chown(entry.path, *NOBODY)  # the connection file nbgrader wrote (mode 0600)
    sandbox_root.build_root(root, read_only=policy.read_only, writable=policy.writable,
                            workdir=policy.workdir, owner=NOBODY)
    sandbox_root.enter_root(root, policy.workdir)
    _install_guard(Path("/tmp/.ipython"), NOBODY)
    sandbox_root.loopback_up()
    sandbox_root.drop_privileges(*NOBODY)


def _install_guard(ipython_dir: Path, owner: tuple[int, int] | None) -> None:
    guard.install(ipython_dir)
    if owner is not None:
        for directory, _dirs, files in os.walk(ipython_dir):
            for name in [directory, *(os.path.join(directory, f) for f in files)]:
                os.chown(name, *owner)


def _kernel_env(policy: Policy) -> dict[str, str]:
    env = {"PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp",
           "LANG": "C.UTF-8", "IPYTHONDIR": "/tmp/.ipython", "MPLCONFIGDIR": "/tmp/.matplotlib",
           "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "FROMSCRATCH_MODE": "simulated"}
    env.update(policy.env)
    return env


def run_in_namespaces(policy: Policy, argv: list[str]) -> dict[str, object]:
    from fromscratch.linux.spawn import spawn

    started = time.monotonic()
    with spawn(argv, namespaces=SANDBOX_NAMESPACES, hostname="grading", mount_proc=False,
               init=True, before_exec=lambda: _enter_sandbox(policy), env=_kernel_env(policy)) as kernel:
        # nbgrader ends a kernel with SIGTERM/SIGINT to us: pass them on to the sandbox's init
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _f: kernel.kill(signum))
        try:
            code = kernel.wait(timeout=policy.wall_seconds)
            timed_out = False
        except TimeoutError:
            kernel.kill()
            code, timed_out = kernel.wait(), True
    return {"returncode": code, "timed_out": timed_out, "seconds": round(time.monotonic() - started, 2)}


def run_with_rlimits(policy: Policy, argv: list[str]) -> dict[str, object]:
    started = time.monotonic()
    env = dict(os.environ, **_kernel_env(policy))
    env["HOME"] = env["MPLCONFIGDIR"] = policy.rundir  # no private /tmp here
    env["IPYTHONDIR"] = os.path.join(policy.rundir, ".ipython")
    _install_guard(Path(env["IPYTHONDIR"]), None)
    process = subprocess.Popen(argv, env=env, cwd=policy.workdir or None, start_new_session=True,
                               preexec_fn=lambda: apply_rlimits(policy))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _f: process.send_signal(signum))
    try:
        code, timed_out = process.wait(timeout=policy.wall_seconds), False
    except subprocess.TimeoutExpired:
        code, timed_out = None, True
    # the whole session: a fork bomb's children too
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if code is None:
        code = process.wait()
    return {"returncode": code, "timed_out": timed_out, "seconds": round(time.monotonic() - started, 2)}


def main(argv: list[str]) -> int:
    """``python -m grader.sandbox POLICY.json -- KERNEL ARGV...``"""
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m grader.sandbox POLICY.json -- KERNEL-ARGV...", file=sys.stderr)
        return 2
    policy = Policy.load(argv[0])
    if "-f" in argv:
        connection = os.path.dirname(os.path.abspath(argv[argv.index("-f") + 1]))
        if policy.writable and connection not in policy.writable:
            print(f"grader.sandbox: the connection file must be in {policy.writable}, "
                  f"not {connection} (set KernelManager.connection_file)", file=sys.stderr)
            return 2
    isolation, reason = choose_isolation(policy.isolation)
    if isolation == "namespaces":
        level = "namespaces+cgroups" if policy.cgroup else "namespaces+rlimits"
        outcome = run_in_namespaces(policy, argv[2:])
    else:
        level = "rlimits"
        outcome = run_with_rlimits(policy, argv[2:])
    _report(policy, isolation=level, reason=reason, **outcome)
    code = outcome["returncode"]
    return code if isinstance(code, int) and code >= 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
