"""Autograde every submission, each in its own sandbox, in parallel: ``make autograde``.

For each submission ``submitted/<student>/<assignment>/``, in this order:

1. **repair** the notebooks against the released version (:mod:`grader.repair`), logging
   every change; an unrepairable submission is reported and not graded;
2. **scan** what the student wrote for attempts at the grading machinery (:mod:`grader.guard`);
3. make the submission's **cgroup** (memory, CPU, pids limits) under our own subtree;
4. run ``nbgrader autograde <assignment> --student <student>`` — nbgrader itself is trusted
   and runs here, but its kernel starts through the ``fromscratch-sandbox`` kernelspec,
   i.e. inside :mod:`grader.sandbox` (new namespaces, a root with only the submission's
   files, no network, user ``nobody``), talking over Unix sockets;
5. read back which isolation was used, what the cgroup saw (peak memory, OOM kills,
   refused forks), and remove the cgroup — killing anything the submission left behind.

Submissions run in parallel, up to the number of cores. nbgrader serialises its own
writes to the gradebook (SQLite); a write that meets a lock is retried.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from grader import guard, repair, sandbox
from grader.sandbox import Policy

REPO = Path(__file__).resolve().parent.parent
GRADER = REPO / "grader"
KERNEL_NAME = "fromscratch-sandbox"
# nbgrader's log lines that add nothing to the problem already reported
NOISE = ("Traceback", "Please see", "There was an error processing assignment:")


@dataclass
class Outcome:
    """What happened to one submission."""

    student: str
    assignment: str
    isolation: str = ""
    reason: str = ""
    repairs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    memory_peak: int | None = None
    oom_kills: int = 0
    forks_refused: int = 0
    timed_out: bool = False
    seconds: float = 0.0
    score: float | None = None
    max_score: float | None = None

    complete: bool = True  # every notebook of the submission made it through autograding

    @property
    def graded(self) -> bool:
        return self.complete and self.score is not None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:60]


def submissions(root: Path, assignments: list[str] | None = None,
                students: list[str] | None = None) -> list[tuple[str, str]]:
    """(student, assignment) for every folder under ``root/submitted``."""
    found = []
    for folder in sorted((root / "submitted").glob("*/*")):
        student, assignment = folder.parent.name, folder.name
        if folder.is_dir() and (assignments is None or assignment in assignments) \
                and (students is None or student in students):
            found.append((student, assignment))
    return found


def nbgrader_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment nbgrader runs in: this venv first on PATH, the course config's root."""
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, FROMSCRATCH_GRADER_ROOT=str(root), PYTHONPATH=str(REPO),
                PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), **extra)


def write_kernelspec(share: Path, policy_file: Path) -> None:
    """A kernelspec whose argv starts the ipykernel through :mod:`grader.sandbox`."""
    spec = share / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "grader.sandbox", str(policy_file), "--",
            sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({
        "argv": argv, "display_name": "Python 3 (grading sandbox)", "language": "python",
        "env": {"PYTHONPATH": str(REPO)}}))


def _repair_submission(root: Path, student: str, assignment: str, outcome: Outcome) -> bool:
    folder = root / "submitted" / student / assignment
    for released in sorted((root / "release" / assignment).glob("*.ipynb")):
        target = folder / released.name
        backup = root / "repairs" / student / assignment / released.name
        try:
            outcome.repairs += repair.repair_file(target, released, backup)
            outcome.flags += [f"{released.name} {flag}" for flag in guard.tampering(repair.load(target))]
        except repair.Unrepairable as err:
            outcome.problems.append(f"unrepairable: {err}")
    return not outcome.problems


def _open_group(name: str, policy: Policy):  # -> Cgroup | None
    from fromscratch.linux.cgroups import CgroupError, open_cgroup

    try:
        group = open_cgroup(name, mode="real", root=policy.cgroup_root).create()
        group.set_memory_max(policy.memory_bytes)
        group.set_pids_max(policy.pids)
        group.set_cpu_limit(int(policy.cpus * 100_000))
        return group
    except (CgroupError, OSError):
        return None


def _memory_peak(group) -> int | None:
    for filename in ("memory.peak", "memory.max_usage_in_bytes"):
        try:
            return int(group.read(filename))
        except Exception:
            continue
    return None


def _run_one(root: Path, student: str, assignment: str, policy: Policy, *, sandboxed: bool,
             cell_timeout: int) -> Outcome:
    outcome = Outcome(student, assignment)
    started = time.monotonic()
    if not _repair_submission(root, student, assignment, outcome):
        outcome.isolation = "not graded"
        return outcome
    # subtle: short, because ZeroMQ's ipc:// socket paths must fit in 108 bytes
    rundir = Path(tempfile.mkdtemp(prefix="fsg-", dir="/tmp"))
    os.chmod(rundir, 0o711)
    run, share = rundir / "run", rundir / "share"
    run.mkdir()
    group = None
    args = ["autograde", assignment, "--student", student, "--force",
            f"--Execute.timeout={cell_timeout}"]
    env = nbgrader_env(root, JUPYTER_RUNTIME_DIR=str(run))
    if sandboxed:
        mode, outcome.reason = sandbox.choose_isolation(policy.isolation)
        name = f"grader-{os.getpid()}/{_slug(student)}-{_slug(assignment)}"
        group = _open_group(name, policy) if mode == "namespaces" else None
        mine = Policy(**{**policy.__dict__, "cgroup": name if group else None, "rundir": str(rundir),
                         "workdir": str(root / "autograded" / student / assignment),
                         "read_only": policy.read_only or sandbox.default_read_only(),
                         "writable": [str(run)], "report": str(rundir / "report.jsonl")})
        write_kernelspec(share, mine.save(rundir / "policy.json"))
        # the connection file, and the ipc sockets named after it, in the one directory we bind
        args += [f"--Execute.kernel_name={KERNEL_NAME}", "--KernelManager.transport=ipc",
                 f"--KernelManager.connection_file={run / 'kernel.json'}"]
        env["JUPYTER_PATH"] = str(share)
    else:
        outcome.isolation, outcome.reason = "none", "plain nbgrader (no sandbox requested)"
    try:
        for attempt in range(3):
            try:
                result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=GRADER, env=env,
                                        capture_output=True, text=True,
                                        timeout=policy.wall_seconds * 2 + 60)
            except subprocess.TimeoutExpired:
                outcome.timed_out = True
                outcome.problems.append(f"nbgrader did not finish within {policy.wall_seconds * 2 + 60:.0f}s")
                break
            if "database is locked" not in result.stderr or attempt == 2:
                break
            time.sleep(0.5 + attempt)
        else:
            result = None
        if not outcome.timed_out and result is not None:
            for line in result.stderr.splitlines():
                message = line.split("]", 1)[-1].strip()
                if ("| ERROR]" in line or "Timeout waiting" in line) and not message.startswith(NOISE):
                    outcome.problems.append(message)
            if result.returncode != 0 and not outcome.problems:
                outcome.problems.append(f"nbgrader exited {result.returncode}: {result.stderr[-500:]}")
        _read_report(rundir / "report.jsonl", outcome)
        # subtle: nbgrader removes the autograded copy of a submission it failed to grade
        autograded = root / "autograded" / student / assignment
        outcome.complete = all((autograded / nb.name).exists()
                               for nb in (root / "release" / assignment).glob("*.ipynb"))
        if group is not None:
            outcome.memory_peak = _memory_peak(group)
            try:
                outcome.oom_kills = group.memory_events().oom_kill
                outcome.forks_refused = group.pids_refused()
            except Exception:
                pass
            if outcome.oom_kills:
                outcome.problems.append(f"the kernel ran out of memory ({policy.memory_bytes >> 20} MiB "
                                        f"limit): {outcome.oom_kills} process(es) killed")
    finally:
        if group is not None:
            group.remove()
        shutil.rmtree(rundir, ignore_errors=True)
    outcome.seconds = round(time.monotonic() - started, 2)
    return outcome


def _read_report(path: Path, outcome: Outcome) -> None:
    if not path.exists():
        if not outcome.isolation:
            outcome.isolation = "no kernel started"
        return
    for line in path.read_text().splitlines():
        kernel = json.loads(line)
        outcome.isolation, outcome.reason = kernel["isolation"], kernel["reason"]
        if kernel.get("timed_out"):
            outcome.timed_out = True
            outcome.problems.append(f"a kernel was stopped at the wall-clock limit ({kernel['seconds']}s)")


def _scores(root: Path, outcomes: list[Outcome]) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "fromscratch") as gradebook:
        for outcome in outcomes:
            if outcome.isolation == "not graded":
                continue
            try:
                submission = gradebook.find_submission(outcome.assignment, outcome.student)
            except MissingEntry:
                continue
            outcome.score, outcome.max_score = submission.score, submission.max_score


def autograde(root: Path, *, assignments: list[str] | None = None, students: list[str] | None = None,
              policy: Policy | None = None, jobs: int | None = None, sandboxed: bool = True,
              cell_timeout: int = 120) -> list[Outcome]:
    """Grade every matching submission under ``root``; return one :class:`Outcome` each."""
    policy = policy or Policy()
    todo = submissions(root, assignments, students)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    if sandboxed:
        # subtle: made once here, so parallel submissions do not race to create it
        _open_group(f"grader-{os.getpid()}", policy)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(lambda job: _run_one(root, *job, policy, sandboxed=sandboxed,
                                                      cell_timeout=cell_timeout), todo))
    _scores(root, outcomes)
    if sandboxed:
        parent = _open_group(f"grader-{os.getpid()}", policy)
        if parent is not None:
            parent.remove()
    return outcomes


def report(outcomes: list[Outcome]) -> str:
    """A plain-text summary for the instructor: one line per submission, then what needs a look."""
    lines = []
    for o in outcomes:
        score = f"{o.score:g}/{o.max_score:g}" if o.graded else "NOT GRADED"
        memory = f", peak {o.memory_peak >> 20} MiB" if o.memory_peak else ""
        where = f"[{o.isolation}{memory}, {o.seconds:.1f}s]"
        lines.append(f"{o.assignment:20} {o.student:16} {score:>10}  {where}")
        lines += [f"    repaired: {r}" for r in o.repairs]
        lines += [f"    PROBLEM: {p}" for p in o.problems]
        lines += [f"    REVIEW: {f}" for f in o.flags]
    return "\n".join(lines)
