"""Autograding throughput: sandboxed submissions vs plain nbgrader, in the same run.

A class of ``--students`` hands in every assignment (``--assignments``, default: all
chapters with exercises); half hand in the solution, half the untouched student version.
The same submissions are graded three ways, each into its own course directory:

- **stock nbgrader**: ``nbgrader autograde ASSIGNMENT`` — one process, students one after
  another, every kernel on the host with no limits (the real peer);
- **plain, parallel**: :func:`grader.autograde.autograde` without the sandbox, ``--jobs`` at once;
- **sandboxed, parallel**: the same with each kernel in its namespaces + cgroup sandbox.

Printed: wall time, submissions per minute, the sandbox's overhead against the plain
parallel run (the cost of isolation) and its speed-up against stock nbgrader; and whether
all three agree on every score (they must).

    .venv/bin/python bench/autograde.py --students 30          # the issue's class size
    .venv/bin/python bench/autograde.py --students 4 --assignments 00-start-here
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import autograde, build  # noqa: E402
from grader.sandbox import Policy  # noqa: E402


def prepare(assignments: list[str], students: int) -> Path:
    """A course directory with every assignment released and handed in by the whole class."""
    root = Path(tempfile.mkdtemp(prefix="fsg-bench-", dir="/tmp"))
    os.chmod(root, 0o755)
    build.build_sources(root)
    for assignment in assignments:
        build.nbgrader("generate_assignment", assignment, "--force", root=root)
        for number in range(students):
            kind = "source" if number % 2 == 0 else "release"
            for notebook in (root / kind / assignment).glob("*.ipynb"):
                target = root / "submitted" / f"s{number:02d}" / assignment / notebook.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(notebook, target)
    return root


def scores(root: Path) -> dict[tuple[str, str], float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "fromscratch") as gradebook:
        return {(s.student.id, s.assignment.name): s.score
                for a in gradebook.assignments for s in a.submissions}


def stock(root: Path, assignments: list[str]) -> float:
    started = time.monotonic()
    for assignment in assignments:
        build.nbgrader("autograde", assignment, "--force", root=root)
    return time.monotonic() - started


def ours(root: Path, assignments: list[str], *, sandboxed: bool, jobs: int) -> float:
    started = time.monotonic()
    outcomes = autograde.autograde(root, assignments=assignments, jobs=jobs, sandboxed=sandboxed,
                                   policy=Policy(memory_bytes=1 << 30))
    seconds = time.monotonic() - started
    failed = [o for o in outcomes if not o.graded]
    if failed:
        print(autograde.report(failed))
    if sandboxed:
        print(f"  isolation used: {sorted({o.isolation for o in outcomes})}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--assignments", nargs="*", default=None)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    assignments = args.assignments or [c.name for c in build.chapters() if c.exercises]
    total = args.students * len(assignments)
    print(f"{total} submissions ({args.students} students x {len(assignments)} assignments), "
          f"{args.jobs} jobs on {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    roots = {name: prepare(assignments, args.students) for name in ("stock", "plain", "sandboxed")}
    try:
        times = {"stock": stock(roots["stock"], assignments),
                 "plain": ours(roots["plain"], assignments, sandboxed=False, jobs=args.jobs),
                 "sandboxed": ours(roots["sandboxed"], assignments, sandboxed=True, jobs=args.jobs)}
        for name, seconds in times.items():
            print(f"{name:>10}: {seconds:7.1f}s  {60 * total / seconds:6.1f} submissions/min")
        print(f"isolation overhead (sandboxed / plain parallel): {times['sandboxed'] / times['plain']:.2f}x")
        print(f"sandboxed parallel vs stock nbgrader: {times['stock'] / times['sandboxed']:.2f}x as fast")
        agreed = scores(roots["stock"]) == scores(roots["plain"]) == scores(roots["sandboxed"])
        print(f"scores agree across all three: {agreed}")
        return 0 if agreed else 1
    finally:
        for root in roots.values():
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
