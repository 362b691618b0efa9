"""The grading pipeline, end to end with real nbgrader and a real gradebook.

For every chapter with exercises, four students hand in:

- ``solution``  — the instructor's source notebook: full marks on every graded cell;
- ``untouched`` — the student version as released: zero;
- ``wrong``     — prepared wrong answers (``wrong_answers/<chapter>.py``): exactly the listed
  tests fail, so the score is partial;
- ``copycat``   — every exercise answered by importing the library's reference: zero.

Scores are read per grade cell from the gradebook (``nbgrader validate`` exits 0 even when
validation fails, so its exit code proves nothing).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import pkgutil
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

import fromscratch
from fromscratch import exercises
from grader import build

WRONG_ANSWERS = Path(__file__).parent / "wrong_answers"
CHAPTERS = [c.name for c in build.chapters() if c.exercises]


def _wrong_answers(chapter: str):
    path = WRONG_ANSWERS / f"{chapter}.py"
    spec = importlib.util.spec_from_file_location(f"wrong_{chapter.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG, set(module.EXPECTED_FAILURES)


def _reference_modules() -> dict[str, str]:
    """plug point name -> the library module defining its reference (imports the whole library)."""
    for info in pkgutil.walk_packages(fromscratch.__path__, "fromscratch."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    return {name: exercises.plug_point(name).reference.__module__ for name in exercises.names()}


def _functions_defined(code: str) -> list[str]:
    tree = ast.parse(code)
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)]


def _copycat(notebook: nbformat.NotebookNode, references: dict[str, str]) -> nbformat.NotebookNode:
    """Answer every solution cell by importing the library's reference implementation."""
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution") or cell.cell_type != "code":
            continue
        names = [n for n in _functions_defined(cell.source) if n in references]
        if names:
            cell.source = "\n".join(f"from {references[n]} import {n}" for n in names)
    return notebook


def _with_wrong_answers(notebook: nbformat.NotebookNode, wrong: dict[str, str]) -> nbformat.NotebookNode:
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in wrong:
            cell.source = wrong[grade_id]
    return notebook


def _grade_chapter(chapter: str, sources: Path, root: Path, references: dict[str, str]) -> Path:
    """Release one chapter in its own course directory, hand it in four times, autograde it."""
    shutil.copytree(sources / "source" / chapter, root / "source" / chapter)
    build.nbgrader("generate_assignment", chapter, "--force", root=root)
    wrong, _ = _wrong_answers(chapter)
    for source in sorted((root / "source" / chapter).glob("*.ipynb")):
        released = root / "release" / chapter / source.name
        students = {
            "solution": nbformat.read(source, 4),
            "untouched": nbformat.read(released, 4),
            "wrong": _with_wrong_answers(nbformat.read(source, 4), wrong),
            "copycat": _copycat(nbformat.read(released, 4), references),
        }
        for student, notebook in students.items():
            target = root / "submitted" / student / chapter / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, target)
    build.nbgrader("autograde", chapter, "--force", root=root)
    return root


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, Path]:
    """chapter -> its course directory, released, handed in by four students and autograded.

    Each chapter gets a course directory (and gradebook) of its own, so chapters are graded
    in parallel, one per core.
    """
    base = tmp_path_factory.mktemp("grading")
    build.build_sources(base / "all")
    references = _reference_modules()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {chapter: pool.submit(_grade_chapter, chapter, base / "all", base / chapter, references)
                   for chapter in CHAPTERS}
        roots = {chapter: future.result() for chapter, future in futures.items()}
    yield roots
    shutil.rmtree(base, ignore_errors=True)


def _scores(roots: dict[str, Path], chapter: str, student: str) -> dict[str, tuple[float, float]]:
    """grade_id -> (score, max_score) for one student's chapter, from the gradebook."""
    root, scores = roots[chapter], {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "fromscratch") as gradebook:
        submission = gradebook.find_submission(chapter, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                scores[grade.name] = (grade.score, grade.max_score)
    return scores


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the shared fixture autogrades every chapter four times
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solutions_score_full_marks(graded, chapter):
    scores = _scores(graded, chapter, "solution")
    assert scores, "no graded cells were recorded"
    assert {k: v for k, v in scores.items() if v[0] != v[1]} == {}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the shared fixture autogrades every chapter four times
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_student_versions_score_zero(graded, chapter):
    scores = _scores(graded, chapter, "untouched")
    assert scores and {k: v for k, v in scores.items() if v[0] != 0} == {}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the shared fixture autogrades every chapter four times
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_wrong_answers_lose_exactly_the_tests_they_should(graded, chapter):
    _, expected_failures = _wrong_answers(chapter)
    scores = _scores(graded, chapter, "wrong")
    failed = {grade_id for grade_id, (score, maximum) in scores.items() if score < maximum}
    assert failed == expected_failures
    total = sum(score for score, _ in scores.values())
    assert 0 < total < sum(maximum for _, maximum in scores.values())


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the shared fixture autogrades every chapter four times
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_importing_the_reference_scores_zero(graded, chapter):
    scores = _scores(graded, chapter, "copycat")
    assert scores and {k: v for k, v in scores.items() if v[0] != 0} == {}


def test_every_chapter_has_prepared_wrong_answers():
    for chapter in CHAPTERS:
        wrong, expected = _wrong_answers(chapter)
        assert wrong and expected, f"{chapter}: add wrong answers and the tests they must fail"
