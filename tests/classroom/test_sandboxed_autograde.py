"""Sandboxed autograding against the hostile corpus, with honest students graded alongside.

One class hands in chapter 0: honest students (full marks, untouched, a wrong answer, a
notebook broken the usual ways) and one student per attack in ``hostile/``. Everything is
graded in one run, two at a time, real nbgrader and a real gradebook. Each attack must be
contained, and every honest student's score must be exactly what it is without attackers.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest

from grader import autograde
from grader.sandbox import Policy
from tests.classroom.course_dir import (
    CHAPTER,
    IS_ROOT,
    NOTEBOOK,
    Listener,
    cell,
    hand_in,
    released_notebook,
    released_root,
    source_notebook,
    with_wrong_cpu,
)
from tests.conftest import REPO

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not IS_ROOT, reason="the namespace sandbox needs root")]

HOSTILE = sorted(p.stem for p in (Path(__file__).parent / "hostile").glob("*.py") if p.stem != "__init__")
HONEST = {"alice": 10.0, "bob": 0.0, "dave": 8.0, "erin": 10.0}
MEMORY = 256 << 20
# pids.max counts nbgrader, the kernel and all their threads: 32 was too tight on a loaded machine
POLICY = Policy(memory_bytes=MEMORY, pids=64, cpus=1.0, wall_seconds=150)


def _hostile_notebook(root: Path, name: str, listener: Listener) -> nbformat.NotebookNode:
    module = importlib.import_module(f"tests.classroom.hostile.{name}")
    code = module.CODE.format(port=listener.port, grader_pid=os.getpid(), root=root, repo=REPO,
                              victim="alice")
    notebook = source_notebook(root)
    if module.ANSWER == "wrong":
        with_wrong_cpu(notebook)
    first = cell(notebook, "ch00_parse_quantity")
    first.source = code + "\n" + first.source
    return notebook


def _broken_notebook(root: Path) -> nbformat.NotebookNode:
    """A full solution, damaged the ways students damage notebooks."""
    notebook = source_notebook(root)
    test_cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    notebook.cells.remove(test_cells[0])  # a deleted test cell
    cell(notebook, "ch00_test_memory_bytes").cell_type = "markdown"  # retyped (outputs dropped below)
    del cell(notebook, "ch00_test_memory_bytes")["outputs"]
    del cell(notebook, "ch00_test_memory_bytes")["execution_count"]
    memory = cell(notebook, "ch00_memory_bytes")
    memory.metadata = {}  # emptied metadata
    copy = nbformat.from_dict(dict(cell(notebook, "ch00_cpu_millicores")))
    copy["id"] = "a-copied-cell"
    notebook.cells.insert(notebook.cells.index(cell(notebook, "ch00_cpu_millicores")), copy)  # duplicated
    return notebook


@pytest.fixture(scope="module")
def graded():
    root = released_root("fsg-hostile-")
    listener = Listener()
    hand_in(root, "alice", source_notebook(root))
    hand_in(root, "bob", released_notebook(root))
    hand_in(root, "dave", with_wrong_cpu(source_notebook(root)))
    path = hand_in(root, "erin", source_notebook(root))
    path.write_text(nbformat.writes(_broken_notebook(root), version=4))
    for name in HOSTILE:
        hand_in(root, name.replace("_", "-"), _hostile_notebook(root, name, listener))
    outcomes = autograde.autograde(root, policy=POLICY, jobs=2, cell_timeout=30)
    yield root, {o.student: o for o in outcomes}, listener
    listener.close()
    shutil.rmtree(root, ignore_errors=True)


def _outputs(root: Path, student: str) -> str:
    path = root / "autograded" / student / CHAPTER / NOTEBOOK
    if not path.exists():
        return ""
    notebook = nbformat.read(path, as_version=4)
    texts = []
    for c in notebook.cells:
        for output in c.get("outputs", []):
            texts.append(output.get("text", "") + output.get("evalue", ""))
    return "\n".join(texts)


def test_every_submission_says_which_isolation_graded_it(graded):
    _, outcomes, _ = graded
    for outcome in outcomes.values():
        assert outcome.isolation == "namespaces+cgroups", (outcome.student, outcome.reason)


def test_honest_students_get_exactly_their_scores_despite_the_attackers(graded):
    _, outcomes, _ = graded
    assert {s: outcomes[s].score for s in HONEST} == HONEST
    assert all(not outcomes[s].problems for s in HONEST)


def test_a_broken_notebook_is_repaired_and_every_repair_logged(graded):
    _, outcomes, _ = graded
    log = "\n".join(outcomes["erin"].repairs)
    assert "was deleted" in log
    assert "restored to code" in log
    assert "metadata was missing" in log
    assert "appeared 2 times" in log
    assert (graded[0] / "repairs" / "erin" / CHAPTER / NOTEBOOK).exists(), "the original is kept"


def test_infinite_loop_is_stopped_and_reported_not_zeroed(graded):
    # the loop ignores the interrupt sent at the cell timeout: nbgrader gives up on the kernel
    outcome = graded[1]["infinite-loop"]
    assert not outcome.graded
    # nbgrader's cell timeout, the sandbox's wall clock, or — when nbgrader's log keeps only
    # the aftermath — the kernel it had to abandon: whichever it reports, the loop was stopped
    stopped = ("Timeout", "wall-clock", "Kernel died")
    assert any(word in p for p in outcome.problems for word in stopped), outcome.problems
    assert "NOT GRADED" in autograde.report([outcome])


def test_fork_bomb_hits_pids_max_and_the_notebook_still_grades(graded):
    outcome = graded[1]["fork-bomb"]
    assert outcome.forks_refused > 0
    # its own children hold every process slot, so a test that starts a thread fails: its loss
    assert outcome.graded and outcome.score is not None and 0 < outcome.score <= 10.0
    assert "fork refused after" in _outputs(graded[0], "fork-bomb")


def test_memory_hog_is_killed_at_the_cgroup_limit_and_reported(graded):
    outcome = graded[1]["memory-hog"]
    assert outcome.oom_kills >= 1
    assert outcome.memory_peak is not None and outcome.memory_peak <= MEMORY
    assert not outcome.graded and any("out of memory" in p for p in outcome.problems)


def test_network_attempt_never_reaches_the_host(graded):
    root, _, listener = graded
    assert listener.connections == []
    assert "no network" in _outputs(root, "network")
    assert graded[1]["network"].score == 10.0


def test_hidden_tests_gradebook_and_other_students_are_unreadable(graded):
    root = graded[0]
    outputs = _outputs(root, "read-secrets")
    assert "refused" in outputs and "LEAKED" not in outputs
    assert "### BEGIN HIDDEN TESTS" not in outputs


def test_gradebook_and_other_students_files_cannot_be_written(graded):
    root, outcomes, _ = graded
    assert outcomes["write-gradebook"].score == 8.0, "its own wrong answer still loses two points"
    assert "GRADEBOOK WRITTEN" not in _outputs(root, "write-gradebook")
    assert (root / "submitted" / "alice" / CHAPTER / NOTEBOOK).exists()
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("SELECT count(*) FROM grade WHERE manual_score IS NOT NULL").fetchone() == (0,)


def test_killing_the_grader_is_impossible_from_inside(graded):
    root, outcomes, _ = graded
    outputs = _outputs(root, "kill-parent")
    assert f"could not kill {os.getpid()}" in outputs
    assert "could not kill 1" in outputs  # PID 1 is the sandbox's init, and not ours to kill
    assert outcomes["kill-parent"].score == 10.0


def test_monkey_patched_helpers_are_restored_and_flagged(graded):
    outcome = graded[1]["monkeypatch-helpers"]
    assert outcome.score == 8.0, "the wrong answer must still fail its test"
    assert any("replaces a grading helper" in flag for flag in outcome.flags)


def test_nothing_is_left_behind(graded):
    # every submission's cgroup is gone, and so is the run's parent group
    leftovers = [p for p in Path("/sys/fs/cgroup").glob(f"*/fromscratch/grader-{os.getpid()}*")]
    assert leftovers == []
    assert not list(Path("/tmp").glob("fsg-*/root/proc"))
