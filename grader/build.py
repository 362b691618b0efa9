"""Build the course's notebooks from the jupytext sources in ``solutions/``.

- a *lesson* (a source with no nbgrader cells) becomes ``course/<chapter>/<name>.ipynb`` as written;
- an *exercise* notebook (``exercises*.py``) becomes an nbgrader source notebook in
  ``<grader root>/source/<chapter>/``, then ``nbgrader generate_assignment`` strips the
  solutions and hidden tests, and the student version is copied to ``course/<chapter>/``.

The nbgrader metadata written in a cell header carries only what differs from the defaults;
:func:`complete_nbgrader_metadata` fills in the rest and checks it, so a mistake in a source
(a duplicated ``grade_id``, a graded cell without points, a solution cell without
``### BEGIN SOLUTION``) stops the build with a message naming the file and the cell.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
COURSE = REPO / "course"
GRADER = REPO / "grader"
DEFAULT_ROOT = GRADER / "course"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


class BuildError(Exception):
    """A notebook source is malformed (the message names the file and cell)."""


@dataclass
class Chapter:
    """One ``solutions/NN-topic`` folder."""

    name: str
    lessons: list[Path] = field(default_factory=list)
    exercises: list[Path] = field(default_factory=list)


def chapters(solutions: Path = SOLUTIONS) -> list[Chapter]:
    """Every chapter folder, in order, with its lesson and exercise sources."""
    found = []
    for folder in sorted(p for p in solutions.iterdir() if p.is_dir() and p.name[:2].isdigit()):
        chapter = Chapter(folder.name)
        for source in sorted(folder.glob("*.py")):
            if source.name.startswith("_"):
                continue
            (chapter.exercises if source.stem.startswith("exercises") else chapter.lessons).append(source)
        found.append(chapter)
    return found


def _cell_id(source: Path, index: int) -> str:
    # subtle: stable ids, so that rebuilding an unchanged source gives byte-identical notebooks
    digest = hashlib.sha1(f"{source.parent.name}/{source.name}#{index}".encode()).hexdigest()
    return digest[:16]


def read_source(source: Path) -> nbformat.NotebookNode:
    """A jupytext percent source as a clean notebook (no outputs, stable ids)."""
    notebook = jupytext.read(source, fmt="py:percent")
    notebook.metadata = nbformat.from_dict({
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
    })
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    for index, cell in enumerate(notebook.cells):
        cell.id = _cell_id(source, index)
        for key in ("lines_to_next_cell", "cell_marker", "title"):
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def complete_nbgrader_metadata(notebook: nbformat.NotebookNode, source: Path, seen: dict[str, str]) -> int:
    """Fill in nbgrader's defaults for every nbgrader cell and validate; return the total points."""
    total = 0
    for index, cell in enumerate(notebook.cells):
        meta = cell.metadata.get("nbgrader")
        where = f"{source.relative_to(REPO) if source.is_relative_to(REPO) else source}, cell {index}"
        text = cell.source
        if meta is None:
            for marker in SOLUTION_MARKERS + HIDDEN_MARKERS:
                if marker in text:
                    raise BuildError(f"{where}: {marker!r} in a cell without nbgrader metadata")
            continue
        unknown = set(meta) - {"grade_id", "grade", "solution", "points", "locked", "task"}
        if unknown:
            raise BuildError(f"{where}: unknown nbgrader keys {sorted(unknown)}")
        grade_id = meta.get("grade_id")
        if not grade_id:
            raise BuildError(f"{where}: nbgrader cell without a grade_id")
        if grade_id in seen:
            raise BuildError(f"{where}: grade_id {grade_id!r} already used in {seen[grade_id]}")
        seen[grade_id] = where
        grade, solution = bool(meta.get("grade", False)), bool(meta.get("solution", False))
        if grade and solution:
            raise BuildError(f"{where}: a cell is either a solution or a test, not both")
        if solution and cell.cell_type == "code" and not all(m in text for m in SOLUTION_MARKERS):
            raise BuildError(f"{where}: solution cell without ### BEGIN/END SOLUTION")
        if any(m in text for m in HIDDEN_MARKERS) and not grade:
            raise BuildError(f"{where}: hidden tests outside a graded test cell")
        if not solution and any(m in text for m in SOLUTION_MARKERS):
            raise BuildError(f"{where}: ### BEGIN SOLUTION in a cell not marked solution")
        full = {"grade": grade, "grade_id": grade_id, "locked": bool(meta.get("locked", not solution)),
                "schema_version": 3, "solution": solution, "task": bool(meta.get("task", False))}
        if grade:
            points = meta.get("points")
            if not isinstance(points, int | float) or points <= 0:
                raise BuildError(f"{where}: graded cell {grade_id!r} needs points > 0")
            full["points"] = points
            total += points
            if cell.cell_type == "code" and "exercises.checking(" not in text:
                raise BuildError(f"{where}: graded test {grade_id!r} must wrap its asserts in "
                                 "`with exercises.checking(...)`")
        cell.metadata["nbgrader"] = full
    return total


def write_notebook(notebook: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(notebook)
    path.write_text(nbformat.writes(notebook) + "\n")


def build_sources(root: Path, solutions: Path = SOLUTIONS) -> dict[str, list[Path]]:
    """Write every chapter's nbgrader source notebooks under ``root/source``; return them."""
    seen: dict[str, str] = {}
    built: dict[str, list[Path]] = {}
    for chapter in chapters(solutions):
        for source in chapter.exercises:
            notebook = read_source(source)
            if complete_nbgrader_metadata(notebook, source, seen) == 0:
                raise BuildError(f"{source}: an exercise notebook without graded cells")
            target = root / "source" / chapter.name / f"{source.stem}.ipynb"
            write_notebook(notebook, target)
            built.setdefault(chapter.name, []).append(target)
        for source in chapter.lessons:
            notebook = read_source(source)
            complete_nbgrader_metadata(notebook, source, seen)  # rejects stray markers
            if any("nbgrader" in cell.metadata for cell in notebook.cells):
                raise BuildError(f"{source}: a lesson has nbgrader cells; name it exercises*.py")
    return built


def nbgrader(*args: str, root: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run an nbgrader command with the course's config against the course directory ``root``."""
    # nbgrader runs helpers (alembic, the kernel) by name: put this environment's bin first on PATH
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, FROMSCRATCH_GRADER_ROOT=str(root),
               PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=GRADER, env=env,
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise BuildError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def release(course: Path = COURSE, root: Path | None = None, solutions: Path = SOLUTIONS) -> list[Path]:
    """Regenerate ``course`` from ``solutions``; return the notebooks written.

    nbgrader works in ``root``; by default a throw-away directory, so releasing never touches an
    instructor's gradebook and two releases can run at once.
    """
    if root is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="fromscratch-release-") as scratch:
            return release(course, Path(scratch), solutions)
    written: list[Path] = []
    built = build_sources(root, solutions)
    if built:
        # one nbgrader run for every chapter: start-up costs more than the conversion itself
        nbgrader("generate_assignment", "*", "--force", root=root)
    for chapter in chapters(solutions):
        target_dir = course / chapter.name
        for old in target_dir.glob("*.ipynb") if target_dir.exists() else []:
            old.unlink()  # a renamed or removed source must not leave a stale notebook behind
        for source in chapter.lessons:
            path = target_dir / f"{source.stem}.ipynb"
            write_notebook(read_source(source), path)
            written.append(path)
        for student in sorted((root / "release" / chapter.name).glob("*.ipynb")):
            path = target_dir / student.name
            write_notebook(nbformat.read(student, as_version=4), path)
            written.append(path)
    return written


def find_leaks(course: Path = COURSE, solutions: Path = SOLUTIONS) -> list[str]:
    """Solutions or hidden tests that reached the student notebooks in ``course`` (should be none)."""
    problems = []
    for chapter in chapters(solutions):
        for source in chapter.exercises:
            student = course / chapter.name / f"{source.stem}.ipynb"
            if not student.exists():
                problems.append(f"{student}: missing")
                continue
            student_text = "\n".join(c.source for c in nbformat.read(student, as_version=4).cells)
            for marker in SOLUTION_MARKERS + HIDDEN_MARKERS:
                if marker in student_text:
                    problems.append(f"{student}: contains {marker!r}")
            for secret in secret_lines(source):
                if secret in student_text:
                    problems.append(f"{student}: leaks {secret!r}")
    return problems


def secret_lines(source: Path) -> list[str]:
    """Distinctive lines between solution/hidden markers that appear nowhere else in the source."""
    secret, public, inside = [], [], False
    for raw in source.read_text().splitlines():
        line = raw.strip()
        if line in (SOLUTION_MARKERS[0], HIDDEN_MARKERS[0]):
            inside = True
        elif line in (SOLUTION_MARKERS[1], HIDDEN_MARKERS[1]):
            inside = False
        elif inside:
            secret.append(line)
        else:
            public.append(line)
    shared = set(public)
    return [line for line in secret if len(line) >= 12 and line not in shared and not line.startswith("#")]


def stale_files(course: Path = COURSE, solutions: Path = SOLUTIONS,
                fresh_course: Path | None = None) -> list[str]:
    """Files in ``course`` that differ from a fresh build (should be none).

    ``fresh_course`` is a course released from ``solutions`` already (tests share one); by
    default one is built in a temporary directory.
    """
    if fresh_course is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="fromscratch-check-") as tmp:
            release(Path(tmp) / "course", None, solutions)
            return stale_files(course, solutions, Path(tmp) / "course")
    fresh = {p.relative_to(fresh_course) for p in fresh_course.rglob("*.ipynb")}
    committed = {p.relative_to(course) for p in course.rglob("*.ipynb")
                 if ".ipynb_checkpoints" not in p.parts}
    problems = [f"course/{p}: not generated from solutions/ (remove it)" for p in committed - fresh]
    problems += [f"course/{p}: missing (run make release)" for p in fresh - committed]
    for relative in sorted(fresh & committed):
        if (fresh_course / relative).read_text() != (course / relative).read_text():
            problems.append(f"course/{relative}: stale (run make release)")
    return problems


def outputs_present(course: Path = COURSE) -> list[str]:
    """Committed notebooks that carry outputs (they must be committed clean)."""
    found = []
    for path in sorted(course.rglob("*.ipynb")):
        notebook = json.loads(path.read_text())
        if any(cell.get("outputs") or cell.get("execution_count") for cell in notebook["cells"]):
            found.append(str(path))
    return found


def clean_root(root: Path) -> None:
    """Remove a course directory built by :func:`release` (used by tests)."""
    shutil.rmtree(root, ignore_errors=True)
